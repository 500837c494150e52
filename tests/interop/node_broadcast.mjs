// node's ws clients subscribed to duplex-echo's /broadcast with and without permessage-deflate
// (context takeover, none, a small window): each receives every broadcast whole.
import WebSocket from 'ws';

const port = Number(process.argv[2]);
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};
const kinds = {
  'plain': false,
  'context takeover': { threshold: 0 },
  'no context takeover': { threshold: 0, serverNoContextTakeover: true },
  'no context, 10-bit window': { threshold: 0, serverNoContextTakeover: true, serverMaxWindowBits: 10 },
};

function open(deflate) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/broadcast`, { perMessageDeflate: deflate, maxPayload: 0 });
    ws.binaryType = 'nodebuffer';
    const got = [];
    ws.on('message', (data, isBinary) => got.push(isBinary ? data : data.toString()));
    ws.once('open', () => resolve({ ws, got }));
    ws.once('error', reject);
  });
}

function messages() {
  let x = 16;
  const rnd = () => (x = (x * 1103515245 + 12345) >>> 0) >>> 16;
  const out = [];
  for (const n of [5, 40, 300, 5000, 70000]) {
    let t = '';
    while (t.length < n) t += ['alice ', 'said ', 'ok ', 'é '][rnd() % 4];
    out.push(t, t);
  }
  for (const n of [50, 3000]) out.push(Buffer.from(Array.from({ length: n }, () => rnd() & 255)));
  return out;
}

const clients = {};
for (const [name, deflate] of Object.entries(kinds)) {
  clients[name] = await open(deflate);
  check(clients[name].ws.extensions.includes('permessage-deflate') === (deflate !== false),
    `${name}: extensions ${JSON.stringify(clients[name].ws.extensions)}`);
}
const sent = messages();
for (const m of sent) clients.plain.ws.send(m);
const deadline = Date.now() + 10000;
while (Date.now() < deadline && Object.values(clients).some((c) => c.got.length < sent.length))
  await new Promise((r) => setTimeout(r, 20));
for (const [name, c] of Object.entries(clients)) {
  const same = c.got.length === sent.length &&
    c.got.every((g, i) => (Buffer.isBuffer(g) ? Buffer.isBuffer(sent[i]) && g.equals(sent[i]) : g === sent[i]));
  check(same, `${name}: ${sent.length} broadcasts received whole and in order`);
  c.ws.close();
}
console.log(failures.length ? `node_broadcast: ${failures.length} check(s) failed` : 'node_broadcast: all passed');
process.exit(failures.length ? 1 : 0);
