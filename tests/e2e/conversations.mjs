// Private conversations and read marks in Debian's Chromium: a conversation opens in a view of
// its own; when its recipient goes offline, what is typed there is kept for them and nothing
// reaches the room; two tabs of one user see the same conversation; and unread counts (rooms
// and conversations) are right after a reload, because the server keeps the read marks.
//
// Usage: node conversations.mjs path/to/duplex-chat output-dir
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-conversations-'));
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

function startChat() {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--db', path.join(dir, 'chat.db')]);
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.stdout.once('data', (d) => {
      const m = /:(\d+)\//.exec(d.toString());
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('no port in ' + d));
    });
    proc.once('error', reject);
  });
}
const stopped = (proc) => new Promise((r) => proc.once('exit', r));

async function open(context, url) {
  const page = await context.newPage();
  page.on('dialog', (d) => { failures.push('a browser dialog opened: ' + d.message()); d.dismiss(); });
  page.on('pageerror', (e) => failures.push('page error: ' + e.message));
  await page.goto(url);
  return page;
}
const online = async (page) => {
  await page.waitForSelector('#status.online', { timeout: 8000 });
  await page.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 8000 });
};
async function register(context, url, name) {
  const page = await open(context, url);
  await page.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await page.fill('#account-name', name);
  await page.fill('#account-password', 'correct horse battery');
  await page.click('#account-register');
  await online(page);
  return page;
}
async function openConversation(page, name) {
  if (await page.isVisible('#drawer-toggle') && await page.isHidden('#dm-to')) await page.click('#drawer-toggle');  // a phone's drawer
  await page.fill('#dm-to', name);
  await page.press('#dm-to', 'Enter');
  await page.waitForFunction((n) => document.getElementById('conversation').dataset.with === n, name, { timeout: 5000 });
}
async function sayPrivately(page, text) {
  await page.fill('#conv-text', text);
  await page.press('#conv-text', 'Enter');
}
async function sayInRoom(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}
const convText = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#conv-messages .msg:not(.pending) .text')].some((e) => e.textContent === t),
  text, { timeout: 8000 });
const roomText = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#messages .msg .text')].some((e) => e.textContent === t), text, { timeout: 8000 });
const unreadOf = (page, selector) => page.evaluate(
  (s) => document.querySelector(s + ' .unread')?.textContent ?? '0', selector);
const waitUnread = (page, selector, n) => page.waitForFunction(
  ([s, v]) => (document.querySelector(s + ' .unread')?.textContent ?? '0') === v, [selector, n], { timeout: 8000 });
async function switchRoom(page, name) {
  await page.fill('#room-input', name);
  await page.press('#room-input', 'Enter');
  await page.waitForSelector(`#rooms li.current[data-room="${name}"]`, { timeout: 5000 });
}

