// duplex-chat in Debian's Chromium: two people chat, the room's composer picks no recipient,
// hostile markup stays text, a reload shows history, and after kill -9 and a restart every page
// resumes with no message lost or doubled. Saves screenshots of the pages.
//
// Usage: node chat.mjs path/to/duplex-chat output-dir
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-'));
const db = path.join(dir, 'chat.db');
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

// Starts duplex-chat (on `port`, or any free port) and resolves with the process and its port.
function startChat(port = 0) {
  return new Promise((resolve, reject) => {
    // --guests: two people chatting under names they choose (accounts.mjs signs in).
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', String(port), '--db', db, '--guests']);
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.stdout.once('data', (d) => {
      const m = /:(\d+)\//.exec(d.toString());
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('no port in ' + d));
    });
    proc.once('error', reject);
  });
}
const stopped = (proc) => new Promise((r) => proc.once('exit', r));

async function enter(context, url, nick) {
  const page = await context.newPage();
  page.on('dialog', (d) => { failures.push('a dialog opened: ' + d.message()); d.dismiss(); });
  page.on('pageerror', (e) => failures.push('page error: ' + e.message));
  await page.goto(url);
  await page.fill('#nick', nick);
  await page.press('#nick', 'Enter');
  await page.waitForSelector('#status.online', { timeout: 5000 });
  await page.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 5000 });
  return page;
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Texts of the room's messages, in order, with their ids.
const messages = (page) => page.$$eval('#messages .msg[data-id]', (els) =>
  els.map((e) => ({ id: Number(e.dataset.id), nick: e.querySelector('.nick').textContent, text: e.querySelector('.text').textContent })));
const waitText = (page, text, timeout = 8000) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#messages .msg .text')].some((e) => e.textContent === t), text, { timeout });

function inOrderOnce(list) {
  const ids = list.map((m) => m.id);
  return ids.every((id, i) => i === 0 || id > ids[i - 1]);
}

let chat = await startChat();
const url = `http://127.0.0.1:${chat.port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const alice = await enter(await browser.newContext({ viewport: { width: 1000, height: 700 } }), url, 'alice');
  const bob = await enter(await browser.newContext({ viewport: { width: 390, height: 700 } }), url, 'bob');
  const carol = await enter(await browser.newContext(), url, 'carol');

  await say(alice, 'hello bob');
  await waitText(bob, 'hello bob');
  const seen = (await messages(bob)).find((m) => m.text === 'hello bob');
  check(seen && seen.nick === 'alice', 'bob sees alice\'s message under her name');
  await bob.waitForFunction(() => [...document.querySelectorAll('#members li')].map((e) => e.textContent).join(',') === 'alice,bob,carol');
  check(true, 'the member list shows everyone in the room');

  const hostile = '<img src=x onerror=alert(1)>';
  await say(bob, hostile);
  await waitText(alice, hostile);
  check(await alice.$('#messages img') === null, 'markup in a message is shown as text, not run');

  await bob.fill('#text', 'typing…');
  await alice.waitForFunction(() => document.getElementById('typing').textContent.includes('bob is typing'), null, { timeout: 5000 });
  check(true, 'alice sees that bob is typing');
  await bob.fill('#text', '');

  // Private words have their own views (conversations.mjs): the room's composer has no
  // recipient to pick, so a line meant for the room cannot go elsewhere, nor the reverse.
  check(await alice.$('#private-to') === null, 'the room composer has no recipient selector');

  await bob.reload();
  await bob.waitForSelector('#status.online', { timeout: 5000 });
  await waitText(bob, 'hello bob');
  check(true, 'after a reload bob sees the history');

  // The server dies without warning; alice writes while it is down; it comes back.
  chat.proc.kill('SIGKILL');
  await stopped(chat.proc);
  await alice.waitForSelector('#status.reconnecting', { timeout: 5000 });
  check(true, 'the page shows that it lost the connection');
  await say(alice, 'sent while the server was down');
  chat = await startChat(chat.port);
  for (const page of [alice, bob, carol]) await page.waitForSelector('#status.online', { timeout: 20000 });
  check(true, 'every page reconnects by itself');
  await say(bob, 'after the restart');
  for (const page of [alice, bob, carol]) {
    await waitText(page, 'sent while the server was down', 10000);
    await waitText(page, 'after the restart', 10000);
  }
  for (const [name, page] of [['alice', alice], ['bob', bob], ['carol', carol]]) {
    const list = await messages(page);
    const texts = list.map((m) => m.text);
    const once = (t) => texts.filter((x) => x === t).length === 1;
    check(inOrderOnce(list) && once('hello bob') && once('sent while the server was down') && once('after the restart'),
      `${name}: every message once, in id order, across the restart`);
  }
  await alice.screenshot({ path: path.join(outDir, 'chat-alice.png') });
  await bob.screenshot({ path: path.join(outDir, 'chat-bob-phone.png') });
  console.log('screenshots in ' + outDir);
} catch (e) {
  failures.push(e.message);
  console.log('FAIL ' + e.stack);
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `${failures.length} failure(s): ${failures.join('; ')}` : 'chat e2e: all passed');
process.exit(failures.length ? 1 : 0);
