#!/usr/bin/python3
"""Debian's python3-websockets clients subscribed to duplex-echo's /broadcast with and without
permessage-deflate (context takeover, none, a small window): each receives every broadcast whole,
whether it came compressed once for its window, by its own compressor, or plain."""
import asyncio
import os
import random
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from checks import check, summary  # noqa: E402

PORT = int(sys.argv[1])
URL = f"ws://127.0.0.1:{PORT}/broadcast"
KINDS = {
    "plain": [],
    "context takeover": [ClientPerMessageDeflateFactory(client_max_window_bits=True)],
    "no context takeover": [ClientPerMessageDeflateFactory(server_no_context_takeover=True)],
    "no context, 10-bit window": [ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, server_max_window_bits=10)],
}


def messages():
    rng = random.Random(16)
    out = []
    for n in (5, 40, 300, 5000, 70000):
        text = "".join(rng.choice(["alice ", "said ", "ok ", "é "]) for _ in range(n // 4))
        out += [text, text]
    out += [bytes(rng.randrange(256) for _ in range(n)) for n in (50, 3000)]
    return out


async def main():
    clients = {}
    for name, ext in KINDS.items():
        clients[name] = await websockets.connect(URL, max_size=None, extensions=ext,
                                                 compression=None, open_timeout=5)
        agreed = clients[name].response_headers.get("Sec-WebSocket-Extensions")
        check((agreed is not None) == bool(ext), f"{name}: extensions {agreed!r}")
    sent = messages()
    sender = clients["plain"]
    for m in sent:
        await sender.send(m)
    for name, ws in clients.items():
        got = [await asyncio.wait_for(ws.recv(), 10) for _ in sent]
        check(got == sent, f"{name}: {len(sent)} broadcasts received whole and in order")
    for ws in clients.values():
        await ws.close()


asyncio.run(main())
sys.exit(summary("python_broadcast"))
