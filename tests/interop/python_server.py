#!/usr/bin/python3
"""An echo server on Debian's python3-websockets, for our client. Prints its port.

Usage: python_server.py [deflate|plain] [CERT KEY]
"""
import asyncio
import sys

import websockets


async def echo(ws, path=None):
    async for message in ws:
        await ws.send(message)


async def main():
    compression = "deflate" if len(sys.argv) > 1 and sys.argv[1] == "deflate" else None
    ssl_context = None
    if len(sys.argv) > 3:
        import ssl
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(sys.argv[2], sys.argv[3])
    async with websockets.serve(echo, "127.0.0.1", 0, compression=compression, max_size=None,
                                ssl=ssl_context) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
