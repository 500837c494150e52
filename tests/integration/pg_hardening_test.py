#!/usr/bin/python3
"""The multi-node chat (--redis and --pg) under the conditions a review found unhandled, one
scenario per run (the second argument), each with its own redis-server and private PostgreSQL
cluster on loopback ports picked here; it stops only what it started, by PID. Exits 77 (skipped)
without PostgreSQL's binaries.

Usage: pg_hardening_test.py path/to/duplex-chat SCENARIO
"""
import asyncio
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import sys
import threading
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Node, Proc, Redis, free_port, pg_server, stop_all  # noqa: E402
from checks import check, summary  # noqa: E402

CHAT = sys.argv[1]
SCENARIO = sys.argv[2] if len(sys.argv) > 2 else ""


def call(node, method, path, body=None, cookie=None, headers=None):
    """(status, json body or {}, response) of one request on a fresh connection."""
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
    h = {"Origin": f"http://127.0.0.1:{node.port}", **(headers or {})}
    if cookie:
        h["Cookie"] = cookie
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    res = conn.getresponse()
    text = res.read()
    conn.close()
    try:
        parsed = json.loads(text) if text else {}
    except ValueError:
        parsed = {}
    return res.status, parsed, res


def register(node, name):
    """The session cookie (name=value) of a new account."""
    status, body, res = call(node, "POST", "/api/register", {"name": name, "password": "correct horse"})
    if status != 201:
        raise RuntimeError(f"register {name}: {status} {body}")
    return (res.getheader("Set-Cookie") or "").split(";")[0]


async def ws_of(node, cookie):
    return await websockets.connect(f"ws://127.0.0.1:{node.port}/ws", max_queue=None,
                                    extra_headers={"Origin": f"http://127.0.0.1:{node.port}",
                                                   "Cookie": cookie})


async def expect(ws, kind, timeout=5):
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg["type"] == kind:
            return msg


