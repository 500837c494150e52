#!/usr/bin/python3
"""GET /metrics of duplex-chat: Prometheus' text format (read by a strict parser), counters that
move with traffic (messages, appends and their latency, rate limits, closes), the Redis link's
state and reconnects, and who may read it (loopback by default, --metrics-from otherwise; 404
for anyone else). One node on SQLite, then one on a real redis-server, on loopback ports.

Usage: metrics_test.py path/to/duplex-chat
"""
import asyncio
import json
import socket
import subprocess
import sys

import websockets

from cluster import Client, Node, Redis, free_port, stop_all, until
from checks import check, summary  # noqa: E402  (tests/support, on the path once cluster is in)
import prometheus_text

CHAT = sys.argv[1]


def scrape(node):
    status, body = node.get("/metrics")
    if status != 200:
        return None
    try:
        return prometheus_text.parse(body)
    except ValueError as e:
        check(False, f"/metrics parses: {e}")
        return None


def value(samples, name, **labels):
    return samples.get((name, tuple(labels.items())), 0)


def parser_is_strict():
    good = "# HELP a_total A.\n# TYPE a_total counter\na_total 1\n"
    bad = [good[:-1], good + "a_total 2\n", "a_total 1\n", good.replace(" 1\n", " x\n"),
           good + "# TYPE b gauge\nb 1\na_total{x=\"1\"} 1\n", good.replace("a_total 1", 'a_total{x="\\q"} 1'),
           "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"]
    refused = 0
    for text in bad:
        try:
            prometheus_text.parse(text)
        except ValueError:
            refused += 1
    check(prometheus_text.parse(good) == {("a_total", ()): 1.0} and refused == len(bad),
          f"the test's parser is strict: refuses {refused} of {len(bad)} malformed texts")


async def traffic_moves_counters():
    node = Node(CHAT)
    before = scrape(node)
    check(before is not None and "version=0.0.4" in node.last_head,
          "/metrics answers loopback in text format 0.0.4, and it parses")
    check(value(before, "duplex_chat_uptime_seconds") > 0 and
          value(before, "duplex_chat_store_append_seconds_count") == 0,
          "uptime is there; no append yet")
    alice, bob = Client("alice"), Client("bob")
    await alice.connect(node)
    await bob.connect(node)
    await until(lambda: "alice" in bob.members and "bob" in alice.members, 5)
    await alice.talk(3, "m")
    await until(lambda: len(bob.seen) >= 3 and len(alice.acks) == 3, 5)
    mid = scrape(node)
    check(value(mid, "duplex_chat_store_appends_total", result="ok") == 3
          and value(mid, "duplex_chat_store_append_seconds_count") == 3
          and value(mid, "duplex_chat_store_append_seconds_bucket", le="+Inf") == 3,
          "three sends: three appends ok, three latencies in the histogram")
    check(value(mid, "duplex_chat_messages_in_total") >= value(before, "duplex_chat_messages_in_total") + 7
          and value(mid, "duplex_chat_messages_out_total") >= 6
          and value(mid, "duplex_chat_clients") == 2 and value(mid, "duplex_chat_connections") >= 2,
          "messages received and delivered counted; two clients, their connections open")
    # A burst past the bucket (20): some are refused with rate_limited.
    for i in range(30):
        await alice.ws.send(json.dumps({"type": "say", "room": "lobby", "text": f"burst{i}"}))
    await until(lambda: "rate_limited" in alice.errors, 5)
    await bob.ws.close(code=1000)
    await bob.reader
    await until(lambda: value(scrape(node) or {}, "duplex_chat_closes_total", code="1000") >= 1, 5)
    after = scrape(node)
    check(value(after, "duplex_chat_rate_limited_total") >= 1 and "rate_limited" in alice.errors,
          "a burst past the rate limit is counted")
    check(value(after, "duplex_chat_closes_total", code="1000") >= 1
          and value(after, "duplex_chat_clients") == 1, "a close is counted by its code")
    check(("duplex_chat_redis_up", ()) not in after, "a node on SQLite exports no Redis link")
    await alice.close()
    node.stop()


