# Python websockets peer for duplex-bench: echo on any path, fan-out on /broadcast.
import asyncio
import sys

import websockets

subscribers = set()


async def handler(ws, path=None):
    path = path if path is not None else ws.path
    if path != "/broadcast":
        async for message in ws:
            await ws.send(message)
        return
    subscribers.add(ws)
    try:
        async for message in ws:
            websockets.broadcast(subscribers, message)
    finally:
        subscribers.discard(ws)


async def main(port):
    async with websockets.serve(handler, "127.0.0.1", port, compression=None,
                                max_size=64 << 20, backlog=4096):
        print(f"python-websockets listening on {port}", flush=True)
        await asyncio.Future()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000))
