// History that reads like a chat, in Debian's Chromium: 130 stored messages over three days
// read back by scrolling up (pages load in place, the reader's line stays put) down to the
// "beginning of #history" marker; day separators and full dates; "jump to latest"; and what
// was loaded stays when the reader switches rooms or conversations and comes back.
//
// Usage: node history.mjs path/to/duplex-chat output-dir
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, failures, launch, register, say, startChat, stopped, switchRoom, waitText, drawer } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-history-'));
const db = path.join(dir, 'chat.db');

// A history file as an older duplex-chat left it: #history with 130 messages, two days ago,
// yesterday and today (the server upgrades the file when it opens it).
const today = new Date();
today.setHours(0, 0, 0, 0);
const rows = [];
for (let id = 1; id <= 130; ++id) {
  const day = id <= 40 ? 2 : id <= 80 ? 1 : 0;
  const ts = today.getTime() - day * 86400000 + (day ? 9 * 3600000 : 0) + id * 1000;
  rows.push([id, id % 2 ? 'dora' : 'eve', `line ${id}`, ts]);
}
execFileSync('/usr/bin/python3', ['-c', `
import sqlite3, json, sys
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE messages (room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, id)) WITHOUT ROWID")
db.executemany("INSERT INTO messages VALUES ('history', ?, ?, ?, ?)", json.loads(sys.argv[2]))
db.commit()
`, db, JSON.stringify(rows)]);

