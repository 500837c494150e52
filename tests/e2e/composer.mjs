// The composer in Debian's Chromium (issue 14, item 1), two people: Enter sends and Shift+Enter
// breaks the line, pasted lines stay lines, the counter is in bytes and a text over the limit
// stays with its error; a send whose answers were lost is settled after a forced reconnect and
// arrives once, a say frame resent twice by the network is stored once, a text typed while the
// socket was down in a room without history is sent after the reconnect, and a socket ended
// for good shows "not sent" rather than "sending…" forever; a send lost just before a reload is
// sent by the reloaded page, once.
//
// Usage: node composer.mjs path/to/duplex-chat output-dir
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-composer-'));
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

function startChat() {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--db', path.join(dir, 'chat.db'), '--guests']);
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.stdout.once('data', (d) => {
      const m = /:(\d+)\//.exec(d.toString());
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('no port in ' + d));
    });
    proc.once('error', reject);
  });
}
const stopped = (proc) => new Promise((r) => proc.once('exit', r));

// Every socket of the page goes through here: `net` says what the network does to it.
function routed(page, net) {
  return page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    net.sockets.push({ ws, server });
    ws.onMessage((m) => {
      if (net.dropSays && m.includes('"say"')) return;
      server.send(m);
      if (net.doubleSays && m.includes('"say"')) server.send(m);
    });
    server.onMessage((m) => { if (!net.deaf) ws.send(m); });
  });
}

async function enter(context, url, nick, net) {
  const page = await context.newPage();
  page.on('pageerror', (e) => failures.push('page error: ' + e.message));
  if (net) await routed(page, net);
  await page.goto(url);
  await page.fill('#nick', nick);
  await page.press('#nick', 'Enter');
  await page.waitForSelector('#status.online', { timeout: 8000 });
  await page.waitForSelector('#rooms li[data-room="general"]', { timeout: 8000 });
  return page;
}

const texts = (page, t) => page.$$eval('#messages .msg:not(.pending):not(.failed) .text', (els, want) =>
  els.filter((e) => e.textContent === want).length, t);
const waitText = (page, t) => page.waitForFunction((want) =>
  [...document.querySelectorAll('#messages .msg:not(.pending) .text')].some((e) => e.textContent === want), t, { timeout: 8000 });
const settled = (page) => page.waitForFunction(() => !document.querySelector('#messages .msg.pending'), null, { timeout: 8000 });
async function switchRoom(page, name) {
  await page.fill('#room-input', name);
  await page.press('#room-input', 'Enter');
  await page.waitForSelector(`#rooms li.current[data-room="${name}"]`, { timeout: 5000 });
}
// Closes the page's socket as a network failure would (or with `code`), and waits for the next.
async function cut(net, code) {
  const n = net.sockets.length;
  const { ws, server } = net.sockets[n - 1];
  await ws.close(code ? { code, reason: 'test' } : { code: 1006 }).catch(() => {});
  await server.close().catch(() => {});
  return n;
}

