#!/usr/bin/python3
"""Files (issue 14, item 7) against a real duplex-chat on one node: an upload answers its JSON, a
body past the limit is refused with 413 and the connection closed, an SVG is served as an
attachment with nosniff, strangers get 404 and the signed-out 401, a cross-origin POST 403, the
same content is stored once, an aborted upload leaves no temporary file, and a message carries
the file to the room. Starts its own server on a free loopback port and stops it by PID.

Usage: files_test.py path/to/duplex-chat
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
import zlib
import struct

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

BINARY = sys.argv[1]
LIMIT = 1024 * 1024  # --max-upload-bytes, small so the test stays quick


class Chat:
    def __init__(self, db, files, limit=LIMIT):
        self.proc = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", "0", "--db", db,
                                      "--files-dir", files, "--max-upload-bytes", str(limit)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(re.search(r":(\d+)/", self.proc.stdout.readline()).group(1))
        self.origin = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)

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
        return (res.getheader("Set-Cookie") or "").split(";")[0]

    def upload(self, cookie, target, name, body, origin=None):
        headers = {"X-Filename": name, "Content-Type": "application/octet-stream",
                   "Origin": origin or self.origin}
        if cookie:
            headers["Cookie"] = cookie
        res, data = self.request("POST", "/api/files?" + target, body, headers)
        return res.status, (json.loads(data) if data.startswith(b"{") else data)

    async def ws(self, cookie):
        ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws",
                                      extra_headers={"Origin": self.origin, "Cookie": cookie})
        await ws.send(json.dumps({"type": "hello"}))
        await expect(ws, "welcome")
        return ws


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


def png(width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\xff\0\0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def temp_files(files):
    return os.listdir(os.path.join(files, "tmp"))


def oversize(chat, cookie):
    """A Content-Length past the limit: 413, and the server closes the connection."""
    with socket.create_connection(("127.0.0.1", chat.port), timeout=5) as s:
        s.sendall((f"POST /api/files?room=general HTTP/1.1\r\nHost: 127.0.0.1:{chat.port}\r\n"
                   f"Cookie: {cookie}\r\nOrigin: {chat.origin}\r\nX-Filename: big.bin\r\n"
                   f"Content-Length: {LIMIT + LIMIT // 10}\r\n\r\n").encode() + b"x" * 65536)
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


def aborted(chat, cookie, files):
    """Half a body, then the client leaves: no temporary file is left behind."""
    s = socket.create_connection(("127.0.0.1", chat.port), timeout=5)
    s.sendall((f"POST /api/files?room=general HTTP/1.1\r\nHost: 127.0.0.1:{chat.port}\r\n"
               f"Cookie: {cookie}\r\nOrigin: {chat.origin}\r\nX-Filename: half.bin\r\n"
               f"Content-Length: 200000\r\n\r\n").encode() + b"y" * 100000)
    deadline = time.monotonic() + 5
    while not temp_files(files) and time.monotonic() < deadline:
        time.sleep(0.02)
    during = len(temp_files(files))
    s.close()
    deadline = time.monotonic() + 5
    while temp_files(files) and time.monotonic() < deadline:
        time.sleep(0.02)
    return during, temp_files(files)


async def main():
    tmp = tempfile.mkdtemp(prefix="duplex-files-")
    files = os.path.join(tmp, "files")
    chat = Chat(os.path.join(tmp, "chat.db"), files)
    try:
        alice, bob, carol = (chat.register(n) for n in ("alice", "bob", "carol"))
        wa, wb, wc = [await chat.ws(c) for c in (alice, bob, carol)]
        for ws in (wa, wb):
            await ws.send(json.dumps({"type": "join", "room": "general"}))
            await expect(ws, "joined")

        image = png(3, 2)
        status, up = chat.upload(alice, "room=general", "dot%20%E2%80%AEgnp.exe", image)
        check(status == 200 and up["type"] == "image" and up["mime"] == "image/png"
              and up["width"] == 3 and up["height"] == 2 and up["size"] == len(image),
              f"a PNG upload answers its kind and dimensions ({status} {up})")
        check(up.get("name") == "dot gnp.exe", f"the name loses its bidi override ({up.get('name')})")
        res, _ = chat.request("GET", f"/files/{up['id']}/x", headers={"Cookie": alice})
        check(res.status == 404, f"a file no message carries yet is nobody's to fetch ({res.status})")

        await wa.send(json.dumps({"type": "say", "room": "general", "text": "", "file": up["id"]}))
        got = await expect(wb, "message")
        check(got["file"]["id"] == up["id"] and got["file"]["width"] == 3 and got["text"] == "",
              f"the message carries the file, without a word ({got})")

        res, body = chat.request("GET", f"/files/{up['id']}/dot.png", headers={"Cookie": bob})
        check(res.status == 200 and body == image and res.getheader("Content-Type") == "image/png"
              and res.getheader("Content-Disposition", "").startswith("inline")
              and res.getheader("X-Content-Type-Options") == "nosniff"
              and "sandbox" in res.getheader("Content-Security-Policy", ""),
              f"a member fetches the image inline, nosniff and sandboxed ({res.status} {res.getheaders()})")
        res, body = chat.request("HEAD", f"/files/{up['id']}/dot.png", headers={"Cookie": bob})
        check(res.status == 200 and body == b"" and res.getheader("Content-Length") == str(len(image)),
              f"HEAD gives the length and no body ({res.status})")
        res, _ = chat.request("GET", f"/files/{up['id']}/dot.png", headers={"Cookie": carol})
        check(res.status == 404, f"a non-member gets 404 ({res.status})")
        res, _ = chat.request("GET", f"/files/{up['id']}/dot.png")
        check(res.status == 401, f"without a session: 401 ({res.status})")

        svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        status, sv = chat.upload(alice, "room=general", "x.svg", svg)
        check(status == 200 and sv["type"] == "file" and sv["mime"] == "application/octet-stream",
              f"an SVG is no image here ({sv})")
        await wa.send(json.dumps({"type": "say", "room": "general", "text": "see", "file": sv["id"]}))
        await expect(wb, "message")
        res, _ = chat.request("GET", f"/files/{sv['id']}/x.svg", headers={"Cookie": bob})
        check(res.status == 200 and res.getheader("Content-Disposition") == "attachment; filename*=UTF-8''x.svg"
              and res.getheader("Content-Type") == "application/octet-stream"
              and res.getheader("X-Content-Type-Options") == "nosniff",
              f"the SVG is served as a download, nosniff ({res.getheaders()})")

        await wc.send(json.dumps({"type": "say", "room": "general", "text": "", "file": up["id"]}))
        err = await expect(wc, "error")
        check(err["code"] == "not_joined", f"a non-member cannot post into the room ({err})")
        await wb.send(json.dumps({"type": "say", "room": "general", "text": "mine", "file": up["id"]}))
        err = await expect(wb, "error")
        check(err["code"] == "invalid_file", f"bob cannot attach alice's upload ({err})")

        status, _ = chat.upload(carol, "room=general", "a.txt", b"hello")
        check(status == 404, f"a non-member cannot upload for the room ({status})")
        status, _ = chat.upload(None, "room=general", "a.txt", b"hello")
        check(status == 401, f"an anonymous upload: 401 ({status})")
        status, _ = chat.upload(alice, "room=general", "a.txt", b"hello", origin="http://evil.example")
        check(status == 403, f"a cross-origin upload: 403 ({status})")

        blobs = lambda: sorted(f for f in os.listdir(files) if f != "tmp")  # noqa: E731
        before = blobs()
        status, again = chat.upload(bob, "room=general", "copy.png", image)
        check(status == 200 and again["id"] != up["id"] and blobs() == before,
              f"the same content is stored once on disk ({before} -> {blobs()})")

        reply = oversize(chat, alice)
        check(reply.startswith(b"HTTP/1.1 413"),
              f"a body past the limit: 413, then the server closed ({reply[:40]})")
        check(temp_files(files) == [], "the refused upload left no temporary file")
        during, after = aborted(chat, alice, files)
        check(during == 1 and after == [], f"an aborted upload removes its temporary file ({during}, {after})")

        await wc.send(json.dumps({"type": "dm", "with": "alice", "text": "hi"}))
        await expect(wc, "dm")
        await expect(wa, "dm")
        status, dm = chat.upload(carol, "with=alice", "note.txt", b"for alice only")
        check(status == 200 and dm["type"] == "file", f"an upload for a conversation ({status} {dm})")
        await wc.send(json.dumps({"type": "dm", "with": "alice", "text": "", "file": dm["id"]}))
        got = await expect(wa, "dm")
        check(got["file"]["name"] == "note.txt", f"the dm carries the file ({got})")
        res, body = chat.request("GET", f"/files/{dm['id']}/note.txt", headers={"Cookie": alice})
        check(res.status == 200 and body == b"for alice only", "the other participant fetches it")
        res, _ = chat.request("GET", f"/files/{dm['id']}/note.txt", headers={"Cookie": bob})
        check(res.status == 404, f"a third user gets 404 ({res.status})")
        for ws in (wa, wb, wc):
            await ws.close()
    finally:
        chat.stop()
    await large_download(tmp)
    return summary("files")


async def large_download(tmp):
    """A file far past the server's 1 MiB send queue and what the kernel takes at once comes
    back whole (it used to be cut at the queue's limit, as a pipelining client's answers are)."""
    chat = Chat(os.path.join(tmp, "big.db"), os.path.join(tmp, "big-files"), 12 * 1024 * 1024)
    try:
        alice = chat.register("alice")
        ws = await chat.ws(alice)
        await ws.send(json.dumps({"type": "join", "room": "general"}))
        await expect(ws, "joined")
        content = os.urandom(10 * 1024 * 1024)
        status, up = chat.upload(alice, "room=general", "big.bin", content)
        check(status == 200, f"a 10 MiB upload ({status})")
        await ws.send(json.dumps({"type": "say", "room": "general", "text": "", "file": up["id"]}))
        await expect(ws, "message")
        res, body = chat.request("GET", f"/files/{up['id']}/big.bin", headers={"Cookie": alice})
        check(res.status == 200 and body == content,
              f"the 10 MiB download comes back whole ({res.status}, {len(body)} bytes)")
        await ws.close()
    finally:
        chat.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
