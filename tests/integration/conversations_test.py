#!/usr/bin/python3
"""Private conversations across two duplex-chat nodes sharing three real redis-servers (the bus
sharded: each user's channel and each conversation on the shard its name hashes to) and one
account file: a message from a user on node A reaches the other user on node B and every
session of the sender, is kept for the recipient while offline, and leaves no trace in rooms.
Everything runs on loopback ports this script picks; it stops only what it started, by PID.

Usage: conversations_test.py path/to/duplex-chat
"""
import asyncio
import http.client
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

BINARY = sys.argv[1]


class Proc:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)


def redis_server(port, workdir):
    r = Proc(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
              "--save", ""])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return r
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class Chat(Proc):
    def __init__(self, db, redis_ports):
        super().__init__([BINARY, "--host", "127.0.0.1", "--port", "0", "--db", db,
                          "--redis", ",".join(f"redis://127.0.0.1:{p}" for p in redis_ports)])
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))
        self.origin = f"http://127.0.0.1:{self.port}"

    def register(self, name):
        """The session cookie (name=value) of a new account."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/api/register", body=json.dumps({"name": name, "password": "correct horse"}),
                     headers={"Origin": self.origin, "Content-Type": "application/json"})
        res = conn.getresponse()
        res.read()
        conn.close()
        return (res.getheader("Set-Cookie") or "").split(";")[0]

    async def ws(self, cookie):
        return await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                        extra_headers={"Origin": self.origin, "Cookie": cookie})


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def signed_in(node, cookie):
    ws = await node.ws(cookie)
    await ws.send(json.dumps({"type": "hello"}))
    return ws, await expect(ws, "welcome")


async def main():
    tmp = tempfile.mkdtemp(prefix="duplex-conversations-")
    ports = [free_port() for _ in range(3)]
    shards = [redis_server(p, tmp) for p in ports]
    db = os.path.join(tmp, "chat.db")
    a = b = None
    try:
        a = Chat(db, ports)
        b = Chat(db, ports)
        alice_cookie = a.register("alice")
        bob_cookie = b.register("bob")
        alice, _ = await signed_in(a, alice_cookie)
        alice2, _ = await signed_in(b, alice_cookie)  # alice's second session, on node B
        bob, _ = await signed_in(b, bob_cookie)
        await alice.send(json.dumps({"type": "dm", "with": "bob", "text": "across nodes", "ref": "1"}))
        got = await expect(bob, "dm")
        check(got["with"] == "alice" and got["text"] == "across nodes" and got["id"] == 1,
              f"bob on node B gets alice's message from node A ({got})")
        mine = await expect(alice2, "dm")
        check(mine["with"] == "bob" and mine["id"] == 1, "alice's session on node B gets her copy")
        ack = await expect(alice, "ack")
        check(ack == {"type": "ack", "ref": "1", "with": "bob", "id": 1}, f"the sender's ack ({ack})")
        await bob.close()
        await alice.send(json.dumps({"type": "dm", "with": "bob", "text": "while you were out"}))
        await expect(alice, "dm")
        bob, welcome = await signed_in(b, bob_cookie)
        check(welcome["conversations"] == [{"with": "alice", "last_id": 2, "last_read": 0, "unread": 2}],
              f"bob, back, finds the conversation with 2 unread ({welcome['conversations']})")
        await bob.send(json.dumps({"type": "rooms"}))
        rooms = await expect(bob, "rooms")
        check(all(not r["name"].startswith("@") for r in rooms["rooms"]), "no conversation is listed as a room")
        for ws in (alice, alice2, bob):
            await ws.close()
    finally:
        for p in (a, b, *shards):
            if p is not None:
                p.stop()
    return summary("conversations")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
