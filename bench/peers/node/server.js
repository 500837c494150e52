// node ws peer for duplex-bench: echo on any path, fan-out to every client on /broadcast.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 9000);
const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 });
const subscribers = new Set();

wss.on('connection', (ws, req) => {
  ws._socket.setNoDelay(true);
  const broadcast = req.url === '/broadcast';
  if (broadcast) subscribers.add(ws);
  ws.on('close', () => subscribers.delete(ws));
  ws.on('message', (data, isBinary) => {
    if (!broadcast) return ws.send(data, { binary: isBinary });
    for (const s of subscribers) s.send(data, { binary: isBinary });
  });
});
server.listen({ host: '127.0.0.1', port, backlog: 4096 }, () => {
  console.log(`node-ws listening on ${port}`);
});
