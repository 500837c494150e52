#!/usr/bin/python3
"""Two duplex-chat nodes sharing rooms through a real redis-server: one order and one id
sequence across nodes, a paused node, a node killed with -9 whose clients resume on the other
with no gap and no double, and a Redis restart (a clear error while it is down, service after).
Everything runs on loopback ports this script picks; it stops only what it started, by PID.

Usage: scaleout_test.py path/to/duplex-chat
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
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


class Redis(Proc):
    """Appends every write to its log before answering, so a restart keeps what was acked."""

    def __init__(self, port, workdir):
        super().__init__(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", workdir, "--appendonly", "yes", "--appendfsync", "always",
                          "--save", ""])
        self.port = port
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")


PRESENCE_TTL = 1.5  # seconds; a dead node's members must leave the lists within this, plus a third


class Node(Proc):
    # --guests: hello's names; each node keeps its (unused) account file in a directory of its own.
    def __init__(self, redis_port):
        super().__init__([CHAT, "--host", "127.0.0.1", "--port", "0",
                          "--redis", f"redis://127.0.0.1:{redis_port}",
                          "--presence-ttl", str(PRESENCE_TTL), "--guests",
                          "--db", os.path.join(tempfile.mkdtemp(prefix="duplex-node-"), "accounts.db")])
        line = self.proc.stdout.readline()
        self.port = int(re.search(r":(\d+)/", line).group(1))

    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"


class Client:
    """A chat user who records every message id it is shown, per room, as the page does."""

    def __init__(self, nick):
        self.nick = nick
        self.seen = []  # (id, text) in the order shown
        self.acks = set()
        self.errors = []
        self.members = set()  # as the page keeps them: joined's list, then presence events
        self.presence = []
        self.ws = None
        self.reader = None

    async def connect(self, node, room, since=None):
        self.ws = await websockets.connect(node.url(), max_queue=None)
        await self.ws.send(json.dumps({"type": "hello", "nick": self.nick}))
        join = {"type": "join", "room": room}
        if since is not None:
            join["since"] = since
        await self.ws.send(json.dumps(join))
        self.reader = asyncio.create_task(self.read())

    async def read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                if m["type"] == "message":
                    self.seen.append((m["id"], m["text"]))
                elif m["type"] == "history":
                    self.seen.extend((h["id"], h["text"]) for h in m["messages"])
                elif m["type"] == "joined":
                    self.members = set(m["members"])
                elif m["type"] == "presence":
                    self.presence.append((m["nick"], m["event"]))
                    if m["event"] == "join":
                        self.members.add(m["nick"])
                    else:
                        self.members.discard(m["nick"])
                elif m["type"] == "ack":
                    self.acks.add(m["id"])
                elif m["type"] == "error":
                    self.errors.append(m["code"])
        except websockets.ConnectionClosed:
            pass

    async def say(self, text):
        # Under the chat's rate limit (5 a second, bursts of 20) however long the test runs.
        await self.ws.send(json.dumps({"type": "say", "room": "lobby", "text": text}))
        await asyncio.sleep(0.21)

    def last_id(self):
        return self.seen[-1][0] if self.seen else 0


async def until(cond, seconds=10):
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def in_order_once(seen):
    ids = [i for i, _ in seen]
    return ids == sorted(set(ids))


async def main():
    workdir = tempfile.mkdtemp(prefix="duplex-scaleout-")
    redis = Redis(free_port(), workdir)
    a, b = Node(redis.port), Node(redis.port)
    try:
        alice, bob = Client("alice"), Client("bob")
        await alice.connect(a, "lobby")
        await asyncio.sleep(0.3)
        await bob.connect(b, "lobby")
        check(await until(lambda: bob.members == {"alice", "bob"}),
              "presence spans nodes: bob on node B is told alice (node A) is in the room")
        check(await until(lambda: ("bob", "join") in alice.presence),
              "presence spans nodes: alice on node A sees bob join on node B")
        async def talk(c):
            for i in range(20):
                await c.say(f"{c.nick}{i}")
        await asyncio.gather(talk(alice), talk(bob))
        ok = await until(lambda: len(alice.seen) >= 40 and len(bob.seen) >= 40)
        check(ok and alice.seen == bob.seen,
              f"two nodes, one room: both see the same {len(bob.seen)} messages in one order")
        check([i for i, _ in bob.seen] == list(range(1, 41)), "ids are 1..40 with no gap")
        check(await until(lambda: len(alice.acks) == 20 and len(bob.acks) == 20),
              "every message is acknowledged to its sender")

        # A paused node holds nobody else up, and catches up in order when it resumes.
        os.kill(b.proc.pid, signal.SIGSTOP)
        for i in range(10):
            await alice.say(f"while-b-paused-{i}")
        t0 = time.monotonic()
        acked = await until(lambda: len(alice.acks) == 30, 5)
        check(acked and time.monotonic() - t0 < 1,
              f"node B paused: node A still stores and acks (last ack "
              f"{(time.monotonic() - t0) * 1000:.0f} ms after the last say)")
        os.kill(b.proc.pid, signal.SIGCONT)
        check(await until(lambda: len(bob.seen) >= 50) and bob.seen == alice.seen,
              "node B resumed: its client gets what it missed, in order")
        # Paused past the presence ttl, B's members expired; its next refresh lists them again.
        check(await until(lambda: "bob" in alice.members, PRESENCE_TTL * 2),
              "node B resumed: bob is back in alice's member list")

        # kill -9 node A: its members leave the lists within the ttl, and alice resumes on node B
        # from the last id she saw.
        t_kill = time.monotonic()
        a.kill9()
        await alice.reader
        bound = PRESENCE_TTL * 4 / 3 + 1  # expiry, the next sweep, and a second of slack
        left = await until(lambda: "alice" not in bob.members, bound)
        check(left, f"node A killed: alice leaves bob's member list after "
                    f"{time.monotonic() - t_kill:.1f} s (bound {bound:.1f} s)")
        for i in range(5):
            await bob.say(f"during-outage-{i}")
        await until(lambda: len(bob.acks) == 25)
        seen_before = list(alice.seen)
        alice.ws = None
        await alice.connect(b, "lobby", since=alice.last_id())
        check(await until(lambda: len(alice.seen) >= 55),
              "after kill -9 of her node, alice resumes on the other node")
        check(in_order_once(alice.seen) and alice.seen == bob.seen[:len(alice.seen)],
              f"resumed with no gap and no double ({len(alice.seen) - len(seen_before)} new)")
        acked_ids = alice.acks | bob.acks
        check(acked_ids <= {i for i, _ in bob.seen},
              f"all {len(acked_ids)} acknowledged messages are in the room")

        # Redis restarts: a clear error while it is down, and service afterwards.
        a2 = Node(redis.port)
        carol = Client("carol")
        await carol.connect(a2, "lobby", since=bob.last_id())
        await asyncio.sleep(0.3)
        redis.kill9()
        await asyncio.sleep(0.3)
        await bob.say("while redis is down")
        check(await until(lambda: "store_failed" in bob.errors, 5),
              "Redis down: a say is answered with store_failed, not dropped silently")
        check(b.proc.poll() is None and a2.proc.poll() is None, "Redis down: no node crashed")
        redis = Redis(redis.port, workdir)
        before = len(bob.seen)

        async def said_after_restart():
            for _ in range(100):
                await bob.say("after redis returned")
                if await until(lambda: len(bob.seen) > before, 0.2):
                    return True
            return False
        check(await said_after_restart(), "Redis back: the nodes reconnect by themselves")
        check(await until(lambda: carol.seen and carol.seen[-1] == bob.seen[-1], 10),
              "Redis back: a client on the other node gets the new message too")
        check(bob.seen[-1][0] > 55, f"ids continue after the restart (last {bob.seen[-1][0]})")
        check(in_order_once(bob.seen) and in_order_once(carol.seen), "still one order, once each")
    finally:
        for p in STARTED:
            p.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        print("errors seen:", alice.errors, bob.errors)
    return summary("scale-out")


sys.exit(asyncio.run(main()))
