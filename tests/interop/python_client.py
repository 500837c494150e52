#!/usr/bin/python3
"""Debian's python3-websockets client against duplex-echo: every message kind and close code."""
import asyncio
import os
import sys

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, failures, summary  # noqa: E402

PORT = int(sys.argv[1])
COMPRESSION = "deflate" if len(sys.argv) > 2 and sys.argv[2] == "deflate" else None
CA = sys.argv[3] if len(sys.argv) > 3 else None  # a CA file: talk wss:// and verify with it
SCHEME = "wss" if CA else "ws"
URL = f"{SCHEME}://127.0.0.1:{PORT}/"
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 16 * 1024 * 1024]
VALID_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
                     3000, 3999, 4000, 4999]


async def connect(path="/"):
    ssl_context = None
    if CA:
        import ssl
        ssl_context = ssl.create_default_context(cafile=CA)
    ws = await websockets.connect(f"{SCHEME}://127.0.0.1:{PORT}{path}", max_size=None, ssl=ssl_context,
                                  compression=COMPRESSION, open_timeout=5, close_timeout=5)
    agreed = ws.response_headers.get("Sec-WebSocket-Extensions")
    if (agreed is not None) != (COMPRESSION is not None):
        failures.append(f"permessage-deflate negotiated: {agreed!r}")
    return ws


async def sizes():
    ws = await connect()
    for n in SIZES:
        text = "é" * (n // 2) + "a" * (n % 2)
        await ws.send(text)
        check(await ws.recv() == text, f"text of {len(text.encode())} bytes echoed")
        data = bytes(i % 251 for i in range(n))
        await ws.send(data)
        check(await ws.recv() == data, f"binary of {n} bytes echoed")
    await ws.close()


async def fragments_and_pings():
    ws = await connect()
    await ws.send(["frag", "mented ", "text ✓"])
    check(await ws.recv() == "fragmented text ✓", "fragmented text message reassembled")
    await ws.send([b"\x00\x01", b"", b"\x02"])
    check(await ws.recv() == b"\x00\x01\x02", "fragmented binary message reassembled")
    pong = await ws.ping(b"payload")
    await asyncio.wait_for(pong, 5)
    check(True, "ping answered with pong")
    await ws.close()


async def close_codes():
    for code in VALID_CLOSE_CODES:
        ws = await connect()
        await ws.close(code, "reason")
        check(ws.close_code == code, f"close code {code} echoed (got {ws.close_code})")


async def too_big():
    ws = await connect()
    await ws.send(b"x" * (16 * 1024 * 1024 + 1))
    try:
        await asyncio.wait_for(ws.recv(), 10)
        check(False, "message over the limit refused")
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1009, f"16 MiB + 1 closed with 1009 ({e.rcvd})")


async def abrupt():
    if CA:  # the raw-socket half-frame below speaks plain TCP
        return
    # A raw socket that upgrades, sends half a frame and vanishes.
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                 b"\x81\xfe\x01\x00abcd0123")
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    writer.transport.abort()
    ws = await connect()  # the server keeps serving
    await ws.send("after an abrupt disconnect")
    check(await ws.recv() == "after an abrupt disconnect", "server serves after an abrupt disconnect")
    await ws.close()


async def broadcast():
    a = await connect("/broadcast")
    b = await connect("/broadcast")
    await asyncio.sleep(0.05)
    await a.send("to all")
    check(await asyncio.wait_for(a.recv(), 5) == "to all", "broadcast reaches the sender")
    check(await asyncio.wait_for(b.recv(), 5) == "to all", "broadcast reaches the others")
    await a.close()
    await b.close()


async def main():
    for step in (sizes, fragments_and_pings, close_codes, too_big, abrupt, broadcast):
        await step()
    return summary(f"python websockets interop ({COMPRESSION or 'no compression'}, {SCHEME})")


sys.exit(asyncio.run(main()))
