// Rooms in Debian's Chromium: alice creates a room with a topic; bob, on a phone-sized page,
// finds it in the directory and joins; alice deletes bob's message (gone from both pages), bans
// bob (removed, and his join is refused), and leaves. Saves the phone layout as rooms-phone.png.
//
// Usage: node rooms.mjs path/to/duplex-chat output-dir
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const db = path.join(mkdtempSync(path.join(tmpdir(), 'duplex-e2e-rooms-')), 'chat.db');
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

function startChat() {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--db', db]);
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.stdout.once('data', (d) => {
      const m = /:(\d+)\//.exec(d.toString());
      if (m) resolve({ proc, port: Number(m[1]) }); else reject(new Error('no port in ' + d));
    });
    proc.once('error', reject);
  });
}

async function register(browser, url, name, viewport) {
  const page = await (await browser.newContext({ viewport })).newPage();
  page.on('dialog', (d) => { failures.push('a browser dialog opened: ' + d.message()); d.dismiss(); });
  page.on('pageerror', (e) => failures.push('page error: ' + e.message));
  await page.goto(url);
  await page.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await page.fill('#account-name', name);
  await page.fill('#account-password', 'correct horse battery');
  await page.click('#account-register');
  await page.waitForSelector('#status.online', { timeout: 8000 });
  await page.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 5000 });
  return page;
}

const textOf = (page, sel) => page.$eval(sel, (e) => e.textContent);
const hasText = (page, text) => page.evaluate(
  (t) => [...document.querySelectorAll('#messages .msg .text')].some((e) => e.textContent === t), text);
const waitFor = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: 8000 });
// On a phone the rooms are in a drawer.
const drawer = async (page) => { if (await page.isVisible('#drawer-toggle') && await page.isHidden('#browse-rooms')) await page.click('#drawer-toggle'); };

const chat = await startChat();
const url = `http://127.0.0.1:${chat.port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const alice = await register(browser, url, 'alice', { width: 1000, height: 700 });
  const bob = await register(browser, url, 'bob', { width: 375, height: 667 });

  await alice.click('#browse-rooms');
  await alice.fill('#create-name', 'team');
  await alice.fill('#create-topic', 'weekly plans');
  await alice.click('#create-form button');
  await alice.waitForSelector('#rooms li[data-room="team"].current', { timeout: 8000 });
  await waitFor(alice, () => document.getElementById('room-topic').textContent === 'weekly plans');
  check(await textOf(alice, '#room-count') === '1 member', 'the creator sees the topic and 1 member');

  await drawer(bob);
  await bob.click('#browse-rooms');
  await bob.fill('#directory-search', 'PLANS');
  // The unfiltered list asked for when the directory opened may come first: wait for the search's.
  await waitFor(bob, () => [...document.querySelectorAll('#directory-list .room-name')].map((e) => e.textContent).join() === '#team')
    .catch(() => {});
  const listed = await bob.$$eval('#directory-list li', (els) => els.map((e) => e.textContent));
  check(listed.length === 1 && listed[0].includes('weekly plans'), 'bob finds the room by its topic');
  await bob.click('#directory-list .room-name');
  await bob.waitForSelector('#rooms li[data-room="team"].current', { state: 'attached', timeout: 8000 });
  await waitFor(alice, () => document.getElementById('room-count').textContent === '2 members');
  check(true, 'alice sees 2 members once bob joined');

  await bob.fill('#text', 'buy cheap watches');
  await bob.press('#text', 'Enter');
  await waitFor(alice, () => [...document.querySelectorAll('#messages .msg[data-id] .text')].some((e) => e.textContent === 'buy cheap watches'));
  await alice.click('#messages .msg[data-id] .text >> text="buy cheap watches"');
  await alice.click('#mod-menu button >> text="Delete message"');
  await waitFor(alice, () => ![...document.querySelectorAll('#messages .text')].some((e) => e.textContent === 'buy cheap watches'));
  await waitFor(bob, () => ![...document.querySelectorAll('#messages .text')].some((e) => e.textContent === 'buy cheap watches'));
  check(!(await hasText(bob, 'buy cheap watches')), 'a deleted message leaves both pages');
  await bob.reload();
  await bob.waitForSelector('#status.online', { timeout: 8000 });
  await bob.waitForSelector('#rooms li[data-room="team"]', { state: 'attached', timeout: 8000 });
  await drawer(bob);
  await bob.click('#rooms li[data-room="team"]');
  await bob.waitForTimeout(500);
  check(!(await hasText(bob, 'buy cheap watches')), 'and history no longer shows it after a reload');

  await bob.screenshot({ path: path.join(outDir, 'rooms-phone.png') });
  await alice.click('#members li >> text="bob"');
  const menu = await alice.$$eval('#mod-menu button', (els) => els.map((e) => e.textContent));
  check(menu[0] === 'Message bob', 'the owner\'s menu on a member also opens a conversation: ' + menu.join(', '));
  await alice.click('#mod-menu button >> text="Ban bob"');
  await bob.waitForSelector('#rooms li[data-room="team"]', { state: 'detached', timeout: 8000 });
  check(true, 'a banned user loses the room');
  await drawer(bob);
  await bob.fill('#room-input', 'team');
  await bob.press('#room-input', 'Enter');
  await waitFor(bob, () => document.getElementById('notice').textContent.includes('banned'));
  check(true, 'a banned user\'s join is refused: ' + await textOf(bob, '#notice'));
  await waitFor(bob, () => !document.querySelector('#rooms li[data-room="team"]'));
  check(true, 'and the refused room does not stay in the sidebar as an empty room');
  await waitFor(alice, () => [...document.querySelectorAll('#messages .system')].some((e) => e.textContent === 'bob was banned by alice'));
  check(true, 'the room is told who banned whom');

  await alice.click('#manage-room');
  await alice.fill('#manage-user', 'bob');
  await alice.click('#manage-user-form button[value="unban"]');
  await waitFor(alice, () => document.getElementById('manage-note').textContent === 'done: unban bob');
  check(true, 'the owner lifts the ban from the Manage dialog');
  await alice.fill('#manage-topic', 'monthly plans');
  await alice.click('#manage-topic-form button');
  await waitFor(alice, () => document.getElementById('room-topic').textContent === 'monthly plans');
  check(true, 'and sets the topic there');
  await alice.keyboard.press('Escape');
  await drawer(bob);
  await bob.fill('#room-input', 'team');
  await bob.press('#room-input', 'Enter');
  await bob.waitForSelector('#rooms li[data-room="team"]', { state: 'attached', timeout: 8000 });
  await waitFor(bob, () => document.getElementById('room-topic').textContent === 'monthly plans');
  check(true, 'bob, no longer banned, joins again and sees the new topic');

  await alice.click('#leave-room');
  await alice.waitForSelector('#rooms li[data-room="team"]', { state: 'detached', timeout: 8000 });
  check(true, 'leave takes the room off the list');
  await alice.reload();
  await alice.waitForSelector('#status.online', { timeout: 8000 });
  await alice.waitForTimeout(500);
  check(!(await alice.$('#rooms li[data-room="team"]')), 'and a reload does not bring it back');
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + e);
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
}
if (failures.length) {
  console.log(`rooms e2e: ${failures.length} failure(s)`);
  process.exit(1);
}
console.log('rooms e2e: all passed');
