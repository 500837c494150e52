#!/usr/bin/python3
"""Files across two duplex-chat nodes with --redis and --pg (issue 15: every feature works the same
across nodes): an upload on node A is downloaded byte for byte on node B once a message carries
it (the message itself crosses the bus with its file); a third user on node B gets 404 for a
private conversation's file, the signed-out 401; a body past the limit is refused with 413; a
file no message carries is nobody's to fetch; with the files' tables out of reach an upload and a
download answer 503 files_unavailable; with PostgreSQL stopped they answer 503 at once, and once
it is back both work without a restart.
Everything runs on loopback ports this script picks (a private PostgreSQL cluster made with
initdb); it stops only what it started, by PID. Exits 77 (skipped) without PostgreSQL's binaries.

Usage: files_pg_test.py path/to/duplex-chat
"""
import asyncio
import http.client
import json
import os
import socket
import sys
import time

import websockets

from cluster import Node, Redis, free_port, pg_server, stop_all
from checks import check, summary  # noqa: E402  (tests/support, on the path once cluster is in)

CHAT = sys.argv[1]
LIMIT = 700 * 1024  # --max-upload-bytes: room for a file of three chunks (256 KiB each)


class FilesNode(Node):
    def __init__(self, redis_port, pg_url):
        super().__init__(CHAT, redis_port, pg_url, extra=("--max-upload-bytes", str(LIMIT)))
        self.origin = f"http://127.0.0.1:{self.port}"

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res, data

    def register(self, name):
        res, _ = self.request("POST", "/api/register",
                              json.dumps({"name": name, "password": "correct horse"}),
                              {"Origin": self.origin, "Content-Type": "application/json"})
        check(res.status == 201, f"{name} registers on port {self.port} ({res.status})")
        return (res.getheader("Set-Cookie") or "").split(";")[0]

    def upload(self, cookie, target, name, body):
        res, data = self.request("POST", "/api/files?" + target, body,
                                 {"X-Filename": name, "Origin": self.origin, "Cookie": cookie,
                                  "Content-Type": "application/octet-stream"})
        return res.status, (json.loads(data) if data.startswith(b"{") else {})

    def download(self, cookie, file_id):
        res, data = self.request("GET", f"/files/{file_id}/x", headers={"Cookie": cookie} if cookie else {})
        return res.status, data

    async def ws(self, cookie):
        ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                      extra_headers={"Origin": self.origin, "Cookie": cookie})
        await ws.send(json.dumps({"type": "hello"}))
        await expect(ws, "welcome")
        return ws


async def expect(ws, kind, timeout=10):
    """The next message of `kind`; {} (and a failed check) if none comes in time."""
    try:
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if msg["type"] == kind:
                return msg
    except asyncio.TimeoutError:
        check(False, f"a {kind} within {timeout} s")
        return {"messages": []}


