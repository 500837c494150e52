#!/usr/bin/python3
"""duplex-chat's accounts over real sockets: the /api/ endpoints with their cookie and Origin
rules, the WebSocket bound to a session (401 without one unless --guests), sign-out closing the
live socket, the operator's `user` commands (password on stdin, a ban that ends the cookie), a
guest refused a registered name, and a database from before accounts opening in place.

Usage: accounts_test.py path/to/duplex-chat
"""
import asyncio
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

BINARY = sys.argv[1]
STARTED = []


class Chat:
    """One duplex-chat we started, stopped by its PID."""

    def __init__(self, db, *extra):
        STARTED.append(self)
        self.proc = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", "0", "--db", db, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))
        self.origin = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

    def call(self, method, path, body=None, cookie=None, origin=None, raw=None):
        """(status, json body or {}, headers) of one request on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Origin": origin or self.origin}
        if cookie:
            headers["Cookie"] = cookie
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        res = conn.getresponse()
        text = res.read()
        conn.close()
        try:
            parsed = json.loads(text) if text else {}
        except ValueError:
            parsed = {}
        return res.status, parsed, res

    async def ws(self, cookie=None):
        headers = {"Origin": self.origin}
        if cookie:
            headers["Cookie"] = cookie
        return await websockets.connect(f"ws://127.0.0.1:{self.port}/ws", extra_headers=headers)


def cookie_of(res):
    """The name=value of the session cookie a response sets."""
    value = res.getheader("Set-Cookie") or ""
    return value.split(";")[0]


async def upgrade_status(chat, cookie=None):
    try:
        ws = await chat.ws(cookie)
    except websockets.InvalidStatusCode as e:
        return e.status_code
    await ws.close()
    return 101


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


def cli(db, *args, password=None):
    """Runs `duplex-chat user ...`; the password goes on stdin, never in argv."""
    return subprocess.run([BINARY, "user", *args, "--db", db], input=password, capture_output=True,
                          text=True, timeout=60)


async def api_and_socket(tmp):
    db = os.path.join(tmp, "chat.db")
    chat = Chat(db)
    try:
        status, body, _ = chat.call("GET", "/api/config")
        check(status == 200 and body == {"guests": False, "registration": True,
                                         "max_upload_bytes": 10 * 1024 * 1024},
              f"by default: registration open, guests off, 10 MiB files ({status} {body})")
        check(await upgrade_status(chat) == 401, "without a session the WebSocket upgrade is refused with 401")

        status, body, _ = chat.call("POST", "/api/register", {"name": "ann", "password": "correct horse"},
                                    origin="http://evil.example")
        check(status == 403 and body.get("error") == "cross_origin", f"a POST from another origin is refused ({status})")
        status, body, res = chat.call("POST", "/api/register", {"name": "Ann", "password": "correct horse"})
        cookie = cookie_of(res)
        set_cookie = res.getheader("Set-Cookie") or ""
        check(status == 201 and body["user"]["name"] == "Ann", f"registered ({status} {body})")
        check("HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and cookie.startswith("duplex_session="),
              f"the session cookie is HttpOnly and SameSite=Lax ({set_cookie})")
        for name, code in (("ann", "name_taken"), ("ANN", "name_taken"), ("\u0410nn", "invalid_name")):
            status, body, _ = chat.call("POST", "/api/register", {"name": name, "password": "another one"})
            check(status in (400, 409) and body.get("error") in (code, "name_look_alike", "invalid_name"),
                  f"{name!r} is refused ({status} {body.get('error')})")
        status, body, _ = chat.call("POST", "/api/register", {"name": "Bill", "password": "correct horse"})
        check(status == 201, "Bill registers")
        status, body, _ = chat.call("POST", "/api/register", {"name": "BiII", "password": "correct horse"})
        check(status == 409 and body.get("error") == "name_look_alike", f"BiII looks like Bill ({status} {body})")
        status, body, _ = chat.call("POST", "/api/login", raw=b"x" * 20000)
        check(status == 413, f"a body past the limit is refused with 413 ({status})")
        status, body, _ = chat.call("GET", "/api/me", cookie=cookie)
        check(status == 200 and body["user"]["name"] == "Ann", "GET /api/me names the signed-in user")
        status, body, _ = chat.call("DELETE", "/api/sessions", cookie=cookie, origin="http://evil.example")
        check(status == 403, "a DELETE from another origin is refused")

        ws = await chat.ws(cookie)
        await ws.send(json.dumps({"type": "hello", "nick": "mallory"}))
        welcome = await expect(ws, "welcome")
        check(welcome["nick"] == "Ann" and "guest" not in welcome, f"the socket is Ann's whatever hello says ({welcome})")
        second = await chat.ws(cookie)
        await second.send(json.dumps({"type": "hello"}))
        check((await expect(second, "welcome"))["nick"] == "Ann", "a second socket of the session is Ann too")

        status, body, _ = chat.call("POST", "/api/profile", {"display": "Annie Oakley"}, cookie=cookie)
        check(status == 200 and body["user"]["display"] == "Annie Oakley", f"a display name is set ({status} {body})")
        status, body, oakley = chat.call("POST", "/api/register", {"name": "annieoakley", "password": "correct horse"})
        check(status == 201, "a sign-in name that differs from a display name registers")
        status, body, _ = chat.call("POST", "/api/profile", {"display": "ANNIE OAKLEY"}, cookie=cookie_of(oakley))
        check(status == 409, f"but may not take another's display name ({status} {body})")

        status, _, res = chat.call("POST", "/api/logout", cookie=cookie)
        check(status == 204 and "Max-Age=0" in (res.getheader("Set-Cookie") or ""), "sign-out clears the cookie")
        try:
            await asyncio.wait_for(ws.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass
        check(ws.close_code == 4001, f"sign-out closes the session's live sockets with 4001 ({ws.close_code})")
        check(await upgrade_status(chat, cookie) == 401, "the old cookie no longer opens a socket")
        status, _, _ = chat.call("GET", "/api/me", cookie=cookie)
        check(status == 401, "nor answers /api/me")
    finally:
        chat.stop()

    # The operator: a user added with the password on stdin, listed, banned.
    out = cli(db, "add", "carol", password="carol's password\n")
    check(out.returncode == 0 and "'carol' added" in out.stdout, f"user add ({out.stdout}{out.stderr})")
    out = cli(db, "add", "CAROL", password="whatever pass\n")
    check(out.returncode == 1, "user add refuses a taken name")
    chat = Chat(db)
    try:
        status, body, res = chat.call("POST", "/api/login", {"name": "Carol", "password": "carol's password"})
        cookie = cookie_of(res)
        check(status == 200 and body["user"]["name"] == "carol", f"carol signs in ({status} {body})")
        check(await upgrade_status(chat, cookie) == 101, "carol's cookie opens a socket")
        carol_ws = await chat.ws(cookie)
        await carol_ws.send(json.dumps({"type": "hello"}))
        await expect(carol_ws, "welcome")
        out = cli(db, "list")
        check(re.search(r"\tcarol\tuser\t1 session", out.stdout) is not None, f"user list shows carol ({out.stdout})")
        out = cli(db, "ban", "carol")
        check(out.returncode == 0 and "banned" in out.stdout, "user ban")
        try:
            await asyncio.wait_for(carol_ws.wait_closed(), 5)
        except asyncio.TimeoutError:
            pass
        check(carol_ws.close_code == 4001,
              f"a ban from the command line closes the running server's open socket ({carol_ws.close_code})")
        check(await upgrade_status(chat, cookie) == 401, "a banned user's cookie stops at the next upgrade")
        status, _, _ = chat.call("GET", "/api/me", cookie=cookie)
        check(status == 401, "and at the next request")
        status, body, _ = chat.call("POST", "/api/login", {"name": "carol", "password": "carol's password"})
        check(status == 403 and body.get("error") == "banned", f"a banned user cannot sign in ({status} {body})")
    finally:
        chat.stop()

    # Guests: allowed with --guests, marked, and never under a registered name.
    chat = Chat(db, "--guests")
    try:
        check(chat.call("GET", "/api/config")[1].get("guests") is True, "--guests shows in /api/config")
        for name in ("ann", "ANN", "carol", "BiII", "annie oakley"):
            ws = await chat.ws()
            await ws.send(json.dumps({"type": "hello", "nick": name}))
            err = await expect(ws, "error")
            check(err["code"] == "nick_taken", f"a guest cannot take the registered name {name!r} ({err})")
            await ws.close()
        ws = await chat.ws()
        await ws.send(json.dumps({"type": "hello", "nick": "gus"}))
        welcome = await expect(ws, "welcome")
        check(welcome["nick"] == "gus" and welcome.get("guest") is True, f"a guest is marked ({welcome})")
        await ws.send(json.dumps({"type": "join", "room": "general"}))
        await ws.send(json.dumps({"type": "say", "room": "general", "text": "guest line"}))
        said = await expect(ws, "message")
        check(said.get("guest") is True, "a guest's message is marked")
        await ws.close()
    finally:
        chat.stop()


async def old_database(tmp):
    """A file from before accounts (history only, schema version 0) opens and gains them."""
    db = os.path.join(tmp, "old.db")
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL,"
                      " text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID;"
                      "INSERT INTO messages VALUES ('general', 1, 'old-timer', 'from before accounts', 0);")
    con.commit()
    con.close()
    chat = Chat(db)
    try:
        status, _, res = chat.call("POST", "/api/register", {"name": "dora", "password": "correct horse"})
        check(status == 201, f"an old database takes registrations ({status})")
        ws = await chat.ws(cookie_of(res))
        await ws.send(json.dumps({"type": "hello"}))
        await expect(ws, "welcome")
        await ws.send(json.dumps({"type": "join", "room": "general"}))
        history = await expect(ws, "history")
        check([m["text"] for m in history["messages"]] == ["from before accounts"],
              "its history is still there")
        await ws.close()
    finally:
        chat.stop()
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    check(version >= 1, f"the file was upgraded in place (user_version {version})")


async def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            await api_and_socket(tmp)
            await old_database(tmp)
        finally:
            for chat in STARTED:
                chat.stop()
    return summary("accounts")


sys.exit(asyncio.run(main()))
