// An echo server on node's ws, for our client. Prints its port.
// Usage: node node_server.mjs [deflate]
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: process.argv[2] === 'deflate', maxPayload: 0 });
server.on('listening', () => console.log(server.address().port));
server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
