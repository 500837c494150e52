#!/usr/bin/python3
"""One identity space across two duplex-chat nodes with --redis and --pg: accounts and sessions in
PostgreSQL. A cookie from node A signs in on node B; a name, or a look-alike of one, taken on A is
refused on B; a sign-out on A and a ban by the operator's command close B's socket; with
PostgreSQL stopped a sign-in answers store_failed at once and the nodes keep serving, and once it
is back sign-in works without a restart; `duplex-chat user add --pg` makes a user both nodes know.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: identity_pg_test.py path/to/duplex-chat
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
import pg_server  # noqa: E402

CHAT = sys.argv[1]
STARTED = []


class Proc:
    def __init__(self, argv):
        STARTED.append(self)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Redis(Proc):
    def __init__(self, port):
        super().__init__(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no"])
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
                          "--db", os.path.join(tempfile.mkdtemp(prefix="duplex-node-"), "n.db")])
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))
        self.origin = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None, cookie=None):
        """(status, json body or {}, response) of one request on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Origin": self.origin}
        if cookie:
            headers["Cookie"] = cookie
        data = json.dumps(body).encode() if body is not None else None
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

    async def ws(self, cookie):
        return await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                        extra_headers={"Origin": self.origin, "Cookie": cookie})


def cookie_of(res):
    return (res.getheader("Set-Cookie") or "").split(";")[0]


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def closed_with(ws, seconds):
    try:
        await asyncio.wait_for(ws.wait_closed(), seconds)
    except asyncio.TimeoutError:
        pass
    return ws.close_code


def cli(pg_url, *args, password=None):
    """`duplex-chat user ... --pg URL`; the password on stdin."""
    return subprocess.run([CHAT, "user", *args, "--pg", pg_url], input=password,
                          capture_output=True, text=True, timeout=60)


async def scenario(pg, redis_port):
    Redis(redis_port)
    a, b = Node(redis_port, pg.url()), Node(redis_port, pg.url())

    status, body, res = a.call("POST", "/api/register", {"name": "Ann", "password": "correct horse"})
    ann = cookie_of(res)
    check(status == 201, f"Ann registers on node A ({status} {body})")
    status, body, _ = b.call("GET", "/api/me", cookie=ann)
    check(status == 200 and body["user"]["name"] == "Ann", f"A's cookie signs in on B ({status} {body})")
    ws = await b.ws(ann)
    await ws.send(json.dumps({"type": "hello"}))
    check((await expect(ws, "welcome"))["nick"] == "Ann", "a WebSocket on B with A's cookie is Ann")

    status, body, _ = b.call("POST", "/api/register", {"name": "ANN", "password": "correct horse"})
    check(status == 409 and body.get("error") == "name_taken", f"B refuses A's name ({status} {body})")
    status, _, _ = a.call("POST", "/api/register", {"name": "Bill", "password": "correct horse"})
    status, body, _ = b.call("POST", "/api/register", {"name": "BiII", "password": "correct horse"})
    check(status == 409 and body.get("error") == "name_look_alike",
          f"B refuses a look-alike of a name taken on A ({status} {body})")

    t = time.monotonic()
    status, _, _ = a.call("POST", "/api/logout", cookie=ann)
    code = await closed_with(ws, 8)
    check(status == 204 and code == 4001,
          f"a sign-out on A closes Ann's socket on B with 4001 ({code}, {time.monotonic() - t:.1f} s)")
    status, _, _ = b.call("GET", "/api/me", cookie=ann)
    check(status == 401, "and B no longer takes the cookie")

    # The operator's command against PostgreSQL: a user both nodes know, then banned.
    out = cli(pg.url(), "add", "carol", password="carol's password\n")
    check(out.returncode == 0 and "'carol' added" in out.stdout, f"user add --pg ({out.stdout}{out.stderr})")
    out = cli(pg.url(), "add", "CAROL", password="whatever pass\n")
    check(out.returncode == 1, "user add --pg refuses a taken name")
    status, body, res = b.call("POST", "/api/login", {"name": "Carol", "password": "carol's password"})
    carol = cookie_of(res)
    check(status == 200 and body["user"]["name"] == "carol", f"carol signs in on B ({status} {body})")
    out = cli(pg.url(), "list")
    check(re.search(r"\tcarol\tuser\t1 session", out.stdout) is not None, f"user list --pg ({out.stdout})")
    carol_ws = await a.ws(carol)
    await carol_ws.send(json.dumps({"type": "hello"}))
    await expect(carol_ws, "welcome")
    out = cli(pg.url(), "ban", "carol")
    code = await closed_with(carol_ws, 8)
    check(out.returncode == 0 and code == 4001, f"a ban by the command closes carol's socket on A ({code})")
    cli(pg.url(), "unban", "carol")

    # PostgreSQL stopped: a clear error at once, the node keeps serving; back: no restart needed.
    status, _, res = a.call("POST", "/api/login", {"name": "carol", "password": "carol's password"})
    carol = cookie_of(res)
    carol_ws = await b.ws(carol)
    await carol_ws.send(json.dumps({"type": "hello"}))
    await expect(carol_ws, "welcome")
    pg.stop()
    t = time.monotonic()
    status, body, _ = a.call("POST", "/api/login", {"name": "carol", "password": "carol's password"})
    took = time.monotonic() - t
    check(status == 503 and body.get("error") == "store_failed" and took < 2,
          f"PostgreSQL down: sign-in answers store_failed at once ({status} {body}, {took:.2f} s)")
    status, body, _ = b.call("POST", "/api/register", {"name": "dave", "password": "correct horse"})
    check(body.get("error") == "store_failed", f"and so does a sign-up ({status} {body})")
    check(a.call("GET", "/api/config")[0] == 200 and b.call("GET", "/api/config")[0] == 200,
          "PostgreSQL down: both nodes keep answering")
    await carol_ws.send(json.dumps({"type": "join", "room": "lobby"}))
    check(await closed_with(carol_ws, 3) is None, "PostgreSQL down: an open socket stays open")
    pg.start()
    t = time.monotonic()
    status = 0
    while status != 200 and time.monotonic() - t < 15:
        status, body, _ = a.call("POST", "/api/login", {"name": "carol", "password": "carol's password"})
        if status != 200:
            await asyncio.sleep(0.3)
    check(status == 200, f"PostgreSQL back: sign-in works without a restart "
                         f"({status} {body}, {time.monotonic() - t:.1f} s)")
    await carol_ws.close()


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
    return summary("one identity across nodes (PostgreSQL)")


sys.exit(main())
