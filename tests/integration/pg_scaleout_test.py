#!/usr/bin/python3
"""Two duplex-chat nodes with --redis and --pg: PostgreSQL holds ids and history, Redis is the bus.
Redis killed and restarted EMPTY: ids continue (none reused), history from before is still read,
clients resume with no gap and no double, presence comes back. PostgreSQL restarted: a send
meanwhile is answered with store_failed at once (and /metrics says the link is down), nothing
acknowledged is lost, ids continue, and the nodes reconnect by themselves.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: pg_scaleout_test.py path/to/duplex-chat
"""
import asyncio
import json
import sys

from cluster import Client, Node, Redis, free_port, once_in_order, pg_server, stop_all, until
from checks import check, summary  # noqa: E402  (tests/support, on the path once cluster is in)
import prometheus_text

CHAT = sys.argv[1]


async def redis_lost_empty(pg, redis, a, b, alice, bob):
    await asyncio.gather(alice.talk(10, "a"), bob.talk(10, "a"))
    check(await until(lambda: len(alice.seen) >= 20 and len(bob.seen) >= 20)
          and alice.seen == bob.seen and alice.ids() == list(range(1, 21)),
          "two nodes, one room: ids 1..20 from PostgreSQL, the same order on both")
    check(pg.psql("SELECT last_id FROM feeds WHERE feed = 'lobby'").strip() == "20",
          "PostgreSQL holds the room's counter")

    # Redis dies: a send is still stored (PostgreSQL) and shown on its own node at once.
    redis.kill9()
    await alice.say("while redis is down")
    check(await until(lambda: 21 in alice.acks, 5) and alice.ids()[-1] == 21,
          "Redis down: a send is stored, acknowledged and shown on its node (id 21)")
    redis = Redis(redis.port)  # back EMPTY
    check(await until(lambda: bob.ids()[-1:] == [21], 10),
          "Redis back empty: the other node catches up from PostgreSQL")
    await bob.talk(3, "b")
    check(await until(lambda: alice.ids()[-1:] == [24] and bob.ids()[-1:] == [24], 10),
          "Redis back empty: ids continue at 22..24, no id reused")
    check(once_in_order(alice.ids()) and alice.seen == bob.seen, "both saw each message once")

    # History from before the loss, presence rebuilt by the nodes' refreshes, and a resume.
    carol = Client("carol")
    await carol.connect(b)
    check(await until(lambda: len(carol.seen) >= 24) and carol.ids() == list(range(1, 25)),
          "a client joining after the loss gets the history from before it")
    check(await until(lambda: "alice" in carol.members, 3),
          "Redis back empty: presence comes back (alice, on the other node, is listed to carol)")
    await carol.ws.send(json.dumps({"type": "search", "q": "redis DOWN"}))
    check(await until(lambda: carol.searches, 5)
          and [r["id"] for r in carol.searches[-1]["results"]] == [21],
          "search with --pg: PostgreSQL's full text finds the room's message")
    await alice.close()
    await bob.say("while alice is away")
    before = len(alice.seen)
    await alice.resume(b)
    check(await until(lambda: len(alice.seen) > before) and once_in_order(alice.ids())
          and alice.ids() == list(range(1, 26)),
          "alice resumes on the other node with no gap and no double")
    return redis, carol


def scrape(node):
    status, body = node.get("/metrics")
    return prometheus_text.parse(body) if status == 200 else {}


async def postgresql_restarted(pg, a, b, alice, bob):
    acked_before = set(alice.acks | bob.acks)
    pg.stop()
    await bob.say("while postgresql is down")
    check(await until(lambda: "store_failed" in bob.errors, 5),
          "PostgreSQL down: a send is answered with store_failed at once")
    check(a.alive() and b.alive(), "PostgreSQL down: no node crashed")
    down = scrape(b)
    check(down.get(("duplex_chat_postgresql_up", ())) == 0
          and down.get(("duplex_chat_store_appends_total", (("result", "failed"),)), 0) >= 1,
          "PostgreSQL down: /metrics shows the link down and the failed append")
    pg.start()

    async def said_after_restart():
        n = len(bob.seen)
        for _ in range(60):
            await bob.say("after postgresql returned")
            if await until(lambda: len(bob.seen) > n, 0.3):
                return True
        return False
    check(await said_after_restart(), "PostgreSQL back: the nodes reconnect by themselves")
    check(await until(lambda: alice.seen[-1:] == bob.seen[-1:], 10) and bob.ids()[-1] == 26,
          f"ids continue after the restart, dense (last {bob.ids()[-1]})")
    up = scrape(b)
    check(up.get(("duplex_chat_postgresql_up", ())) == 1
          and up.get(("duplex_chat_postgresql_reconnects_total", ()), 0) >= 1,
          "PostgreSQL back: /metrics shows the link up again, after a reconnect")
    stored = {int(x) for x in pg.psql("SELECT id FROM messages WHERE feed = 'lobby'").split()}
    acked = acked_before | alice.acks | bob.acks
    check(acked <= stored and stored == set(range(1, len(stored) + 1)),
          f"all {len(acked)} acknowledged messages are in PostgreSQL, ids 1..{len(stored)}")


async def scenario(pg):
    redis = Redis(free_port())
    a, b = Node(CHAT, redis.port, pg.url()), Node(CHAT, redis.port, pg.url())
    alice, bob = Client("alice"), Client("bob")
    await alice.connect(a)
    await bob.connect(b)
    await until(lambda: "alice" in bob.members, 3)
    redis, carol = await redis_lost_empty(pg, redis, a, b, alice, bob)
    await postgresql_restarted(pg, a, b, alice, bob)
    for c in (alice, bob, carol):
        await c.close()


def main():
    if pg_server.bin_dir() is None:
        print("SKIP:", pg_server.MISSING, flush=True)
        return 77
    pg = pg_server.PgServer()
    try:
        asyncio.run(scenario(pg))
    finally:
        stop_all()
        pg.close()
    return summary("postgresql scale-out")


sys.exit(main())