async def redis_link_state():
    redis = Redis(free_port())
    node = Node(CHAT, redis.port)
    first = scrape(node)
    check(await until(lambda: value(scrape(node), "duplex_chat_redis_up") == 1, 5)
          and value(first, "duplex_chat_redis_reconnects_total") == 0,
          "--redis: the link is up, no reconnect yet")
    redis.kill9()
    check(await until(lambda: value(scrape(node), "duplex_chat_redis_up") == 0, 5),
          "Redis killed: duplex_chat_redis_up falls to 0")
    redis = Redis(redis.port)
    check(await until(lambda: value(scrape(node), "duplex_chat_redis_up") == 1, 10)
          and value(scrape(node), "duplex_chat_redis_reconnects_total") >= 1,
          "Redis back: the link is up again, and the reconnect is counted")
    node.stop()
    redis.stop()


def who_may_read():
    status, _ = Node(CHAT, extra=["--metrics-from", "192.0.2.0/24"]).get("/metrics")
    other = Node(CHAT, extra=["--metrics-from", "192.0.2.0/24", "--metrics-from", "127.0.0.1"])
    check(status == 404, f"a peer outside --metrics-from gets 404 (got {status})")
    check(other.get("/metrics")[0] == 200 and other.get("/healthz")[0] == 200,
          "a peer inside one of several --metrics-from ranges gets the metrics")
    bad = subprocess.run([CHAT, "--port", "0", "--metrics-from", "example.com"],
                         capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "example.com" in bad.stderr + bad.stdout,
          "--metrics-from with no address or range is refused at start, naming it")


def get_forwarded(node, path, forwarded_for=None):
    """The status of a GET from 127.0.0.1, as nginx on the same host sends it."""
    extra = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n"
                  .encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split()[1])


def behind_a_proxy():
    """nginx on the same host: every request comes from 127.0.0.1, the client is in
    X-Forwarded-For."""
    plain = Node(CHAT)
    check(get_forwarded(plain, "/metrics", "203.0.113.9") == 404,
          "without --trusted-proxy, a forwarded request from loopback is not taken for loopback")
    check(get_forwarded(plain, "/metrics") == 200, "a direct local scraper still reads /metrics")
    trusting = Node(CHAT, extra=["--trusted-proxy", "127.0.0.1"])
    check(get_forwarded(trusting, "/metrics", "203.0.113.9") == 404,
          "with --trusted-proxy 127.0.0.1, the forwarded client outside --metrics-from gets 404")
    check(get_forwarded(trusting, "/metrics", "127.0.0.1") == 200,
          "and a forwarded client on loopback reads /metrics")
    scraper = Node(CHAT, extra=["--trusted-proxy", "127.0.0.0/8", "--metrics-from", "203.0.113.0/24"])
    check(get_forwarded(scraper, "/metrics", "203.0.113.9") == 200,
          "--metrics-from is matched against the client the trusted proxy names")
    check(get_forwarded(scraper, "/metrics", "198.51.100.1, 203.0.113.9") == 200,
          "the rightmost untrusted hop is the client (a forged left part is ignored)")
    check(get_forwarded(scraper, "/metrics", "203.0.113.9, 198.51.100.1") == 404,
          "a client outside the range behind a forged allowed address gets 404")
    bad = subprocess.run([CHAT, "--port", "0", "--trusted-proxy", "not-an-address"],
                         capture_output=True, text=True, timeout=10)
    check(bad.returncode != 0 and "not-an-address" in bad.stderr + bad.stdout,
          "--trusted-proxy with no address or range is refused at start, naming it")


def main():
    try:
        parser_is_strict()
        asyncio.run(traffic_moves_counters())
        asyncio.run(redis_link_state())
        who_may_read()
        behind_a_proxy()
    finally:
        stop_all()
    return summary("metrics")


sys.exit(main())
