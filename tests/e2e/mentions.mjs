// Mentions and notifications in Debian's Chromium: `@` in the composer offers the room's
// members, the keyboard picks one; a message naming the reader is highlighted for the reader
// only; while the tab is hidden a mention or a private message raises a notification (allowed
// from a click) and counts in the title, a plain message does neither, and the count goes when
// the tab is seen again.
//
// Usage: node mentions.mjs path/to/duplex-chat output-dir
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, failures, launch, open, online, say, startChat, stopped, waitText } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-mentions-'));
const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db')]);
const browser = await launch();

async function register(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Notifications shown are recorded; the page's CSP does not apply to an init script.
  await context.addInitScript(() => {
    window.shown = [];
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title, options) { super(title, options); window.shown.push({ title, body: options?.body }); }
    };
  });
  const page = await open(context, chat.url);
  await page.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await page.fill('#account-name', name);
  await page.fill('#account-password', 'correct horse battery');
  await page.click('#account-register');
  await online(page);
  return page;
}
// What a hidden tab looks like to the page.
const setHidden = (page, hidden) => page.evaluate((h) => {
  Object.defineProperty(document, 'visibilityState', { value: h ? 'hidden' : 'visible', configurable: true });
  Object.defineProperty(document, 'hidden', { value: h, configurable: true });
  document.dispatchEvent(new Event('visibilitychange'));
}, hidden);

try {
  const alice = await register('alice');
  const bob = await register('bob');
  const bea = await register('bea');
  await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 3, null, { timeout: 8000 });

  await alice.click('#text');
  await alice.keyboard.type('hi @b');
  await alice.waitForSelector('#mention-list:not([hidden])', { timeout: 3000 });
  const offered = await alice.$$eval('#mention-list [role=option]', (els) => els.map((e) => e.textContent));
  check(offered.join() === '@bea,@bob', 'typing @b offers the members whose names start with b: ' + offered.join());
  await alice.keyboard.press('ArrowDown');
  check(await alice.$eval('#text', (e) => e.getAttribute('aria-activedescendant')) === 'mention-1', 'the arrow keys move the choice');
  await alice.keyboard.press('Enter');
  check(await alice.inputValue('#text') === 'hi @bob ', 'Enter picks it into the composer, and sends nothing');
  check(await alice.isHidden('#mention-list'), 'and closes the list');
  await alice.keyboard.type('the deploy is done');
  await alice.keyboard.press('Enter');
  await waitText(bob, '#messages', 'hi @bob the deploy is done');
  const marked = (page) => page.$eval('#messages .msg[data-id]:last-child', (e) => e.classList.contains('mention'));
  check(await marked(bob), 'bob sees the message that mentions him highlighted');
  await waitText(bea, '#messages', 'hi @bob the deploy is done');
  check(!(await marked(bea)) && !(await marked(alice)), 'bea and alice do not');
  await alice.fill('#text', '@bo');
  await alice.waitForSelector('#mention-list:not([hidden])', { timeout: 3000 });
  await alice.keyboard.press('Escape');
  check(await alice.isHidden('#mention-list') && await alice.inputValue('#text') === '@bo', 'Escape closes the list and keeps the text');
  await alice.fill('#text', '');

  // Notifications are allowed from a click; a hidden tab counts mentions and private messages.
  check(await bob.isVisible('#notify-enable'), 'the page offers notifications');
  await bob.context().grantPermissions(['notifications']);  // what the user answers to the browser's question
  await bob.click('#notify-enable');
  await bob.waitForSelector('#notify-enable', { state: 'hidden', timeout: 3000 });
  await setHidden(bob, true);
  await say(alice, '#text', 'lunch anyone?');
  await waitText(bob, '#messages', 'lunch anyone?');
  check(await bob.title() === 'duplex chat' && (await bob.evaluate(() => window.shown.length)) === 0, 'a plain message raises nothing');
  await say(alice, '#text', '@bob can you review #42?');
  await bob.waitForFunction(() => document.title === '(1) duplex chat', null, { timeout: 5000 });
  let shown = await bob.evaluate(() => window.shown);
  check(shown.length === 1 && shown[0].title === 'alice mentioned you in #general' && shown[0].body === '@bob can you review #42?',
    'a mention in a hidden tab: a notification and (1) in the title');
  await alice.fill('#dm-to', 'bob');
  await alice.press('#dm-to', 'Enter');
  await alice.waitForSelector('#conversation:not([hidden])', { timeout: 5000 });
  await say(alice, '#conv-text', 'and the budget sheet, privately');
  await bob.waitForFunction(() => document.title === '(2) duplex chat', null, { timeout: 5000 });
  shown = await bob.evaluate(() => window.shown);
  check(shown.length === 2 && shown[1].title === 'Private message from alice', 'a private message too: (2)');
  await setHidden(bob, false);
  check(await bob.title() === 'duplex chat', 'seeing the tab again clears the count');
  await say(alice, '#conv-text', 'thanks!');
  await bob.waitForTimeout(500);
  check((await bob.evaluate(() => window.shown.length)) === 2 && await bob.title() === 'duplex chat', 'a visible tab is not notified');
  await bob.screenshot({ path: path.join(outDir, 'mentions.png') });
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `mentions e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'mentions e2e: all passed');
process.exit(failures.length ? 1 : 0);
