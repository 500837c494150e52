#!/usr/bin/python3
"""A display name is what a user is shown as, not who the user is: after a rename (POST
/api/profile) the user keeps its rooms, its owner's rights, its conversations and read marks,
and a ban stays on whoever renamed to escape it. One duplex-chat on a loopback port this
script picks, with its SQLite file; it stops only what it started, by PID.

Usage: rename_test.py path/to/duplex-chat
"""
import asyncio
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

BINARY = sys.argv[1]


class Chat:
    def __init__(self, db):
        self.proc = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", "0", "--db", db],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))
        self.origin = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def post(self, path, body, cookie=""):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Origin": self.origin, "Content-Type": "application/json"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        res = conn.getresponse()
        res.read()
        conn.close()
        return res.status, (res.getheader("Set-Cookie") or "").split(";")[0]

    def register(self, name):
        return self.post("/api/register", {"name": name, "password": "correct horse"})[1]

    async def signed_in(self, cookie):
        ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                      extra_headers={"Origin": self.origin, "Cookie": cookie})
        await ws.send(json.dumps({"type": "hello"}))
        return ws, await expect(ws, "welcome")


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def send(ws, **msg):
    await ws.send(json.dumps(msg))


async def main():
    tmp = tempfile.mkdtemp(prefix="duplex-rename-")
    chat = Chat(os.path.join(tmp, "chat.db"))
    try:
        alice_cookie = chat.register("alice")
        bob_cookie = chat.register("bob")
        alice, _ = await chat.signed_in(alice_cookie)
        bob, _ = await chat.signed_in(bob_cookie)
        await send(alice, type="create", room="team", topic="plans")
        await expect(alice, "joined")
        await send(bob, type="join", room="team")
        await expect(bob, "joined")
        await send(bob, type="dm", **{"with": "alice", "text": "psst"})
        await expect(alice, "dm")
        await send(alice, type="read", **{"with": "bob", "id": 1})
        await expect(alice, "read")
        await alice.close()

        status, _ = chat.post("/api/profile", {"display": "Alicia"}, alice_cookie)
        check(status == 200, f"alice shows herself as Alicia ({status})")
        alice, welcome = await chat.signed_in(alice_cookie)
        check(welcome["nick"] == "Alicia", f"the chat shows the new name ({welcome['nick']})")
        check(welcome.get("rooms") == ["team"], f"Alicia keeps her rooms ({welcome.get('rooms')})")
        convos = welcome.get("conversations")
        check(convos == [{"with": "bob", "last_id": 1, "last_read": 1, "unread": 0}],
              f"and her conversation with its read mark ({convos})")
        await send(alice, type="join", room="team")
        joined = await expect(alice, "joined")
        check(joined.get("role") == "owner", f"and her owner's rights ({joined.get('role')})")
        await send(alice, type="ban", room="team", user="bob")
        left = await expect(bob, "left")
        check(left.get("reason") == "banned", f"Alicia bans bob from her room ({left})")

        # bob renames to escape the ban, then writes to the renamed Alicia.
        await bob.close()
        status, _ = chat.post("/api/profile", {"display": "Robert"}, bob_cookie)
        check(status == 200, f"bob shows himself as Robert ({status})")
        bob, welcome = await chat.signed_in(bob_cookie)
        await send(bob, type="join", room="team")
        refused = await expect(bob, "error")
        check(refused.get("code") == "banned", f"the ban is still Robert's ({refused})")
        await send(bob, type="dm", **{"with": "Alicia", "text": "sorry", "ref": "r"})
        ack = await expect(bob, "ack")
        check(ack.get("id") == 2, f"Robert's message to Alicia goes on in the same conversation ({ack})")
        got = await expect(alice, "dm")
        check(got["text"] == "sorry" and got["id"] == 2, f"Alicia gets it ({got})")
        for ws in (alice, bob):
            await ws.close()
    finally:
        chat.stop()
    return summary("rename")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