const chat = await startChat();
const url = `http://127.0.0.1:${chat.port}/`;
async function clients() {
  const text = await (await fetch(url + 'metrics')).text();
  return Number(/^duplex_chat_clients (\d+)$/m.exec(text)[1]);
}
async function waitFor(condition, what, ms = 8000) {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out: ' + what);
}
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const aliceCtx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const bobCtx = await browser.newContext({ viewport: { width: 390, height: 700 } });
  const alice1 = await register(aliceCtx, url, 'alice');
  let bob = await register(bobCtx, url, 'bob');
  const carol = await register(await browser.newContext(), url, 'carol');
  const alice2 = await open(aliceCtx, url);  // a second tab: the same person
  await online(alice2);

  // A conversation is a view of its own; the room's view is hidden meanwhile.
  await openConversation(alice1, 'bob');
  check(await alice1.isHidden('#chat') && await alice1.isVisible('#conversation'),
    'the conversation replaces the room view');
  await openConversation(bob, 'alice');
  await sayPrivately(alice1, 'hi bob');
  await convText(bob, 'hi bob');
  check(true, 'bob sees alice\'s private message in their conversation');
  await alice2.waitForSelector('#conversations li[data-with="bob"]', { timeout: 8000 });
  await openConversation(alice2, 'bob');
  await convText(alice2, 'hi bob');
  check(true, 'alice\'s second tab sees the same conversation');

  // Bob goes offline; what alice types in the conversation is kept for him, and only there.
  // A signed-in member stays in the room's list while offline (rooms are the user's), so the
  // server's count of attached clients says when bob is gone.
  const before = await clients();
  await bob.close();
  await waitFor(async () => await clients() === before - 1, 'bob\'s socket closes');
  await sayPrivately(alice1, 'my salary is 100');
  await alice1.waitForFunction(() => !document.querySelector('#conv-messages .msg.pending'), null, { timeout: 8000 });
  await convText(alice1, 'my salary is 100');
  await convText(alice2, 'my salary is 100');
  check(true, 'the message to an offline recipient is stored, and shown in both of alice\'s tabs');
  await sayInRoom(carol, 'carol in general');
  await roomText(carol, 'carol in general');
  await alice1.waitForTimeout(300);
  const leaked = await carol.evaluate(() => document.body.textContent.includes('my salary'));
  check(!leaked, 'nothing of it reaches the room, nor carol');
  const inRoom = await alice1.evaluate(() => [...document.querySelectorAll('#messages .text')].some((e) => e.textContent.includes('salary')));
  check(!inRoom, 'nor alice\'s own room view');

  bob = await open(bobCtx, url);  // back, signed in by his cookie
  await online(bob);
  await waitUnread(bob, '#conversations li[data-with="alice"]', '1');
  check(true, 'bob, back, finds one unread message from alice');
  await bob.click('#drawer-toggle');
  await bob.waitForSelector('#conversations li[data-with="alice"]', { timeout: 3000 });
  check(await bob.evaluate(() => {
    const nav = document.getElementById('sidebar').getBoundingClientRect();
    const c = document.querySelector('#conversations li[data-with="alice"]').getBoundingClientRect();
    return c.top >= nav.top && c.bottom <= nav.bottom && c.right <= nav.right;
  }), 'on his phone-sized page, beside his rooms, without scrolling');
  await openConversation(bob, 'alice');
  await convText(bob, 'my salary is 100');
  check(await bob.isVisible('#conv-messages .divider'), 'a "new messages" divider marks where bob stopped');
  await bob.waitForFunction(() => !document.querySelector('#conversations li[data-with="alice"] .unread'), null, { timeout: 8000 });
  await bob.reload();
  await online(bob);
  await bob.waitForSelector('#conversations li[data-with="alice"]', { state: 'attached', timeout: 8000 });
  check(await unreadOf(bob, '#conversations li[data-with="alice"]') === '0', 'read on one load, read after a reload');

  // Room unread counts survive a reload: the read mark is the server's.
  await alice1.click('#conv-close');
  await switchRoom(alice1, 'random');
  await switchRoom(alice1, 'general');
  await switchRoom(carol, 'random');
  await sayInRoom(carol, 'one');
  await sayInRoom(carol, 'two');
  await waitUnread(alice1, '#rooms li[data-room="random"]', '2');
  await alice1.reload();
  await online(alice1);
  await alice1.waitForSelector('#rooms li[data-room="random"]', { timeout: 8000 });
  await alice1.waitForTimeout(500);
  check(await unreadOf(alice1, '#rooms li[data-room="random"]') === '2', 'after a reload #random still shows 2 unread');
  check(await unreadOf(alice1, '#rooms li[data-room="general"]') === '0', 'and #general none');
  await alice1.click('#rooms li[data-room="random"]');
  await roomText(alice1, 'two');
  check(await alice1.isVisible('#messages .divider'), 'opening #random shows the "new messages" divider');
  await alice1.click('#rooms li[data-room="general"]');
  await alice1.reload();
  await online(alice1);
  await alice1.waitForSelector('#rooms li[data-room="random"]', { timeout: 8000 });
  await alice1.waitForTimeout(500);
  check(await unreadOf(alice1, '#rooms li[data-room="random"]') === '0', 'once read, a reload shows nothing unread');
  await alice2.screenshot({ path: path.join(outDir, 'conversation.png') });
} catch (e) {
  failures.push(e.message);
  console.log('FAIL ' + e.stack);
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `${failures.length} failure(s): ${failures.join('; ')}` : 'conversations e2e: all passed');
process.exit(failures.length ? 1 : 0);