const chat = await startChat(binary, ['--db', db]);
const browser = await launch();
const ids = (page) => page.$$eval('#messages .msg[data-id]', (els) => els.map((e) => Number(e.dataset.id)));
const scrollTop = (page, sel) => page.$eval(sel, (ol) => { ol.scrollTop = 0; });
try {
  const alice = await register(browser, chat.url, 'alice', { width: 1280, height: 800 });
  const bob = await register(browser, chat.url, 'bob', { width: 390, height: 844 });
  await switchRoom(alice, 'history');
  await alice.waitForFunction(() => document.querySelectorAll('#messages .msg[data-id]').length === 50, null, { timeout: 8000 });
  let shown = await ids(alice);
  check(shown[0] === 81 && shown[49] === 130, 'a join shows the latest 50 messages, 81 to 130');
  check(!(await alice.isVisible('#messages li.beginning')), 'and no beginning marker: older ones exist');
  const time = await alice.$eval('#messages .msg[data-id="100"] time', (t) => ({ dt: t.dateTime, title: t.title }));
  check(time.dt === new Date(rows[99][3]).toISOString() && time.title.includes(String(today.getFullYear())),
    `each time carries its full date: datetime ${time.dt}, title "${time.title}"`);
  const bottom = await alice.$eval('#messages', (ol) => ol.scrollHeight - ol.scrollTop - ol.clientHeight);
  check(bottom < 5, 'the view opens at the latest message');

  // Scrolling up loads the page before, in place: the line the reader had at the top stays.
  const before = await alice.$eval('#messages', (ol) => {
    ol.scrollTop = 0;  // the browser's scroll event asks for the page before
    return ol.querySelector('.msg[data-id="81"]').getBoundingClientRect().top;
  });
  await alice.waitForFunction(() => document.querySelectorAll('#messages .msg[data-id]').length === 100, null, { timeout: 8000 });
  const after = await alice.$eval('#messages .msg[data-id="81"]', (e) => e.getBoundingClientRect().top);
  check(Math.abs(after - before) < 3, `the reader's line stays where it was (${before} → ${after})`);
  shown = await ids(alice);
  check(shown[0] === 31 && shown.every((id, i) => i === 0 || id === shown[i - 1] + 1), 'messages 31 to 130, in order, no gap, no double');
  check(await alice.isVisible('#jump-latest'), '"jump to latest" shows while the reader is up in history');

  await scrollTop(alice, '#messages');
  await alice.waitForSelector('#messages li.beginning', { timeout: 8000 });
  shown = await ids(alice);
  check(shown.length === 130 && shown[0] === 1, 'scrolling up again reaches message 1');
  check((await alice.textContent('#messages li.beginning')).startsWith('This is the beginning of #history'),
    'a marker says the beginning of #history is reached');
  check(await alice.$eval('#messages', (ol) => ol.firstElementChild.classList.contains('beginning')), 'at the top of the list');
  check(await alice.isHidden('#older'), 'nothing more is offered');
  const days = await alice.$$eval('#messages li.day', (els) => els.map((e) => e.textContent));
  check(days.length === 3 && days[1] === 'Yesterday' && days[2] === 'Today', 'three day separators: ' + days.join(' | '));
  const firstOfDay = await alice.$$eval('#messages li.day', (els) => els.map((e) => e.nextElementSibling.dataset.id));
  check(firstOfDay.join() === '1,41,81', 'each before the first message of its day');
  await alice.screenshot({ path: path.join(outDir, 'history-beginning.png') });

  await alice.click('#jump-latest');
  await alice.waitForFunction(() => { const ol = document.getElementById('messages'); return ol.scrollHeight - ol.scrollTop - ol.clientHeight < 5; }, null, { timeout: 3000 });
  check(await alice.isHidden('#jump-latest'), '"jump to latest" goes to the latest message and hides');

  // Away in #general while bob speaks in #history: coming back shows everything loaded, and
  // bob's line once.
  await switchRoom(alice, 'general');
  await switchRoom(bob, 'history');
  await say(bob, '#text', 'while you were away');
  await waitText(bob, '#messages', 'while you were away');
  await alice.waitForSelector('#rooms li[data-room="history"] .unread', { timeout: 8000 });
  await alice.click('#rooms li[data-room="history"] button');
  await waitText(alice, '#messages', 'while you were away');
  await alice.waitForTimeout(300);
  shown = await ids(alice);
  check(shown.length === 131 && shown[0] === 1 && shown[130] === 131, `history kept across the switch: ${shown.length} messages from 1, the new one once`);
  check(await alice.isVisible('#messages li.beginning'), 'the beginning marker too');

  // A conversation keeps its messages across a switch to a room, and marks its beginning.
  await drawer(alice);
  await alice.fill('#dm-to', 'bob');
  await alice.press('#dm-to', 'Enter');
  await alice.waitForSelector('#conv-messages li.beginning', { timeout: 8000 });
  check((await alice.textContent('#conv-messages li.beginning')).includes('Nothing has been said yet'), 'an empty conversation says how to start it');
  await say(alice, '#conv-text', 'lunch at noon?');
  await waitText(alice, '#conv-messages', 'lunch at noon?');
  await drawer(bob);
  await bob.click('#conversations li[data-with="alice"] button');
  await waitText(bob, '#conv-messages', 'lunch at noon?');
  check(await bob.waitForSelector('#sidebar #rooms', { state: 'hidden', timeout: 2000 }).then(() => true, () => false), 'on the phone the drawer closes when a conversation opens');
  await say(bob, '#conv-text', 'yes, see you there');
  await waitText(alice, '#conv-messages', 'yes, see you there');
  check((await alice.textContent('#conv-messages li.beginning')) === 'This is the beginning of your conversation with bob.', 'then marks where it began');
  await alice.click('#conv-close');
  await alice.click('#conversations li[data-with="bob"] button');
  await waitText(alice, '#conv-messages', 'yes, see you there');
  check((await alice.$$('#conv-messages .msg[data-id]')).length === 2 && await alice.isVisible('#conv-messages li.beginning'), 'and keeps both after a switch');

  // A room nobody spoke in says what to do.
  await switchRoom(alice, 'quiet');
  await alice.waitForSelector('#messages li.beginning', { timeout: 8000 });
  check((await alice.textContent('#messages li.beginning')).includes('write the first message'), 'an empty room says how to start it');
  await switchRoom(alice, 'history');
  await alice.waitForTimeout(200);
  await bob.screenshot({ path: path.join(outDir, 'history-phone.png') });
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `history e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'history e2e: all passed');
process.exit(failures.length ? 1 : 0);
