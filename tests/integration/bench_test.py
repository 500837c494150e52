#!/usr/bin/python3
"""duplex-bench against duplex-echo: every mode runs briefly and reports figures that make sense
(traffic flowed, no errors, the server's CPU and memory were read). Loopback only, bounded.

Usage: bench_test.py path/to/duplex-echo path/to/duplex-bench
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

ECHO, BENCH = sys.argv[1], sys.argv[2]


def bench(port, pid, *args):
    out = subprocess.run([BENCH, *args, "--port", str(port), "--pid", str(pid), "--json",
                          "--quiet", "--warmup", "0.1", "--duration", "0.5"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        print(out.stderr)
        return {}
    return json.loads(out.stdout)


def start_echo(*extra):
    server = subprocess.Popen([ECHO, "--host", "127.0.0.1", "--port", "0", "--no-deflate", *extra],
                              stdout=subprocess.PIPE, text=True)
    return server, int(re.search(r":(\d+)/", server.stdout.readline()).group(1))


def tls_checks(plain_port):
    """--tls: wss echo and large messages flow, and a plain server is not taken for a wss one."""
    tmp = tempfile.TemporaryDirectory()
    cert, key = os.path.join(tmp.name, "cert.pem"), os.path.join(tmp.name, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=duplex-test", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    server, port = start_echo("--cert", cert, "--key", key)
    try:
        r = bench(port, server.pid, "echo", "--tls", "-c", "20", "-k", "4", "-s", "100")
        check(r.get("messages_per_sec", 0) > 1000 and r.get("errors") == 0,
              "echo --tls: messages flowed over wss")
        check(r.get("tls", "").startswith("TLSv1."), "echo --tls: the protocol is reported")
        check(abs(r.get("mb_per_sec", 0) * 1e6 / r.get("messages_per_sec", 1) - 100) < 1,
              "echo --tls: bytes per message match the payload size")
        r = bench(port, server.pid, "large", "--tls", "-s", "1048576")
        check(r.get("mb_per_sec", 0) > 10 and r.get("errors") == 0,
              "large --tls: 1 MiB messages flowed over wss")
        r = bench(port, server.pid, "handshake", "--tls", "-c", "4")
        check(r.get("handshakes_per_sec", 0) > 10 and r.get("errors") == 0,
              "handshake --tls: TLS, upgrade and close cycles completed")
    finally:
        server.terminate()
        server.wait(timeout=10)
    bad = subprocess.run([BENCH, "echo", "--tls", "-c", "2", "--port", str(plain_port),
                          "--quiet", "--duration", "0.2"], capture_output=True, text=True,
                         timeout=90)
    check(bad.returncode != 0 and "did not accept" in bad.stderr,
          "--tls against a plain server is reported, not measured")
    both = subprocess.run([BENCH, "echo", "--tls", "--raw", "--port", str(plain_port)],
                          capture_output=True, text=True, timeout=30)
    check(both.returncode != 0, "--tls and --raw are refused together")


def main():
    server, port = start_echo()
    try:
        # First, on a fresh process: later loads leave freed memory that idle sockets reuse.
        r = bench(port, server.pid, "idle", "-c", "500", "--hold", "0.2")
        check(r.get("bytes_per_connection", 0) > 0 and r.get("errors") == 0,
              "idle: the server's resident memory grew with its sockets")
        r = bench(port, server.pid, "echo", "-c", "20", "-k", "4", "-s", "100")
        check(r.get("messages_per_sec", 0) > 1000, "echo: messages flowed")
        check(r.get("errors") == 0, "echo: no errors")
        check(r.get("server_cpu_seconds", 0) > 0, "echo: the server's CPU time was read")
        check(0 < r.get("latency_us", {}).get("p50", 0) <= r["latency_us"]["p99"],
              "echo: latency percentiles are ordered")
        check(abs(r.get("mb_per_sec", 0) * 1e6 / r.get("messages_per_sec", 1) - 100) < 1,
              "echo: bytes per message match the payload size")

        r = bench(port, server.pid, "echo", "--binary", "-c", "2", "-s", "70000")
        check(r.get("messages_per_sec", 0) > 10 and r.get("errors") == 0,
              "echo: 64-bit length frames flow")

        r = bench(port, server.pid, "fanout", "--path", "/broadcast", "-c", "50", "-k", "4")
        check(r.get("messages_per_sec", 0) > 1000 and r.get("errors") == 0,
              "fanout: deliveries flowed")

        r = bench(port, server.pid, "handshake", "-c", "4")
        check(r.get("handshakes_per_sec", 0) > 100 and r.get("errors") == 0,
              "handshake: connect, upgrade and close cycles completed")

        r = bench(port, server.pid, "large", "-s", "262144")
        check(r.get("mb_per_sec", 0) > 10 and r.get("errors") == 0, "large: bytes flowed")


        bad = subprocess.run([BENCH, "echo", "--port", "1", "--quiet", "--duration", "0.2"],
                             capture_output=True, text=True, timeout=90)
        check(bad.returncode != 0 and "did not accept" in bad.stderr,
              "a refused connection is reported, not measured")

        tls_checks(port)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return summary("duplex-bench")


sys.exit(main())
