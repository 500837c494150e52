#!/usr/bin/python3
"""One room directory across two duplex-chat nodes with --redis and --pg (issue 15, item 2): rooms,
owners, roles, bans and invitations in PostgreSQL. A room created on node A is listed and joined on
node B; the owner on A bans a user whose socket is on B, which takes it out of the room within
about 2 s and keeps it out; a moderator made on A moderates on B; an invitation to a private room
made on A lets its user join on B; two nodes creating the same names at once: one wins each;
with PostgreSQL stopped, room requests answer store_failed at once, and work again once it is back.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: rooms_pg_test.py path/to/duplex-chat
"""
import asyncio
import http.client
import json
import os
import sys
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Node, Redis, free_port, pg_server, stop_all  # noqa: E402
from checks import check, summary  # noqa: E402

CHAT = sys.argv[1]


def register(node, name):
    """The session cookie of a new account `name`, made on `node`."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
    conn.request("POST", "/api/register",
                 body=json.dumps({"name": name, "password": "correct horse " + name}),
                 headers={"Origin": f"http://127.0.0.1:{node.port}",
                          "Content-Type": "application/json"})
    res = conn.getresponse()
    res.read()
    conn.close()
    if res.status != 201:
        raise RuntimeError(f"register {name}: {res.status}")
    return (res.getheader("Set-Cookie") or "").split(";")[0]


class User:
    """A signed-in socket that keeps every message it is sent, in order."""

    def __init__(self, name):
        self.name = name
        self.got = []

    async def open(self, node, cookie):
        self.ws = await websockets.connect(
            node.url(), extra_headers={"Origin": f"http://127.0.0.1:{node.port}",
                                       "Cookie": cookie})
        self.reader = asyncio.create_task(self.read())
        await self.send({"type": "hello"})
        check(await self.wait(lambda m: m["type"] == "welcome") is not None,
              f"{self.name} is signed in")

    async def read(self):
        try:
            async for raw in self.ws:
                self.got.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    async def send(self, msg):
        await self.ws.send(json.dumps(msg))

    async def wait(self, pred, seconds=5, since=0):
        """The first message from index `since` on for which pred holds, or None in time."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for m in self.got[since:]:
                if pred(m):
                    return m
            await asyncio.sleep(0.02)
        return None

    async def ask(self, msg, pred, seconds=5):
        """Sends `msg`; the first answer after it that pred accepts."""
        mark = len(self.got)
        await self.send(msg)
        return await self.wait(pred, seconds, mark)


def error_or(kind, room):
    return lambda m: (m["type"] == kind and m.get("room") == room) or \
        (m["type"] == "error" and m.get("room") == room)