async def gather(ws, seconds):
    """Every message the socket receives within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            out.append(json.loads(await asyncio.wait_for(ws.recv(), left)))
        except (asyncio.TimeoutError, websockets.ConnectionClosed):
            break
    return out


class Relay:
    """A TCP relay on loopback to `target_port`. What a client sends once it carries `needle` (and
    everything after it on that connection, so the order is kept) waits `hold` seconds: a Redis
    subscription made late, as on a loaded network. cut() makes every connection open now a
    black hole both ways, as a NAT that forgot them or a server gone without a word; new
    connections pass."""

    def __init__(self, target_port, needle=None, hold=0):
        self.port = free_port()
        self.target, self.needle, self.hold = target_port, needle, hold
        self.held = 0
        self.pairs = []
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:  # the target is stopping
                client.close()
                continue
            pair = {"cut": False}
            self.pairs.append(pair)
            threading.Thread(target=self.pipe, args=(client, server, True, pair), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, False, pair), daemon=True).start()

    def cut(self):
        for pair in self.pairs:
            pair["cut"] = True

    def pipe(self, src, dst, upstream, pair):
        try:
            while data := src.recv(65536):
                if upstream and self.needle and self.needle in data:
                    self.held += 1
                    time.sleep(self.hold)
                if not pair["cut"]:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# ----- 2: a private message sent while the node subscribes to the recipient's channel

async def dm_at_signin(pg):
    redis = Redis(free_port())
    proxy = Relay(redis.port, b"duplex-chat:inbox:bob", 1.5)
    a = Node(CHAT, redis.port, pg.url())
    b = Node(CHAT, proxy.port, pg.url())
    alice, bob = register(a, "alice"), register(a, "bob")
    alice_ws = await ws_of(a, alice)
    await alice_ws.send(json.dumps({"type": "hello"}))
    await expect(alice_ws, "welcome")
    bob_ws = await ws_of(b, bob)
    await bob_ws.send(json.dumps({"type": "hello"}))
    await asyncio.sleep(0.3)  # node B has asked Redis for bob's channel; Redis has not heard yet
    await alice_ws.send(json.dumps({"type": "dm", "with": "bob", "text": "right at sign-in"}))
    await expect(alice_ws, "ack")
    got = await gather(bob_ws, 4)
    check(proxy.held >= 1, "node B's subscription to bob's channel was held")
    welcome = next((m for m in got if m["type"] == "welcome"), None)
    listed = welcome is not None and any(c["with"] == "alice" and c["last_id"] >= 1
                                         for c in welcome["conversations"])
    live = any(m["type"] == "dm" and m["text"] == "right at sign-in" for m in got)
    check(listed or live, f"bob is shown the message sent while he signed in (welcome "
                          f"{welcome and welcome['conversations']}, live {live})")
    await alice_ws.close()
    await bob_ws.close()


# ----- 3: the connection that LISTENs for ended sessions dies without a word

async def listen_cut(pg):
    redis = Redis(free_port())
    relay = Relay(pg.port)
    a = Node(CHAT, redis.port, f"postgresql://duplex@127.0.0.1:{relay.port}/postgres")
    b = Node(CHAT, redis.port, pg.url())
    ann = register(b, "ann")
    ws = await ws_of(a, ann)
    await ws.send(json.dumps({"type": "hello"}))
    await expect(ws, "welcome")
    # Past the sweep that follows the loop connection's first use (a new connection counts as
    # a change): from here only the LISTEN can tell node A that a session ended.
    await asyncio.sleep(4.5)
    relay.cut()  # node A's connections to PostgreSQL, the LISTEN among them, hear nothing more
    status, _, _ = call(b, "POST", "/api/logout", cookie=ann)
    t = time.monotonic()
    try:
        await asyncio.wait_for(ws.wait_closed(), 15)
    except asyncio.TimeoutError:
        pass
    took = time.monotonic() - t
    check(status == 204 and ws.close_code == 4001,
          f"a sign-out on B closes Ann's socket on A although A's LISTEN died silently "
          f"({ws.close_code}, {took:.1f} s)")


# ----- 6: clients that come while the node starts

MIGRATION_LOCK = 7244500215  # pg_schema.cpp: the advisory lock every node's migration takes


async def try_once(port, events):
    """One visit as the page makes it: hello, join, say. What happened goes into `events`;
    True once the say is acknowledged."""
    try:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10)
    except OSError:
        events.append("refused")
        return False
    except websockets.InvalidStatusCode as e:
        events.append(f"http {e.status_code}")
        return False
    try:
        await ws.send(json.dumps({"type": "hello", "nick": "early"}))
        await ws.send(json.dumps({"type": "join", "room": "lobby"}))
        got = await gather_until(ws, lambda m: m["type"] in ("joined", "error"), 5)
        if got and got[-1]["type"] == "joined":
            await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "first", "ref": "r"}))
            got += await gather_until(ws, lambda m: m["type"] in ("ack", "error"), 5)
        for m in got:
            if m["type"] == "error":
                events.append("error " + m.get("code", "?"))
            if m["type"] == "ack":
                events.append("ack")
                return True
        events.append("no ack")
        return False
    finally:
        await ws.close()


async def gather_until(ws, done, seconds):
    out = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            m = json.loads(await asyncio.wait_for(ws.recv(), left))
        except (asyncio.TimeoutError, websockets.ConnectionClosed):
            break
        out.append(m)
        if done(m):
            break
    return out


async def start_gate(pg):
    redis = Redis(free_port())
    # Another node's migration under way: this one's waits for the lock, 2 s.
    holder = subprocess.Popen([os.path.join(pg.bin, "psql"), "-h", "127.0.0.1", "-p", str(pg.port),
                               "-U", "duplex", "-d", "postgres", "-q",
                               "-c", f"SELECT pg_advisory_lock({MIGRATION_LOCK})",
                               "-c", "SELECT pg_sleep(2)"], stdout=subprocess.DEVNULL)
    while pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").strip() == "0":
        await asyncio.sleep(0.02)
    port = free_port()
    Proc([CHAT, "--host", "127.0.0.1", "--port", str(port), "--guests",
          "--db", os.path.join(tempfile.mkdtemp(prefix="duplex-node-"), "n.db"),
          "--redis", f"redis://127.0.0.1:{redis.port}", "--pg", pg.url()])
    events = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not await try_once(port, events):
        await asyncio.sleep(0.05)
    holder.wait(timeout=10)
    bad = [e for e in events if e not in ("refused", "http 503", "ack")]
    check(events[-1:] == ["ack"], f"a client that keeps trying gets in once the node is ready ({events[-3:]})")
    check(any(e in ("refused", "http 503") for e in events),
          f"during the migration the node turns clients away ({len(events)} visits)")
    check(not bad, f"no client coming during the start sees an error ({bad})")


async def shard_down_start(pg):
    """A node started while one of its two Redis shards is down opens once PostgreSQL is up:
    only the dead shard's rooms pause, as they would later (found by review: it stayed 503)."""
    redis = Redis(free_port())
    dead = free_port()  # nothing listens there
    node = Proc([CHAT, "--host", "127.0.0.1", "--port", "0", "--guests",
                 "--db", os.path.join(tempfile.mkdtemp(prefix="duplex-node-"), "n.db"),
                 "--redis", f"redis://127.0.0.1:{redis.port},redis://127.0.0.1:{dead}",
                 "--pg", pg.url()])
    try:
        line = await asyncio.wait_for(asyncio.to_thread(node.proc.stdout.readline), 15)
    except asyncio.TimeoutError:
        line = ""
    m = re.search(r":(\d+)/", line)
    check(m is not None, f"the node opens with a shard down ({line!r})")
    if m is None:
        return
    port = int(m.group(1))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/healthz")
    check(conn.getresponse().status == 200, "/healthz says ok once the node serves")
    conn.close()
    outcomes = {}
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "hello", "nick": "early"}))
        for i in range(8):
            room = f"room{i}"
            await ws.send(json.dumps({"type": "join", "room": room}))
            got = await gather_until(ws, lambda m: m["type"] in ("joined", "error")
                                     and m.get("room") == room, 5)
            outcomes[room] = got[-1]["type"] if got else "nothing"
    check("joined" in outcomes.values(), f"rooms on the live shard work ({outcomes})")
    check(set(outcomes.values()) <= {"joined", "error"}, f"every join is answered ({outcomes})")


SCENARIOS = {"dm-at-signin": dm_at_signin, "listen-cut": listen_cut, "start-gate": start_gate,
             "shard-down-start": shard_down_start}


def main():
    if SCENARIO not in SCENARIOS:
        print("scenarios:", " ".join(SCENARIOS))
        return 2
    if pg_server.bin_dir() is None:
        print("SKIP:", pg_server.MISSING, flush=True)
        return 77
    pg = pg_server.PgServer()
    try:
        asyncio.run(SCENARIOS[SCENARIO](pg))
    finally:
        stop_all()
        pg.close()
    return summary("pg hardening: " + SCENARIO)


sys.exit(main())
