#!/usr/bin/python3
"""Runs a client command against a fresh duplex-echo on a free loopback port.

Usage: with_echo.py ECHO_BINARY [--tls] [ECHO_ARGS...] -- CLIENT_COMMAND...
"{port}" in the client command is replaced with the server's port. With --tls, a self-signed
certificate for 127.0.0.1 is made, the server serves wss://, and "{ca}" names the certificate. After the client ends, the
server gets SIGTERM and must exit cleanly within five seconds; the result is the client's, or a
failure if the server did not stop cleanly.
"""
import re
import signal
import os
import subprocess
import sys
import tempfile

def main():
    split = sys.argv.index("--")
    server_cmd = sys.argv[1:split] + ["--host", "127.0.0.1", "--port", "0"]
    client_cmd = sys.argv[split + 1:]
    tmp = tempfile.TemporaryDirectory()
    ca = os.path.join(tmp.name, "cert.pem")
    if "--tls" in server_cmd:
        server_cmd.remove("--tls")
        key = os.path.join(tmp.name, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "1", "-subj", "/CN=duplex-test", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", ca],
                       check=True, capture_output=True)
        server_cmd += ["--cert", ca, "--key", key]
    client_cmd = [c.replace("{ca}", ca) for c in client_cmd]
    server = subprocess.Popen(server_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)/", line)
        if not match:
            print("server did not report its port:", line, server.stderr.read(), file=sys.stderr)
            return 1
        port = match.group(1)
        client = subprocess.run([c.replace("{port}", port) for c in client_cmd], timeout=300)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            print("duplex-echo did not stop within 5 s of SIGTERM", file=sys.stderr)
            return 1
    sys.stderr.write(server.stderr.read())
    if server.returncode != 0:
        print(f"duplex-echo exited with {server.returncode}", file=sys.stderr)
        return 1
    return client.returncode

if __name__ == "__main__":
    sys.exit(main())
