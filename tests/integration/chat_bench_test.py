#!/usr/bin/python3
"""`duplex-bench chat` through bench/cluster, briefly: one duplex-chat node on one real
redis-server (no PostgreSQL, to stay quick), guests in rooms of mixed sizes. Messages are
delivered, the latency figures are there and sane, and the node's bytes from Redis are counted.
Loopback only; bench/cluster stops what it started by PID.

Usage: chat_bench_test.py path/to/bin (where duplex-chat and duplex-bench are)
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
from checks import check, summary  # noqa: E402

CLUSTER = os.path.join(HERE, "..", "..", "bench", "cluster")


def refusals():
    """Plans the users cannot fill are refused before any connection, with the reason."""
    bench = os.path.join(sys.argv[1], "duplex-bench")
    out = subprocess.run([bench, "chat", "--url", "ws://127.0.0.1:9/ws", "--users", "5",
                          "--rooms", "3"], capture_output=True, text=True, timeout=10)
    check(out.returncode == 1 and "2 to 1000" in out.stderr,
          "fewer than 2 users per room: refused, " + out.stderr.strip())
    out = subprocess.run([bench, "chat", "--users", "4", "--rooms", "2"],
                         capture_output=True, text=True, timeout=10)
    check(out.returncode == 1 and "--url" in out.stderr, "no --url: refused, " + out.stderr.strip())


def main():
    refusals()
    out = subprocess.run([sys.executable, CLUSTER, "--bin", sys.argv[1], "--nodes", "1",
                          "--shards", "1", "--no-pg", "--users", "40", "--rooms", "6",
                          "--rate", "40", "--warmup", "0.5", "--duration", "2", "--json"],
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0, "bench/cluster ran: " + out.stderr[-500:])
    if out.returncode != 0:
        return summary("chat_bench")
    r = json.loads(out.stdout)
    load = r["load"]
    check(load["joined"] == 40 and load["failed"] == 0, "every user joined")
    check(sorted(load["room_sizes"], reverse=True) == load["room_sizes"]
          and sum(load["room_sizes"]) == 40 and load["room_sizes"][0] > load["room_sizes"][-1],
          f"rooms of mixed sizes, the first the largest: {load['room_sizes']}")
    check(load["sent_window"] > 0 and load["delivered_window"] > 0, "messages were delivered")
    # Every member of the sender's room, the sender included, gets each message once.
    check(load["delivered_window"] == load["expected_window"],
          f"every delivery arrived: {load['delivered_window']} of {load['expected_window']}")
    check(load["acked"] == load["sent"], "every say was acknowledged")
    lat = load["latency_ms"]
    check(0 < lat["p50"] <= lat["p99"] <= lat["p99.9"] < 10000, f"latency figures: {lat}")
    check(load["errors"] == {}, f"no errors: {load['errors']}")
    node = r["nodes"][0]
    check(node["room_messages"] == load["sent_window"], "the one node serves every room")
    # Counted over the window as the node saw it: a message said at either edge may fall on the
    # other side of a scrape.
    check(node["redis_messages_in"] >= 0.8 * node["room_messages"] > 0,
          f"the node read its rooms' messages from Redis: {node['redis_messages_in']} for "
          f"{node['room_messages']}")
    check(node["redis_bytes_in"] > 0, "bytes from Redis are counted")
    return summary("chat_bench")


if __name__ == "__main__":
    sys.exit(main())
