#!/usr/bin/python3
"""Our client (duplex-cat) against a peer's echo server: every line comes back unchanged.

Usage: with_peer_server.py DUPLEX_CAT deflate|plain -- SERVER_COMMAND...
The server prints its port on its first line; it is stopped by its PID at the end.
"""
import signal
import subprocess
import sys


def main():
    cat, mode = sys.argv[1], sys.argv[2]
    server_cmd = sys.argv[sys.argv.index("--") + 1:]
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip())
        lines = ["hello", "", "unicode ✓ 你好", "x" * 70000, "{\"json\": [1, 2, 3]}", "end"]
        args = [cat, "-v", f"ws://127.0.0.1:{port}/"] + ([] if mode == "deflate" else ["--no-deflate"])
        run = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    failures = []
    if run.returncode != 0:
        failures.append(f"duplex-cat exited with {run.returncode}: {run.stderr}")
    if run.stdout.split("\n")[:-1] != lines:
        failures.append("echoed lines differ")
    agreed = "permessage-deflate" in run.stderr
    if agreed != (mode == "deflate"):
        failures.append(f"compression agreed: {agreed}, expected {mode}: {run.stderr.strip()}")
    for f in failures:
        print("FAIL " + f)
    print("ok   our client against " + " ".join(server_cmd[-2:]) if not failures else "")
    return 1 if failures else 0


sys.exit(main())
