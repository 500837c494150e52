#!/usr/bin/python3
"""Two duplex-chat nodes with --redis and --pg: PostgreSQL holds ids and history, Redis is the bus.
Redis killed and restarted EMPTY: ids continue (none reused), history from before is still read,
clients resume with no gap and no double. PostgreSQL restarted: a send meanwhile is answered with
store_failed at once, nothing acknowledged is lost, ids continue.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: pg_scaleout_test.py path/to/duplex-chat
"""
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, failures, free_port, summary  # noqa: E402
import pg_server  # noqa: E402

CHAT = sys.argv[1]
STARTED = []


class Proc:
    def __init__(self, argv):
        STARTED.append(self)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)

    def kill9(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


class Redis(Proc):
    """No persistence at all: a restart comes back empty."""

    def __init__(self, port):
        super().__init__(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no"])
        self.port = port
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")


class Node(Proc):
    def __init__(self, redis_port, pg_url):
        super().__init__([CHAT, "--host", "127.0.0.1", "--port", "0",
                          "--redis", f"redis://127.0.0.1:{redis_port}", "--pg", pg_url,
                          "--presence-ttl", "1.5", "--guests",
                          "--db", os.path.join(tempfile.mkdtemp(prefix="duplex-node-"), "accounts.db")])
        line = self.proc.stdout.readline()
        self.port = int(re.search(r":(\d+)/", line).group(1))

    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"


class Client:
    """Records every message id it is shown in the room, as the page does."""

    def __init__(self, nick):
        self.nick = nick
        self.seen = []  # (id, text) in the order shown
        self.acks = set()
        self.errors = []
        self.searches = []  # answers to `search`
        self.ws = None
        self.reader = None

    async def connect(self, node, since=None):
        self.ws = await websockets.connect(node.url(), max_queue=None)
        await self.ws.send(json.dumps({"type": "hello", "nick": self.nick}))
        join = {"type": "join", "room": "lobby"}
        if since is not None:
            join["since"] = since
        await self.ws.send(json.dumps(join))
        self.reader = asyncio.create_task(self.read())

    async def close(self):
        await self.ws.close()
        await self.reader

    async def read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                if m["type"] == "message":
                    self.seen.append((m["id"], m["text"]))
                elif m["type"] == "history":
                    self.seen.extend((h["id"], h["text"]) for h in m["messages"])
                elif m["type"] == "ack":
                    self.acks.add(m["id"])
                elif m["type"] == "search":
                    self.searches.append(m)
                elif m["type"] == "error":
                    self.errors.append(m["code"])
        except websockets.ConnectionClosed:
            pass

    async def say(self, text):
        await self.ws.send(json.dumps({"type": "say", "room": "lobby", "text": text}))
        await asyncio.sleep(0.21)  # under the rate limit

    def ids(self):
        return [i for i, _ in self.seen]


async def until(cond, seconds=10):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def once_in_order(ids):
    return ids == sorted(set(ids))


async def scenario(pg, redis_port):
    redis = Redis(redis_port)
    a, b = Node(redis.port, pg.url()), Node(redis.port, pg.url())
    alice, bob = Client("alice"), Client("bob")
    await alice.connect(a)
    await bob.connect(b)
    await asyncio.sleep(0.3)

    async def talk(c, n, tag):
        for i in range(n):
            await c.say(f"{c.nick}-{tag}{i}")
    await asyncio.gather(talk(alice, 10, "a"), talk(bob, 10, "a"))
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
    redis = Redis(redis_port)  # back EMPTY
    check(await until(lambda: bob.ids()[-1:] == [21], 10),
          "Redis back empty: the other node catches up from PostgreSQL")
    await talk(bob, 3, "b")
    check(await until(lambda: alice.ids()[-1:] == [24] and bob.ids()[-1:] == [24], 10),
          "Redis back empty: ids continue at 22..24, no id reused")
    check(once_in_order(alice.ids()) and alice.seen == bob.seen, "both saw each message once")

    # History from before the loss, and a resume across it.
    carol = Client("carol")
    await carol.connect(b)
    check(await until(lambda: len(carol.seen) >= 24) and carol.ids() == list(range(1, 25)),
          "a client joining after the loss gets the history from before it")
    await carol.ws.send(json.dumps({"type": "search", "q": "redis DOWN"}))
    check(await until(lambda: carol.searches, 5)
          and [r["id"] for r in carol.searches[-1]["results"]] == [21],
          "search with --pg: PostgreSQL's full text finds the room's message")
    await alice.close()
    await bob.say("while alice is away")
    alice.ws = None
    before = len(alice.seen)
    await alice.connect(b, since=alice.ids()[-1])
    check(await until(lambda: len(alice.seen) > before) and once_in_order(alice.ids())
          and alice.ids() == list(range(1, 26)),
          "alice resumes on the other node with no gap and no double")

    # PostgreSQL restarted: sends meanwhile fail clearly; nothing acknowledged is lost.
    acked_before = set(alice.acks | bob.acks)
    pg.stop()
    await bob.say("while postgresql is down")
    check(await until(lambda: "store_failed" in bob.errors, 5),
          "PostgreSQL down: a send is answered with store_failed at once")
    check(a.proc.poll() is None and b.proc.poll() is None, "PostgreSQL down: no node crashed")
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
    stored = {int(x) for x in pg.psql("SELECT id FROM messages WHERE feed = 'lobby'").split()}
    acked = acked_before | alice.acks | bob.acks
    check(acked <= stored and stored == set(range(1, len(stored) + 1)),
          f"all {len(acked)} acknowledged messages are in PostgreSQL, ids 1..{len(stored)}")
    for c in (alice, bob, carol):
        await c.close()


def main():
    if pg_server.bin_dir() is None:
        print("SKIP:", pg_server.MISSING, flush=True)
        return 77
    pg = pg_server.PgServer()
    try:
        asyncio.run(scenario(pg, free_port()))
    finally:
        for p in STARTED:
            p.stop()
        pg.close()
    return summary("postgresql scale-out")


sys.exit(main())
