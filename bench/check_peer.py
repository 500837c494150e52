#!/usr/bin/python3
"""Checks that a benchmark peer means what the harness measures: "/" echoes every message with
its bytes and type (text, binary, 1 MiB), and "/broadcast" delivers each message once to every
subscriber, the sender included. bench/run runs it on each WebSocket peer before measuring.

Usage: bench/check_peer.py PORT [--tls]   (exit 0 when every check passes)
Loopback only; every wait is bounded.
"""
import argparse
import asyncio
import os
import ssl
import sys

import websockets

TIMEOUT = 5


async def echo_checks(base, tls):
    async with websockets.connect(base + "/", ssl=tls, max_size=None, compression=None) as ws:
        for message in ["hello, peer", os.urandom(70000), os.urandom(1 << 20)]:
            await ws.send(message)
            back = await asyncio.wait_for(ws.recv(), TIMEOUT)
            kind = "text" if isinstance(message, str) else f"{len(message)}-byte binary"
            if back != message:
                return f"echo: a {kind} message came back different"
    return None


async def broadcast_checks(base, tls, subscribers=3):
    socks = [await websockets.connect(base + "/broadcast", ssl=tls, compression=None)
             for _ in range(subscribers)]
    try:
        await asyncio.sleep(0.2)  # every subscription is in before the publish
        await socks[0].send("to everyone")
        for i, ws in enumerate(socks):
            try:
                got = await asyncio.wait_for(ws.recv(), TIMEOUT)
            except asyncio.TimeoutError:
                who = "the sender" if i == 0 else f"subscriber {i}"
                return f"broadcast: {who} received nothing in {TIMEOUT} s"
            if got != "to everyone":
                return f"broadcast: subscriber {i} received {got!r}"
        for i, ws in enumerate(socks):
            try:
                extra = await asyncio.wait_for(ws.recv(), 0.2)
                return f"broadcast: subscriber {i} received a second message {extra!r}"
            except asyncio.TimeoutError:
                pass
    finally:
        for ws in socks:
            await ws.close()
    return None


async def check(port, use_tls):
    tls = None
    if use_tls:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls.check_hostname = False
        tls.verify_mode = ssl.CERT_NONE  # the harness's throwaway self-signed certificate
    base = f"{'wss' if use_tls else 'ws'}://127.0.0.1:{port}"
    return await echo_checks(base, tls) or await broadcast_checks(base, tls)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("port", type=int)
    p.add_argument("--tls", action="store_true", help="wss://, certificate not verified")
    args = p.parse_args()
    try:
        failure = asyncio.run(asyncio.wait_for(check(args.port, args.tls), 30))
    except Exception as e:  # a refused upgrade, a closed socket, a timeout: all are failures
        failure = f"{type(e).__name__}: {e}"
    if failure:
        print(f"check_peer: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
