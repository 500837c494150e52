#!/usr/bin/python3
"""Edits, deletions, reactions and replies over real sockets (issue 14, item 3): a client that
was away while they happened resumes with `since` and ends with the same state as one that
stayed, and as one that joins afresh (folded history); on one node (SQLite), across two
nodes sharing a real redis-server, and across two with --pg (a private PostgreSQL cluster,
when its binaries are installed). Starts its own processes on free loopback ports, ends them
by PID.

Usage: edits_test.py path/to/duplex-chat
"""
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, free_port, summary  # noqa: E402
import pg_server  # noqa: E402

CHAT = sys.argv[1]
STARTED = []


class Proc:
    def __init__(self, argv):
        STARTED.append(self)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Node(Proc):
    def __init__(self, extra=()):
        db = os.path.join(tempfile.mkdtemp(prefix="duplex-edits-"), "chat.db")
        super().__init__([CHAT, "--host", "127.0.0.1", "--port", "0", "--db", db, "--guests", *extra])
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))

    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"


class Redis(Proc):
    def __init__(self, workdir):
        self.port = free_port()
        super().__init__(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                          "--dir", workdir, "--save", "", "--appendonly", "no"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")


class Client:
    """Keeps a room's messages as the page does: entries applied in id order, events folded
    into the message they name by the same rules as the server (message_fold.hpp)."""

    def __init__(self, nick):
        self.nick = nick
        self.last_id = 0
        self.msgs = {}
        self.acks = []
        self.errors = []
        self.ws = None
        self.reader = None

    async def connect(self, node, since=None):
        self.ws = await websockets.connect(node.url(), max_queue=None)
        await self.ws.send(json.dumps({"type": "hello", "nick": self.nick}))
        join = {"type": "join", "room": "r"}
        if since is not None:
            join["since"] = since
        self.history = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps(join))
        self.reader = asyncio.create_task(self.read())
        try:
            await asyncio.wait_for(self.history, 5)
        except asyncio.TimeoutError:
            raise RuntimeError(f"{self.nick}: no history; errors: {self.errors}")

    async def read(self):
        try:
            async for raw in self.ws:
                m = json.loads(raw)
                if m["type"] == "history":
                    for x in m["messages"]:
                        self.apply(x)
                    if not self.history.done():
                        self.history.set_result(True)
                elif m["type"] == "message":
                    self.apply(m)
                elif m["type"] == "ack":
                    self.acks.append(m)
                elif m["type"] == "error":
                    self.errors.append(m)
        except websockets.ConnectionClosed:
            pass

    def apply(self, x):
        if x["id"] <= self.last_id:
            return
        self.last_id = x["id"]
        kind = x.get("kind")
        if not kind:
            self.msgs[x["id"]] = {"nick": x["nick"], "text": x["text"], "deleted": x.get("deleted", False),
                                  "edited": "edited" in x, "reply_to": x.get("reply_to", 0),
                                  "reactions": {r["emoji"]: list(r["nicks"]) for r in x.get("reactions", [])}}
            return
        t = self.msgs.get(x["target"])
        if t is None or t["deleted"]:
            return
        if kind == "edit":
            t["text"], t["edited"] = x["text"], True
        elif kind == "delete":
            t["text"], t["deleted"], t["reactions"] = "", True, {}
        elif kind == "react":
            who = t["reactions"].setdefault(x["emoji"], [])
            if x["nick"] not in who:
                who.append(x["nick"])
        elif kind == "unreact":
            who = t["reactions"].get(x["emoji"], [])
            if x["nick"] in who:
                who.remove(x["nick"])
            if not who:
                t["reactions"].pop(x["emoji"], None)

    async def send(self, **body):
        body.setdefault("room", "r")
        await self.ws.send(json.dumps(body))

    async def acked(self, cid, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for a in self.acks:
                if a.get("cid") == cid:
                    return a["id"]
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no ack for {cid}")

    async def close(self):
        await self.ws.close()
        await self.reader


async def settle(*clients, want, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(c.last_id < want for c in clients):
        await asyncio.sleep(0.02)


async def scenario(label, node_a, node_b, cids=True):
    alice, bob, carol = Client("alice"), Client("bob"), Client("carol")
    await alice.connect(node_a)
    await bob.connect(node_b)
    await carol.connect(node_b)
    await alice.send(type="say", text="lunch at noon", cid="s1")
    first = await alice.acked("s1")
    await alice.send(type="say", text="typo here", cid="s2")
    second = await alice.acked("s2")
    await settle(bob, want=second)
    away_at = bob.last_id
    await bob.close()
    # While bob is away: an edit, reactions (one taken back), a deletion, a reply.
    await alice.send(type="edit", id=first, text="lunch at 12:30", cid="e1")
    await alice.acked("e1")
    await carol.send(type="react", id=first, emoji="👍", cid="r1")
    await carol.send(type="react", id=first, emoji="🎉", cid="r2")
    await alice.send(type="react", id=first, emoji="👍", cid="r3")
    await carol.send(type="react", id=first, emoji="🎉", remove=True, cid="r4")
    await alice.send(type="retract", id=second, cid="d1")
    await carol.send(type="say", text="works for me", reply_to=first, cid="s3")
    reply = await carol.acked("s3")
    await carol.acked("r4")
    # A resend of a cid after a lost ack: the first id again, nothing stored twice.
    await alice.send(type="edit", id=first, text="lunch at 12:30", cid="e1")
    await asyncio.sleep(0.3)
    e1 = [a["id"] for a in alice.acks if a.get("cid") == "e1"]
    if cids:  # PostgreSQL mode keeps no cids yet, for says as for edits
        check(len(e1) == 2 and e1[0] == e1[1], f"{label}: a resent edit is answered with its first id ({e1})")
    await settle(alice, carol, want=reply)
    check(carol.msgs == alice.msgs, f"{label}: the writers agree")
    await bob.connect(node_a, since=away_at)  # the other node, when there are two
    await settle(bob, want=reply)
    check(bob.last_id == carol.last_id, f"{label}: the resumed client has every id ({bob.last_id})")
    check(bob.msgs == carol.msgs, f"{label}: the resumed client converges on the same state")
    m = bob.msgs.get(first, {})
    check(m.get("text") == "lunch at 12:30" and m.get("edited"), f"{label}: the edit is there: {m}")
    # Sorted: carol's and alice's reactions race each other when they are on different nodes.
    got = {e: sorted(n) for e, n in m.get("reactions", {}).items()}
    check(got == {"👍": ["alice", "carol"]}, f"{label}: reactions: {got}")
    check(bob.msgs.get(second, {}).get("deleted") is True, f"{label}: the deletion is a tombstone")
    check(bob.msgs.get(reply, {}).get("reply_to") == first, f"{label}: the reply names its parent")
    dave = Client("dave")  # a fresh join: the folded history alone
    await dave.connect(node_b)
    check(dave.msgs == carol.msgs, f"{label}: a fresh join's history is the same state")
    await bob.send(type="edit", id=first, text="mine now", cid="x1")
    await asyncio.sleep(0.3)
    check(any(e.get("code") == "not_author" for e in bob.errors), f"{label}: only the author edits")
    for c in (alice, bob, carol, dave):
        await c.close()


async def main():
    workdir = tempfile.mkdtemp(prefix="duplex-edits-redis-")
    pg = None
    try:
        one = Node()
        await scenario("one node", one, one)
        redis = Redis(workdir)
        url = f"redis://127.0.0.1:{redis.port}"
        a, b = Node(["--redis", url]), Node(["--redis", url])
        await scenario("two nodes", a, b)
        if pg_server.bin_dir() is None:
            print("skipped with PostgreSQL:", pg_server.MISSING, flush=True)
        else:
            pg = pg_server.PgServer()
            redis2 = Redis(tempfile.mkdtemp(prefix="duplex-edits-redis-"))
            url2 = f"redis://127.0.0.1:{redis2.port}"
            c, d = Node(["--redis", url2, "--pg", pg.url()]), Node(["--redis", url2, "--pg", pg.url()])
            await asyncio.sleep(1.0)  # their links to PostgreSQL and Redis come up
            await scenario("two nodes with PostgreSQL", c, d, cids=False)
    finally:
        for p in reversed(STARTED):
            p.stop()
        if pg is not None:
            pg.close()
    return summary("edits_test")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
