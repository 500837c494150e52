#!/usr/bin/python3
"""Two duplex-chat nodes sharing rooms through three real redis-servers (the bus sharded by
room): one order and one id sequence across nodes, a node that receives only the rooms it has
members in, typing across nodes, a paused node, a node killed with -9 whose clients resume on
the other with no gap and no double, and one shard killed and restarted (a clear error in its
rooms only while it is down, which catch up after).
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


def redis_cmd(port, *args):
    """One command over RESP; the reply as Python values (enough for PUBSUB and EXISTS)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        f = s.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b":":
                return int(rest)
            if kind == b"$":
                return None if int(rest) < 0 else f.read(int(rest) + 2)[:-2].decode()
            if kind == b"*":
                return [read() for _ in range(int(rest))]
            return rest.decode()
        return read()


def shard_of(name, ports):
    """The rendezvous hashing of shard_map.cpp, written again: the port whose score is highest."""
    def score(shard):
        h = 0xcbf29ce484222325
        for ch in shard.encode() + b"\0" + name.encode():
            h = ((h ^ ch) * 0x100000001b3) & (2**64 - 1)
        for mul in (0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53):
            h = ((h ^ (h >> 33)) * mul) & (2**64 - 1)
        return h ^ (h >> 33)
    return max(ports, key=lambda p: score(f"127.0.0.1:{p}"))


def subscribers(room, ports):
    """How many nodes listen to the room's channel, on its shard."""
    return redis_cmd(shard_of(room, ports), "PUBSUB", "NUMSUB", f"duplex-chat:feed:{room}")[1]


class Node(Proc):
    # --guests: hello's names; each node keeps its (unused) account file in a directory of its own.
    def __init__(self, redis_ports):
        super().__init__([CHAT, "--host", "127.0.0.1", "--port", "0",
                          "--redis", ",".join(f"redis://127.0.0.1:{p}" for p in redis_ports),
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
        self.typing = []
        self.ws = None
        self.reader = None
        self.room = "lobby"

    async def connect(self, node, room, since=None):
        self.room = room
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
                elif m["type"] == "typing":
                    self.typing.append(m["nick"])
                elif m["type"] == "error":
                    self.errors.append(m["code"])
        except websockets.ConnectionClosed:
            pass

    async def say(self, text):
        # Under the chat's rate limit (5 a second, bursts of 20) however long the test runs.
        await self.ws.send(json.dumps({"type": "say", "room": self.room, "text": text}))
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
    shards = {}  # port -> (Redis, its directory)
    for i in range(3):
        d = os.path.join(workdir, f"shard{i}")
        os.mkdir(d)
        port = free_port()
        shards[port] = (Redis(port, d), d)
    ports = list(shards)
    a, b = Node(ports), Node(ports)
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

        # A room whose members are all on node A: node B does not listen to its channel, so
        # none of its bytes reach B (redis_shard_test checks B's byte counters the same way).
        ann, ben = Client("ann"), Client("ben")
        await ann.connect(a, "quiet")
        check(await until(lambda: subscribers("quiet", ports) == 1),
              "a room with members on node A only: one node listens to its channel")
        for i in range(5):
            await ann.say(f"q{i}")
        check(await until(lambda: len(ann.acks) == 5) and subscribers("quiet", ports) == 1,
              "node B still does not listen while that room talks")
        await ben.connect(b, "quiet")
        check(await until(lambda: subscribers("quiet", ports) == 2),
              "a client of node B joins: node B listens to the room from then on")
        await ann.say("hello ben")
        check(await until(lambda: ben.seen and ben.seen[-1] == (6, "hello ben")),
              f"and receives its messages at once ({ben.seen[-1:]})")
        await alice.ws.send(json.dumps({"type": "typing", "room": "lobby"}))
        check(await until(lambda: "alice" in bob.typing, 5),
              "typing crosses nodes: bob on node B sees alice (node A) type")
        check(not alice.typing, "nobody is told their own typing")
        await ann.ws.close()
        await ben.ws.close()
        check(await until(lambda: subscribers("quiet", ports) == 0),
              "its members gone, no node listens to the room")

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

        # The lobby's shard killed with -9: a clear error in its rooms while it is down, rooms
        # of the other shards go on, and service comes back when it restarts on its port.
        a2 = Node(ports)
        carol = Client("carol")
        await carol.connect(a2, "lobby", since=bob.last_id())
        down = shard_of("lobby", ports)
        other = next(f"elsewhere{i}" for i in range(100) if shard_of(f"elsewhere{i}", ports) != down)
        dan, eve = Client("dan"), Client("eve")
        await dan.connect(b, other)
        await eve.connect(a2, other)
        check(await until(lambda: eve.members == {"dan", "eve"}), "two nodes in a room elsewhere")
        shards[down][0].kill9()
        await asyncio.sleep(0.3)
        await bob.say("while redis is down")
        check(await until(lambda: "store_failed" in bob.errors, 5),
              "lobby's shard down: a say is answered with store_failed, not dropped silently")
        await dan.say("another shard goes on")
        check(await until(lambda: eve.seen and eve.seen[-1][1] == "another shard goes on", 5)
              and not dan.errors, "lobby's shard down: a room of another shard goes on across nodes")
        check(b.proc.poll() is None and a2.proc.poll() is None, "Redis down: no node crashed")
        shards[down] = (Redis(down, shards[down][1]), shards[down][1])
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