const { proc, port } = await startChat();
const url = `http://127.0.0.1:${port}/`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const net = { sockets: [], deaf: false, dropSays: false, doubleSays: false };
  const alice = await enter(await browser.newContext(), url, 'alice', net);
  const bob = await enter(await browser.newContext(), url, 'bob');

  // Lines: Shift+Enter breaks the line, Enter sends; pasted lines stay lines.
  await alice.click('#text');
  await alice.keyboard.type('first line');
  await alice.keyboard.press('Shift+Enter');
  await alice.keyboard.type('second line');
  check(await alice.inputValue('#text') === 'first line\nsecond line', 'Shift+Enter breaks the line, it does not send');
  await alice.keyboard.press('Enter');
  await waitText(bob, 'first line\nsecond line');
  const shown = await bob.$eval('#messages .msg:last-child .text', (e) => ({ ws: getComputedStyle(e).whiteSpace, h: e.getBoundingClientRect().height }));
  check(shown.ws === 'pre-wrap', 'a message keeps its lines (white-space: pre-wrap)');
  await alice.fill('#text', 'pasted one\npasted two\npasted three');
  await alice.press('#text', 'Enter');
  await waitText(bob, 'pasted one\npasted two\npasted three');
  check(await alice.inputValue('#text') === '', 'the composer is empty once sent');
  await alice.fill('#text', '<img src=x onerror=alert(1)>');
  await alice.press('#text', 'Enter');
  await waitText(bob, '<img src=x onerror=alert(1)>');
  check(await bob.$$eval('#messages img', (e) => e.length) === 0, 'markup stays text');

  // Bytes, not characters: 3000 × é is 6000 bytes, refused before sending, and kept.
  const long = 'é'.repeat(3000);
  await alice.fill('#text', long);
  check((await alice.textContent('#text-count')).includes('6000 / 4096 bytes'), 'the counter counts UTF-8 bytes');
  check(await alice.$eval('#text-count', (e) => e.classList.contains('over')), 'the counter shows the text is over');
  await alice.press('#text', 'Enter');
  await alice.waitForTimeout(4500);  // the old notice vanished after 4 s
  check(await alice.inputValue('#text') === long, 'a text over the limit stays in the composer');
  check((await alice.textContent('#text-error')).includes('4096 bytes'), 'its error stays visible until the user acts');
  await alice.press('#text', 'Backspace');
  check(await alice.textContent('#text-error') === '', 'the error goes when the user edits');
  await alice.fill('#text', '');

  // A send whose message and ack were lost with the socket: settled after the reconnect, once.
  net.deaf = true;
  await alice.fill('#text', 'answers lost');
  await alice.press('#text', 'Enter');
  await waitText(bob, 'answers lost');
  check(await alice.$$eval('#messages .msg.pending', (e) => e.length) === 1, 'unanswered, the send is pending');
  const before = await cut(net);
  net.deaf = false;
  await alice.waitForFunction((n) => document.querySelector('#status.online') && true, before, { timeout: 15000 });
  await waitText(alice, 'answers lost');
  await settled(alice);
  check(await texts(alice, 'answers lost') === 1, 'after the reconnect the sender shows it once');
  check(await texts(bob, 'answers lost') === 1, 'the other user got it once');

  // The network doubles the page's say frames: the server stores the cid once.
  net.doubleSays = true;
  await alice.fill('#text', 'sent twice by the network');
  await alice.press('#text', 'Enter');
  await waitText(bob, 'sent twice by the network');
  await settled(alice);
  await bob.waitForTimeout(500);
  net.doubleSays = false;
  check(await texts(bob, 'sent twice by the network') === 1, 'a say resent with its cid arrives once');

  // Typed while the socket is down, in a room with no history yet: sent after the reconnect.
  await switchRoom(alice, 'fresh');
  await switchRoom(bob, 'fresh');
  net.dropSays = true;
  await alice.fill('#text', 'typed while offline');
  await alice.press('#text', 'Enter');
  await cut(net);
  net.dropSays = false;
  await waitText(bob, 'typed while offline');
  await settled(alice);
  check(await texts(alice, 'typed while offline') === 1, 'the offline text is sent after the reconnect, once');
  check(await texts(bob, 'typed while offline') === 1, 'and reaches the other user once');
  await alice.screenshot({ path: path.join(outDir, 'composer-alice.png') });

  // Dropped by the network, then the tab reloads: the reloaded page sends it, once.
  net.dropSays = true;
  await alice.fill('#text', 'typed before a reload');
  await alice.press('#text', 'Enter');
  check(await alice.$$eval('#messages .msg.pending', (e) => e.length) === 1, 'before the reload the send is pending');
  net.dropSays = false;
  await alice.reload();
  if (await alice.isVisible('#nick-dialog')) {
    await alice.fill('#nick', 'alice');
    await alice.press('#nick', 'Enter');
  }
  await alice.waitForSelector('#status.online', { timeout: 8000 });
  check(await alice.$eval('#rooms li.current', (e) => e.dataset.room) === 'fresh', 'the reloaded page is back in the room it showed');
  await waitText(bob, 'typed before a reload');
  await waitText(alice, 'typed before a reload');
  await settled(alice);
  await bob.waitForTimeout(300);
  check(await texts(bob, 'typed before a reload') === 1, 'a send lost before a reload is sent by the reloaded page, once');
  check(await texts(alice, 'typed before a reload') === 1, 'and its sender sees it once');

  // Ended for good (another tab took over): "not sent", never "sending…" forever.
  net.deaf = true;
  await alice.fill('#text', 'never to be sent');
  await alice.press('#text', 'Enter');
  await cut(net, 4000);
  await alice.waitForSelector('#messages .msg.failed', { timeout: 5000 });
  check((await alice.textContent('#messages .msg.failed .time')) === 'not sent', 'a send of an ended socket shows "not sent"');
  await alice.fill('#text', 'after the end');
  await alice.press('#text', 'Enter');
  check(await alice.inputValue('#text') === 'after the end', 'after the end a text stays in the composer');
  check((await alice.textContent('#text-error')).startsWith('not sent'), 'with the reason');
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  await stopped(proc);
  rmSync(dir, { recursive: true, force: true });
}
if (failures.length) {
  console.error(`${failures.length} failure(s):\n` + failures.join('\n'));
  process.exit(1);
}
console.log('composer e2e: all checks passed');
