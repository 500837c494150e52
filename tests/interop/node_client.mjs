// node's ws client against duplex-echo: every message kind and close code.
import WebSocket from 'ws';
import net from 'node:net';
import { readFileSync } from 'node:fs';

const port = Number(process.argv[2]);
const deflate = process.argv[3] === 'deflate';
const ca = process.argv[4];  // a CA file: talk wss:// and verify with it
const scheme = ca ? 'wss' : 'ws';
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

function open(path = '/') {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${scheme}://127.0.0.1:${port}${path}`,
      { perMessageDeflate: deflate, maxPayload: 0, ...(ca ? { ca: readFileSync(ca) } : {}) });
    ws.binaryType = 'nodebuffer';
    ws.once('open', () => {
      const agreed = ws.extensions.includes('permessage-deflate');
      if (agreed !== deflate) failures.push(`permessage-deflate negotiated: ${ws.extensions}`);
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

const next = (ws) => new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data, isBinary })));
const closed = (ws) => new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

async function sizes() {
  const ws = await open();
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 16 * 1024 * 1024]) {
    const text = 'x'.repeat(n);
    ws.send(text);
    let m = await next(ws);
    check(!m.isBinary && m.data.toString() === text, `text of ${n} bytes echoed`);
    const bin = Buffer.alloc(n, 7);
    ws.send(bin);
    m = await next(ws);
    check(m.isBinary && Buffer.compare(m.data, bin) === 0, `binary of ${n} bytes echoed`);
  }
  ws.close();
  await closed(ws);
}

async function fragmentsAndPings() {
  const ws = await open();
  ws.send('frag', { fin: false });
  ws.send('mented', { fin: true });
  const m = await next(ws);
  check(m.data.toString() === 'fragmented', 'fragmented message reassembled');
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('hi');
  check((await pong).toString() === 'hi', 'ping answered with the same payload');
  ws.close();
  await closed(ws);
}

async function closeCodes() {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    const ws = await open();
    const done = closed(ws);
    ws.close(code, 'bye');
    const c = await done;
    check(c.code === code, `close code ${code} echoed (got ${c.code})`);
  }
}

async function abrupt() {
  if (ca) return;  // the raw half-frame below speaks plain TCP
  await new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      s.write(Buffer.from([0x81, 0x85, 0x61, 0x62]));  // half a masked frame, then gone
      setTimeout(() => { s.destroy(); resolve(); }, 50);
    });
  });
  const ws = await open();
  ws.send('still there?');
  check((await next(ws)).data.toString() === 'still there?', 'server serves after an abrupt disconnect');
  ws.close();
  await closed(ws);
}

async function broadcast() {
  const a = await open('/broadcast');
  const b = await open('/broadcast');
  await new Promise((r) => setTimeout(r, 50));
  const pa = next(a), pb = next(b);
  a.send('fan out');
  check((await pa).data.toString() === 'fan out', 'broadcast reaches the sender');
  check((await pb).data.toString() === 'fan out', 'broadcast reaches the others');
  a.close(); b.close();
  await Promise.all([closed(a), closed(b)]);
}

async function tooBig() {
  const ws = await open();
  const done = closed(ws);
  ws.send(Buffer.alloc(16 * 1024 * 1024 + 1));
  check((await done).code === 1009, 'message over the limit closed with 1009');
}

for (const step of [sizes, fragmentsAndPings, closeCodes, abrupt, broadcast, tooBig]) await step();
console.log(failures.length ? `${failures.length} failure(s)` : `node ws interop (${deflate ? 'deflate' : 'no compression'}, ${scheme}): all passed`);
process.exit(failures.length ? 1 : 0);
