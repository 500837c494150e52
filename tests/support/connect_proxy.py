#!/usr/bin/python3
"""A small HTTP CONNECT proxy on 127.0.0.1 for the client's tests.

Prints its port on the first line of stdout, then serves until killed. It tunnels only to
loopback addresses. Each CONNECT request line is appended to --log. --answer makes it
misbehave: 502, garbage, extra (bytes after the 200), close (no answer at all).
"""
import argparse
import asyncio
import base64
import sys

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--auth", help="user:password that Proxy-Authorization must carry")
    p.add_argument("--answer", default="ok", choices=["ok", "502", "garbage", "extra", "close"])
    p.add_argument("--log", required=True)
    return p.parse_args()


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


def split_authority(authority):
    if authority.startswith("["):
        host, _, port = authority[1:].partition("]:")
    else:
        host, _, port = authority.rpartition(":")
    return host, int(port)


async def handle(args, reader, writer):
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    with open(args.log, "a") as log:
        log.write(lines[0] + "\n")
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    method, authority, _ = (lines[0].split(" ") + ["", "", ""])[:3]
    if args.auth:
        want = "Basic " + base64.b64encode(args.auth.encode()).decode()
        if fields.get("proxy-authorization") != want:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
    answers = {
        "502": b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
        "garbage": b"SSH-2.0-not-a-proxy\r\n\r\n",
        "extra": b"HTTP/1.1 200 Connection Established\r\n\r\nsurprise",
    }
    if args.answer == "close":
        writer.close()
        return
    if args.answer in answers:
        writer.write(answers[args.answer])
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        return
    host, port = split_authority(authority)
    if method != "CONNECT" or host not in LOOPBACK:
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
    await writer.drain()
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def main():
    args = parse_args()
    server = await asyncio.start_server(lambda r, w: handle(args, r, w), "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
