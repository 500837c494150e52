#!/usr/bin/python3
"""duplex-chat over real sockets: spoofing, room fan-out, floods, oversize frames, bad JSON,
Origin, HTTP safety, and history that survives kill -9. Starts its own servers on free loopback ports.

Usage: chat_test.py path/to/duplex-chat
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

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

BINARY = sys.argv[1]


STARTED = []  # every server this script started, so that a failing check cannot orphan one


class Chat:
    """One duplex-chat process we started, stopped by its PID."""

    def __init__(self, db, port=0, extra=()):
        STARTED.append(self)
        # --guests: these tests are about the chat's rules, with hello's names (accounts have
        # tests of their own in accounts_test.py).
        self.proc = subprocess.Popen([BINARY, "--host", "127.0.0.1", "--port", str(port), "--db", db,
                                      "--guests", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.port = int(re.search(r":(\d+)/", line).group(1))

    def url(self):
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def user(chat, nick, room=None, since=None, origin=None):
    headers = {"Origin": origin} if origin else None
    # An unbounded queue: a client that does not read must still see (and answer) a close.
    ws = await websockets.connect(chat.url(), extra_headers=headers, max_size=None, max_queue=None)
    await ws.send(json.dumps({"type": "hello", "nick": nick}))
    await expect(ws, "welcome")
    if room:
        join = {"type": "join", "room": room}
        if since is not None:
            join["since"] = since
        await ws.send(json.dumps(join))
        await expect(ws, "joined")
    return ws


def raw_http(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request.encode("latin-1"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.decode("latin-1")


def status_of(response):
    return int(response.split(" ", 2)[1]) if response.startswith("HTTP/1.1 ") else 0


async def spoofing_and_errors(chat):
    alice = await user(chat, "alice", "lobby")
    bob = await user(chat, "bob", "lobby")
    await alice.send(json.dumps({"type": "say", "room": "lobby", "text": "hi", "nick": "bob", "from": "bob"}))
    msg = await expect(bob, "message")
    check(msg["nick"] == "alice", "a message names its real sender, not the one it claims")
    await expect(alice, "message")  # her own copy
    await bob.send("{this is not json")
    err = await expect(bob, "error")
    check(err["code"] == "bad_json", "bad JSON gets an error")
    await bob.send(b"\x00binary")
    err = await expect(bob, "error")
    check(err["code"] == "text_only", "binary frames get an error")
    await bob.send(json.dumps({"type": "say", "room": "lobby", "text": "still open"}))
    check((await expect(alice, "message"))["text"] == "still open", "the connection stays open after errors")
    await bob.send(json.dumps({"type": "hello", "nick": "ALICE"}))
    check((await expect(bob, "error"))["code"] == "already_named", "a connection cannot rename itself")
    mallory = await websockets.connect(chat.url())
    await mallory.send(json.dumps({"type": "hello", "nick": "Alice"}))
    check((await expect(mallory, "error"))["code"] == "nick_taken", "nicknames are unique ignoring case")
    for ws in (alice, bob, mallory):
        await ws.close()


async def flood_and_oversize(chat):
    flooder = await user(chat, "flooder", "lobby")
    codes = None
    try:
        for _ in range(500):
            await flooder.send(json.dumps({"type": "say", "room": "lobby", "text": "spam"}))
        await asyncio.wait_for(flooder.wait_closed(), 10)
    except websockets.ConnectionClosed:
        pass
    codes = flooder.close_code
    check(codes == 1008, f"a flood is closed with 1008 (got {codes})")
    big = await user(chat, "big")
    await big.send(json.dumps({"type": "say", "room": "lobby", "text": "x" * 20000}))
    try:
        await asyncio.wait_for(big.wait_closed(), 5)
    except asyncio.TimeoutError:
        pass
    check(big.close_code == 1009, f"a frame over 16 KiB is closed with 1009 (got {big.close_code})")
    ok = await user(chat, "bystander", "lobby")
    await ok.send(json.dumps({"type": "say", "room": "lobby", "text": "fine"}))
    check((await expect(ok, "ack"))["id"] > 0, "others are served during the abuse")
    await ok.close()


async def origin_check(chat):
    try:
        await websockets.connect(chat.url(), extra_headers={"Origin": "http://evil.example"})
        check(False, "a foreign Origin is refused")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 403, f"a foreign Origin is refused with 403 (got {e.status_code})")
    same = await websockets.connect(chat.url(), extra_headers={"Origin": f"http://127.0.0.1:{chat.port}"})
    check(same.open, "the page's own origin is accepted")
    await same.close()


def http_safety(chat):
    p = chat.port
    check(status_of(raw_http(p, "GET /healthz HTTP/1.1\r\nHost: lb.internal\r\nConnection: close\r\n\r\n")) == 200,
          "/healthz answers 200 to any host name (load balancers)")
    metrics = raw_http(p, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check("duplex_chat_messages_in_total" in metrics and 'duplex_chat_closes_total{code="1008"}' in metrics,
          "/metrics has message counters and closes by code")
    for evil in ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/%5c..%5cetc/passwd",
                 "/.git/config", "/index.html%00"]:
        r = raw_http(p, f"GET {evil} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        check(status_of(r) in (400, 404) and "root:" not in r, f"{evil} is refused ({status_of(r)})")
    index = raw_http(p, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(index) == 200 and "<!doctype html>" in index, "the page is served at /")
    etag = re.search(r"ETag: (\S+)", index).group(1)
    r = raw_http(p, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 304, "a matching ETag gets 304")
    head = raw_http(p, "HEAD /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(head) == 200 and head.endswith("\r\n\r\n") and "text/javascript" in head, "HEAD has headers and no body")
    r = raw_http(p, "DELETE / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 405 and "Allow: GET, HEAD" in r, "other methods get 405 with Allow")
    r = raw_http(p, "GET /" + "a" * 2000 + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 414, "a long path gets 414")
    r = raw_http(p, "GET //evil.example/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(r) in (400, 404) and "Location:" not in r, "no redirect anywhere (no open redirect)")


async def one_message_cannot_crash_it(chat):
    alice = await user(chat, "crash-probe", "probe")
    ref = "a" * 63 + "\u00e9"  # a cut at 64 bytes would split the character
    await alice.send(json.dumps({"type": "say", "room": "probe", "text": "hi", "ref": ref}))
    check((await expect(alice, "ack"))["ref"] == ref, "a ref of 63 bytes and a two-byte character comes back whole")
    await alice.send(json.dumps({"type": "say", "room": "probe", "text": "hi", "ref": "\u00e9" * 65}))
    check((await expect(alice, "error"))["code"] == "invalid_ref", "a ref over 64 characters is refused")
    check(chat.proc.poll() is None, "the server is still running")
    await alice.close()
    binary = await user(chat, "binary-flood")
    try:
        for _ in range(200):
            await binary.send(b"\x00" * 10)
        await asyncio.wait_for(binary.wait_closed(), 10)
    except websockets.ConnectionClosed:
        pass
    check(binary.close_code == 1008, f"binary frames count against the rate limit (closed {binary.close_code})")


def dns_rebinding(chat):
    p = chat.port
    r = raw_http(p, "GET / HTTP/1.1\r\nHost: rebind.evil.example\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 403 and "--allowed-host" in r, f"a page under a foreign host name is refused ({status_of(r)})")
    upgrade = ("GET /ws HTTP/1.1\r\nHost: rebind.evil.example:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Origin: http://rebind.evil.example:{}\r\n\r\n").format(p, p)
    check(status_of(raw_http(p, upgrade)) == 403, "a WebSocket under a foreign host name is refused")
    for host in (f"localhost:{p}", f"127.0.0.1:{p}", f"[::1]:{p}"):
        r = raw_http(p, f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
        check(status_of(r) == 200, f"Host {host} is answered ({status_of(r)})")
    r = raw_http(p, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 426 and "Upgrade: websocket" in r, f"a plain GET on /ws gets 426 ({status_of(r)})")


def allowed_host(db):
    chat = Chat(db, extra=["--allowed-host", "chat.example.com"])
    r = raw_http(chat.port, "GET / HTTP/1.1\r\nHost: chat.example.com\r\nConnection: close\r\n\r\n")
    check(status_of(r) == 200, f"--allowed-host names a host the chat answers to ({status_of(r)})")
    check(chat.stop() == 0, "SIGTERM stops the chat cleanly")


async def restart_keeps_history(db):
    chat = Chat(db)
    alice = await user(chat, "alice", "keep")
    acked = []
    for i in range(15):  # hello + join + 15 stay inside the default burst of 20
        await alice.send(json.dumps({"type": "say", "room": "keep", "text": f"m{i}", "ref": str(i)}))
        acked.append((await expect(alice, "ack"))["id"])
    chat.kill9()
    chat = Chat(db)
    bob = await user(chat, "bob", "keep")
    history = await expect(bob, "history")
    ids = [m["id"] for m in history["messages"]]
    check(all(a in ids for a in acked), f"all {len(acked)} acknowledged messages survive kill -9")
    await bob.send(json.dumps({"type": "say", "room": "keep", "text": "after"}))
    check((await expect(bob, "ack"))["id"] == max(acked) + 1, "ids continue after the restart")
    late = await user(chat, "carol", "keep", since=acked[14])
    resumed = await expect(late, "history")
    got = [m["id"] for m in resumed["messages"]]
    check(got == list(range(acked[14] + 1, max(acked) + 2)), f"resume since an id gets exactly what is newer ({got})")
    for ws in (bob, late):
        await ws.close()
    check(chat.stop() == 0, "SIGTERM stops the chat cleanly")


async def collect(ws, want_messages, timeout=5):
    """Everything a client receives until it has seen `want_messages` messages."""
    got = []
    while sum(m["type"] == "message" for m in got) < want_messages:
        got.append(json.loads(await asyncio.wait_for(ws.recv(), timeout)))
    return got


async def quiet(ws, room, seconds=0.3):
    """True when nothing about `room` arrives for a while."""
    try:
        while True:
            if json.loads(await asyncio.wait_for(ws.recv(), seconds)).get("room") == room:
                return False
    except asyncio.TimeoutError:
        return True


async def room_fanout(chat):
    """A room's messages reach each member once, in id order, through the room's topic; each
    sender's ack follows its own message; other rooms and former members get nothing."""
    members = [await user(chat, f"fan{i}", "fanout") for i in range(4)]
    elsewhere = await user(chat, "elsewhere", "other")
    gone = await user(chat, "gone", "fanout")
    await gone.send(json.dumps({"type": "leave", "room": "fanout"}))
    await expect(gone, "left")
    for round_ in range(5):
        for i, ws in enumerate(members[:3]):
            await ws.send(json.dumps({"type": "say", "room": "fanout", "text": f"{i}:{round_}",
                                      "ref": f"{i}-{round_}"}))
    streams = await asyncio.gather(*(collect(ws, 15) for ws in members))
    for i, stream in enumerate(streams):
        ids = [m["id"] for m in stream if m["type"] == "message"]
        check(ids == sorted(set(ids)) and len(ids) == 15, f"member {i} sees 15 messages once, in order")
        if i < 3:
            seen, in_order = set(), True
            for m in stream:
                if m["type"] == "message":
                    seen.add(m["id"])
                elif m["type"] == "ack":
                    in_order &= m["id"] in seen
            # Acks may trail the 15th message: read them to the end.
            while sum(m["type"] == "ack" for m in stream) < 5:
                m = json.loads(await asyncio.wait_for(members[i].recv(), 5))
                stream.append(m)
                if m["type"] == "ack":
                    in_order &= m["id"] in seen
            check(in_order, f"member {i}'s acks each come after its message")
    for ws, who in ((elsewhere, "a member of another room"), (gone, "a member that left")):
        check(await quiet(ws, "fanout"), f"{who} gets nothing of the room")
    for ws in (*members, elsewhere, gone):
        await ws.close()


async def main():
    with tempfile.TemporaryDirectory() as tmp:
        try:
            chat = Chat(os.path.join(tmp, "a.db"))
            await spoofing_and_errors(chat)
            await room_fanout(chat)
            await flood_and_oversize(chat)
            await origin_check(chat)
            http_safety(chat)
            await one_message_cannot_crash_it(chat)
            dns_rebinding(chat)
            check(chat.stop() == 0, "SIGTERM stops the chat cleanly")
            allowed_host(os.path.join(tmp, "c.db"))
            await restart_keeps_history(os.path.join(tmp, "b.db"))
        finally:
            for c in STARTED:
                if c.proc.poll() is None:
                    c.proc.kill()
                    c.proc.wait()
    return summary("chat integration")


sys.exit(asyncio.run(main()))
