#!/usr/bin/python3
"""Our client (duplex-cat) against a peer's echo server: every line comes back unchanged.

Usage: with_peer_server.py DUPLEX_CAT deflate|plain|tls -- SERVER_COMMAND...
The server prints its port on its first line; it is stopped by its PID at the end. With tls, a
self-signed certificate is made, "{cert}" and "{key}" in the server command name it, and the
client talks wss:// and verifies with it (compression on).
"""
import os
import signal
import subprocess
import sys
import tempfile


def main():
    cat, mode = sys.argv[1], sys.argv[2]
    server_cmd = sys.argv[sys.argv.index("--") + 1:]
    tmp = tempfile.TemporaryDirectory()
    cert, key = os.path.join(tmp.name, "cert.pem"), os.path.join(tmp.name, "key.pem")
    if mode == "tls":
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=duplex-test", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], check=True, capture_output=True)
    server_cmd = [c.replace("{cert}", cert).replace("{key}", key) for c in server_cmd]
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip())
        lines = ["hello", "", "unicode ✓ 你好", "x" * 70000, "{\"json\": [1, 2, 3]}", "end"]
        scheme = "wss" if mode == "tls" else "ws"
        args = [cat, "-v", f"{scheme}://127.0.0.1:{port}/"] + (["--no-deflate"] if mode == "plain" else [])
        if mode == "tls":
            args += ["--ca", cert]
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
    if agreed != (mode != "plain"):
        failures.append(f"compression agreed: {agreed}, expected {mode}: {run.stderr.strip()}")
    for f in failures:
        print("FAIL " + f)
    print("ok   our client against " + " ".join(server_cmd[-2:]) if not failures else "")
    return 1 if failures else 0


sys.exit(main())
