"""What the multi-node tests share: redis-server, a private PostgreSQL cluster, duplex-chat nodes
and chat clients, all on loopback ports picked here, each process stopped by its PID at the end.

A test calls `stop_all()` in a `finally` (and `pg.close()` for its PostgreSQL)."""
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
from checks import free_port  # noqa: E402,F401  (re-exported for the tests)
import pg_server  # noqa: E402,F401

STARTED = []


class Proc:
    def __init__(self, argv):
        STARTED.append(self)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)

    def alive(self):
        return self.proc.poll() is None

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill9(self):
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.alive():
            self.resume()  # a paused process would not act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


def stop_all():
    for p in STARTED:
        p.stop()
    STARTED.clear()


class Redis(Proc):
    """Without `workdir`, no persistence at all: a restart comes back empty. With it, every write
    is appended to its log before the answer, so a restart keeps what was acknowledged."""

    def __init__(self, port, workdir=None):
        keep = (["--dir", workdir, "--appendonly", "yes", "--appendfsync", "always"]
                if workdir else ["--appendonly", "no"])
        super().__init__(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", ""] + keep)
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
    """A duplex-chat node on a free port; --guests, so that hello names the user. Each node keeps
    its (unused) account file in a directory of its own."""

    def __init__(self, chat, redis_port=None, pg_url=None, presence_ttl=1.5, extra=()):
        self.dir = tempfile.mkdtemp(prefix="duplex-node-")
        argv = [chat, "--host", "127.0.0.1", "--port", "0", "--guests",
                "--db", os.path.join(self.dir, "accounts.db")]
        if redis_port is not None:
            argv += ["--redis", f"redis://127.0.0.1:{redis_port}",
                     "--presence-ttl", str(presence_ttl)]
        if pg_url is not None:
            argv += ["--pg", pg_url]
        super().__init__(argv + list(extra))
        line = self.proc.stdout.readline()
        m = re.search(r":(\d+)/", line)
        if not m:
            raise RuntimeError("duplex-chat did not start: " + repr(line))
        self.port = int(m.group(1))

    def stop(self):
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def get(self, path):
        """(status, body) of a plain GET, from 127.0.0.1; the head is kept in last_head."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                      .encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.last_head = head.decode()
        return int(head.split()[1]), body.decode()


class Client:
    """A chat user in one room who records, as the page does, every message id it is shown, the
    members it is told of, its acknowledgements and its errors."""

    def __init__(self, nick, room="lobby"):
        self.nick = nick
        self.room = room
        self.seen = []  # (id, text) in the order shown
        self.acks = set()
        self.acked_cids = set()
        self.errors = []
        self.members = set()  # the joined list, then presence events
        self.presence = []
        self.searches = []  # answers to `search`
        self.ws = None
        self.reader = None

    async def connect(self, node, since=None):
        self.ws = await websockets.connect(node.url(), max_queue=None)
        await self.ws.send(json.dumps({"type": "hello", "nick": self.nick}))
        join = {"type": "join", "room": self.room}
        if since is not None:
            join["since"] = since
        await self.ws.send(json.dumps(join))
        self.reader = asyncio.create_task(self.read())

    async def resume(self, node):
        """Connects again, as the page does after losing its socket: from the last id shown."""
        self.ws = None
        await self.connect(node, since=self.last_id())

    async def close(self):
        await self.ws.close()
        await self.reader

    async def read(self):
        try:
            async for raw in self.ws:
                self.on(json.loads(raw))
        except websockets.ConnectionClosed:
            pass

    def on(self, m):
        kind = m["type"]
        if kind == "message":
            self.seen.append((m["id"], m["text"]))
        elif kind == "history":
            self.seen.extend((h["id"], h["text"]) for h in m["messages"])
        elif kind == "joined":
            self.members = set(m["members"])
        elif kind == "presence":
            self.presence.append((m["nick"], m["event"]))
            if m["event"] == "join":
                self.members.add(m["nick"])
            else:
                self.members.discard(m["nick"])
        elif kind == "ack":
            self.acks.add(m["id"])
            if "cid" in m:
                self.acked_cids.add(m["cid"])
        elif kind == "search":
            self.searches.append(m)
        elif kind == "error":
            self.errors.append(m["code"])

    async def say(self, text):
        # Under the chat's rate limit (5 a second, bursts of 20) however long the test runs.
        await self.ws.send(json.dumps({"type": "say", "room": self.room, "text": text}))
        await asyncio.sleep(0.21)

    async def send_cid(self, text, cid):
        """A say with a client id, as the page sends it, without waiting."""
        await self.ws.send(json.dumps({"type": "say", "room": self.room, "text": text, "cid": cid}))

    async def talk(self, n, tag):
        for i in range(n):
            await self.say(f"{self.nick}-{tag}{i}")

    def texts(self):
        return [t for _, t in self.seen]

    def ids(self):
        return [i for i, _ in self.seen]

    def last_id(self):
        return self.seen[-1][0] if self.seen else 0


async def until(cond, seconds=10):
    """Polls `cond` until it holds (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def once_in_order(ids):
    return ids == sorted(set(ids))