async def scenario(pg, redis_port):
    Redis(redis_port)
    a = Node(CHAT, redis_port, pg.url())
    b = Node(CHAT, redis_port, pg.url())
    ann, bob, cat, eve, dan = (User(n) for n in ("ann", "bob", "cat", "eve", "dan"))
    await ann.open(a, register(a, "ann"))
    for u in (bob, cat, eve, dan):
        await u.open(b, register(b, u.name))

    got = await ann.ask({"type": "create", "room": "team", "topic": "plans"},
                        error_or("created", "team"))
    check(got and got["type"] == "created", f"ann creates team on A ({got})")
    listed = await bob.ask({"type": "rooms", "q": "team"}, lambda m: m["type"] == "rooms")
    check(listed and [r["name"] for r in listed["rooms"]] == ["team"]
          and listed["rooms"][0]["topic"] == "plans", f"B lists the room made on A ({listed})")
    for u in (bob, cat, eve):
        joined = await u.ask({"type": "join", "room": "team"}, error_or("joined", "team"))
        check(joined and joined["type"] == "joined" and joined.get("owner") == "ann",
              f"{u.name} joins team on B, owned by ann ({joined})")

    # The owner on A bans bob, whose socket is on B.
    mark = len(bob.got)
    t = time.monotonic()
    await ann.send({"type": "ban", "room": "team", "user": "bob"})
    left = await bob.wait(lambda m: m["type"] == "left" and m["room"] == "team", 5, mark)
    took = time.monotonic() - t
    check(left is not None and left.get("reason") == "banned" and took < 2.5,
          f"a ban on A takes bob out of team on B ({left}, {took:.2f} s)")
    again = await bob.ask({"type": "join", "room": "team"}, error_or("joined", "team"))
    check(again and again.get("code") == "banned", f"and bob cannot join again on B ({again})")

    # A moderator made on A moderates on B.
    no = await cat.ask({"type": "kick", "room": "team", "user": "eve"}, error_or("left", "team"))
    check(no and no.get("code") == "forbidden", f"cat may not kick before ({no})")
    await ann.send({"type": "promote", "room": "team", "user": "cat", "role": "moderator"})
    role = await cat.wait(lambda m: m["type"] == "room" and "cat" in m.get("moderators", []), 3)
    check(role is not None, f"B tells team that cat moderates ({role})")
    mark = len(eve.got)
    await cat.send({"type": "kick", "room": "team", "user": "eve"})
    kicked = await eve.wait(lambda m: m["type"] == "left" and m["room"] == "team", 3, mark)
    check(kicked is not None and kicked.get("reason") == "kicked" and kicked.get("by") == "cat",
          f"the moderator made on A kicks eve on B ({kicked})")

    # An invitation to a private room made on A lets dan, on B, in.
    await ann.ask({"type": "create", "room": "den", "topic": "", "invite_only": True},
                  error_or("created", "den"))
    shut = await dan.ask({"type": "join", "room": "den"}, error_or("joined", "den"))
    check(shut and shut.get("code") == "invite_only", f"den is shut to dan ({shut})")
    done = await ann.ask({"type": "invite", "room": "den", "user": "dan"},
                         lambda m: m["type"] in ("done", "error"))
    check(done and done["type"] == "done", f"ann invites dan on A ({done})")
    joined = await dan.ask({"type": "join", "room": "den"}, error_or("joined", "den"))
    check(joined and joined["type"] == "joined", f"the invitation made on A lets dan join on B ({joined})")

    # Two nodes create the same names at the same moment: each has exactly one creator.
    names = [f"race-{i}" for i in range(4)]
    for n in names:
        await asyncio.gather(ann.send({"type": "create", "room": n, "topic": ""}),
                             dan.send({"type": "create", "room": n, "topic": ""}))
    winners = []
    for n in names:
        outcome = []
        for u in (ann, dan):
            m = await u.wait(error_or("created", n))
            outcome.append(m["type"] if m else "nothing")
            if m and m["type"] == "created":
                winners.append(u.name)
            elif m:
                outcome[-1] = m.get("code")
        check(sorted(outcome) == ["created", "room_exists"], f"{n}: one creator ({outcome})")
    owners = await bob.ask({"type": "rooms", "q": "race"}, lambda m: m["type"] == "rooms")
    check(owners and len(owners["rooms"]) == len(names), f"4 race rooms listed ({owners})")
    print(f"race winners: {winners}", flush=True)

    # PostgreSQL stopped: a clear error at once, no crash, no hang; back: no restart needed.
    pg.stop()
    t = time.monotonic()
    down = await ann.ask({"type": "create", "room": "later", "topic": ""},
                         lambda m: m["type"] in ("created", "error"))
    took = time.monotonic() - t
    check(down and down.get("code") == "store_failed" and took < 2,
          f"PostgreSQL down: create answers store_failed at once ({down}, {took:.2f} s)")
    down = await dan.ask({"type": "join", "room": "team"}, lambda m: m["type"] in ("joined", "error"))
    check(down and down.get("code") == "store_failed", f"and so does a join on B ({down})")
    check(a.alive() and b.alive(), "both nodes keep running")
    pg.start()
    back, t = None, time.monotonic()
    while time.monotonic() - t < 15 and not (back and back["type"] == "created"):
        back = await ann.ask({"type": "create", "room": "later", "topic": ""},
                             lambda m: m["type"] in ("created", "error"))
        await asyncio.sleep(0.3)
    check(back and back["type"] == "created",
          f"PostgreSQL back: create works without a restart ({back}, {time.monotonic() - t:.1f} s)")


def main():
    if pg_server.bin_dir() is None:
        print("SKIP:", pg_server.MISSING, flush=True)
        return 77
    pg = pg_server.PgServer()
    try:
        asyncio.run(scenario(pg, free_port()))
    finally:
        stop_all()
        pg.close()
    return summary("one room directory across nodes (PostgreSQL)")


sys.exit(main())