def oversize(node, cookie):
    """A Content-Length past the limit: 413 before the body is read."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall((f"POST /api/files?with=bob HTTP/1.1\r\nHost: 127.0.0.1:{node.port}\r\n"
                   f"Cookie: {cookie}\r\nOrigin: {node.origin}\r\nX-Filename: big.bin\r\n"
                   f"Content-Length: {LIMIT + 1}\r\n\r\n").encode())
        got = b""
        while True:
            try:
                piece = s.recv(65536)
            except ConnectionResetError:
                break
            if not piece:
                break
            got += piece
    return got


async def across_nodes(a, b, ann, bob, carol):
    content = os.urandom(600 * 1024)
    status, up = a.upload(ann, "with=bob", "data.bin", content)
    check(status == 200 and up.get("size") == len(content) and up.get("type") == "file",
          f"ann uploads {len(content)} bytes on node A for her conversation with bob ({status} {up})")
    status, _ = b.download(bob, up["id"])
    check(status == 404, f"a file no message carries yet is nobody's to fetch, on B ({status})")
    wa, wb = await a.ws(ann), await b.ws(bob)
    await wa.send(json.dumps({"type": "dm", "with": "bob", "text": "", "file": up["id"]}))
    got = await expect(wb, "dm")
    check(got.get("file", {}).get("id") == up["id"],
          f"the dm reaches bob on node B with its file ({got.get('file')})")
    t = time.monotonic()
    status, body = b.download(bob, up["id"])
    check(status == 200 and body == content,
          f"bob downloads the same {len(body)} bytes on node B ({status}, "
          f"{(time.monotonic() - t) * 1000:.0f} ms)")
    status, _ = b.download(carol, up["id"])
    check(status == 404, f"carol, no member of the conversation, gets 404 on node B ({status})")
    status, _ = b.download(None, up["id"])
    check(status == 401, f"signed out: 401 ({status})")
    got = oversize(b, bob)
    check(got.startswith(b"HTTP/1.1 413"), f"a body past the limit is refused with 413 ({got[:12]})")
    # The history read back from PostgreSQL carries the file too.
    await wb.send(json.dumps({"type": "history", "with": "ann"}))
    page = await expect(wb, "history")
    check([m.get("file", {}).get("id") for m in page["messages"]] == [up["id"]],
          f"the conversation's history from PostgreSQL carries the file ({page['messages']})")
    await wa.close()
    await wb.close()
    return up["id"], content


def unavailable(pg, a, b, ann, bob, file_id):
    """The files' tables out of reach, the accounts fine: the files' own answer."""
    pg.psql("ALTER TABLE uploads RENAME TO uploads_away")
    status, body = a.upload(ann, "with=bob", "later.bin", b"x" * 1000)
    check(status == 503 and body.get("error") == "files_unavailable",
          f"files unreadable in PostgreSQL: an upload answers 503 files_unavailable ({status} {body})")
    status, data = b.download(bob, file_id)
    check(status == 503 and b"files_unavailable" in data,
          f"and a download 503 files_unavailable ({status} {data[:80]})")
    pg.psql("ALTER TABLE uploads_away RENAME TO uploads")


def stopped_and_back(pg, a, b, ann, bob, file_id, content):
    """PostgreSQL stopped: 503 at once (the session check, or the files'); back: no restart."""
    pg.stop()
    t = time.monotonic()
    status, _ = a.upload(ann, "with=bob", "later.bin", b"x" * 1000)
    check(status == 503, f"PostgreSQL stopped: an upload answers 503 ({status})")
    status, _ = b.download(bob, file_id)
    check(status == 503, f"and a download 503 ({status})")
    check(time.monotonic() - t < 5, f"at once ({time.monotonic() - t:.1f} s)")
    pg.start()
    deadline = time.monotonic() + 15
    while True:
        status, data = b.download(bob, file_id)
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    check(status == 200 and data == content, f"PostgreSQL back: the download works again ({status})")
    status, up = a.upload(ann, "with=bob", "later.bin", b"x" * 1000)
    check(status == 200 and up.get("size") == 1000, f"and an upload on node A ({status} {up})")


async def scenario(pg):
    redis = Redis(free_port())
    a, b = FilesNode(redis.port, pg.url()), FilesNode(redis.port, pg.url())
    ann, bob, carol = a.register("ann"), b.register("bob"), b.register("carol")
    file_id, content = await across_nodes(a, b, ann, bob, carol)
    unavailable(pg, a, b, ann, bob, file_id)
    stopped_and_back(pg, a, b, ann, bob, file_id, content)
    check(a.alive() and b.alive(), "both nodes are still running")


def main():
    if pg_server.bin_dir() is None:
        print("SKIP:", pg_server.MISSING, flush=True)
        return 77
    pg = pg_server.PgServer()
    try:
        asyncio.run(scenario(pg))
    finally:
        stop_all()
        pg.close()
    return summary("files across nodes")


sys.exit(main())
