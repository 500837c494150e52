// An echo server on node's ws, for our client. Prints its port.
// Usage: node node_server.mjs [deflate|plain] [CERT KEY]
import { WebSocketServer } from 'ws';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';

const deflate = process.argv[2] === 'deflate';
const [cert, key] = process.argv.slice(3);
let server;
if (cert) {
  const https = createServer({ cert: readFileSync(cert), key: readFileSync(key) });
  server = new WebSocketServer({ server: https, perMessageDeflate: deflate, maxPayload: 0 });
  https.listen(0, '127.0.0.1', () => console.log(https.address().port));
} else {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate, maxPayload: 0 });
  server.on('listening', () => console.log(server.address().port));
}
server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
