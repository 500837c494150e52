#!/usr/bin/python3
"""Two duplex-chat nodes with --redis and --pg, one of them failing:
- paused (SIGSTOP) past the presence ttl, as a network partition of that node would: its members
  leave the other node's lists; resumed (SIGCONT), its clients get everything said meanwhile once,
  in order, and its members are listed again;
- killed (kill -9) with sends in flight: its clients resume on the other node with `since` and
  send again what was not acknowledged, under the same cids: every message exactly once, in the
  room and in PostgreSQL; a member who moved to the other node stays listed there.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: pg_failover_test.py path/to/duplex-chat
"""
import asyncio
import sys
import time

from cluster import Client, Node, Redis, free_port, once_in_order, pg_server, stop_all, until
from checks import check, summary  # noqa: E402  (tests/support, on the path once cluster is in)

CHAT = sys.argv[1]
TTL = 1.5  # --presence-ttl: a dead node's members leave within this and a third of it
BOUND = TTL * 4 / 3 + 1  # and a second of slack


async def paused_past_ttl(a, b, alice, bob):
    b.pause()
    t0 = time.monotonic()
    await alice.talk(5, "paused")
    check(await until(lambda: len(alice.acks) == 5, 3),
          "node B paused: node A still stores and acknowledges")
    check(await until(lambda: "bob" not in alice.members, BOUND),
          f"node B paused past the ttl: bob leaves alice's list "
          f"({time.monotonic() - t0:.1f} s, bound {BOUND:.1f} s)")
    b.resume()
    check(await until(lambda: bob.seen == alice.seen, 5) and once_in_order(bob.ids()),
          f"node B resumed: bob got the {len(alice.seen)} messages once each, in order")
    check(await until(lambda: "bob" in alice.members, TTL),
          "node B resumed: bob is listed to alice again")
    await bob.say("bob is back")
    check(await until(lambda: alice.texts()[-1:] == ["bob is back"], 5),
          "node B resumed: its client sends again")


async def killed_with_sends_in_flight(pg, a, b, alice, bob):
    texts = [f"in-flight-{i}" for i in range(8)]
    for i, text in enumerate(texts):
        await alice.send_cid(text, f"cid{i}")
    a.kill9()  # some of these may be stored, some acknowledged, some neither
    await alice.reader
    await alice.resume(b)
    # As the page does: once the join's history is in, what was not acknowledged goes again.
    await until(lambda: "alice" in bob.members, 3)
    await asyncio.sleep(0.3)
    for i, text in enumerate(texts):
        if f"cid{i}" not in alice.acked_cids:
            await alice.send_cid(text, f"cid{i}")
            await asyncio.sleep(0.21)
    check(await until(lambda: alice.acked_cids >= {f"cid{i}" for i in range(8)}, 5),
          "after kill -9 of her node, alice's resent messages are all acknowledged on node B")
    check(await until(lambda: bob.seen == alice.seen, 5) and once_in_order(alice.ids()),
          "alice resumed with no gap and no double, and sees what bob sees")
    shown = [t for t in alice.texts() if t.startswith("in-flight-")]
    stored = pg.psql("SELECT body FROM messages WHERE feed = 'lobby' AND body LIKE 'in-flight-%'"
                     " ORDER BY id").split()
    check(sorted(shown) == texts and sorted(stored) == texts,
          f"each message sent around the kill is in the room and in PostgreSQL exactly once "
          f"({len(stored)} stored)")
    acked = alice.acks | bob.acks
    all_ids = {int(x) for x in pg.psql("SELECT id FROM messages WHERE feed = 'lobby'").split()}
    check(acked <= all_ids and all_ids == set(alice.ids()),
          f"all {len(acked)} acknowledged messages are stored and shown")
    # Node A's entries expire and are swept: alice, on node B now, must stay listed.
    await asyncio.sleep(BOUND)
    check("alice" in bob.members,
          "the sweep of node A's expired entries does not unlist alice, who is on node B now")


async def scenario(pg):
    redis = Redis(free_port())
    a = Node(CHAT, redis.port, pg.url(), presence_ttl=TTL)
    b = Node(CHAT, redis.port, pg.url(), presence_ttl=TTL)
    alice, bob = Client("alice"), Client("bob")
    await alice.connect(a)
    await bob.connect(b)
    check(await until(lambda: "bob" in alice.members and "alice" in bob.members, 5),
          "presence spans the two nodes")
    await paused_past_ttl(a, b, alice, bob)
    await killed_with_sends_in_flight(pg, a, b, alice, bob)
    await alice.close()
    await bob.close()


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
    return summary("postgresql failover")


sys.exit(main())
