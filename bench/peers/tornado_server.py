# Tornado peer for duplex-bench: echo on any path, fan-out on /broadcast, as in the seed note's
# chat room.
import asyncio
import sys

import tornado.web
import tornado.websocket

subscribers = set()


class Echo(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class Broadcast(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def open(self):
        subscribers.add(self)

    def on_close(self):
        subscribers.discard(self)

    def on_message(self, message):
        binary = isinstance(message, bytes)
        for s in list(subscribers):
            try:
                s.write_message(message, binary=binary)
            except tornado.websocket.WebSocketClosedError:
                subscribers.discard(s)


async def main(port):
    app = tornado.web.Application([(r"/broadcast", Broadcast), (r"/.*", Echo)],
                                  websocket_max_message_size=64 << 20)
    app.listen(port, address="127.0.0.1", backlog=4096)
    print(f"tornado listening on {port}", flush=True)
    await asyncio.Event().wait()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000))
