// Search in Debian's Chromium (issue 14, item 6): two users with a room and a private
// conversation find both; a third user finds neither the conversation nor the room until it
// joins; a result opens in context with the message highlighted and in view, older and newer
// messages around it, "Jump to latest" back to the live room; the keyboard alone reaches it all
// ("/" focuses the box on a phone too), and axe-core finds no serious violation in the views.
//
// Usage: node search.mjs path/to/duplex-chat output-dir
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, drawer, failures, launch, register, say, startChat, stopped, switchRoom, waitText } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-search-'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

async function audit(page, what) {
  await page.evaluate(axeSource);
  const bad = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  check(bad.length === 0, `axe: no serious or critical violation ${what}` + (bad.length ? ': ' + bad.join('; ') : ''));
}

async function search(page, q) {
  await drawer(page);
  await page.fill('#search-input', q);
  await page.press('#search-input', 'Enter');
  await page.waitForFunction((t) => {
    const s = document.getElementById('search-status').textContent;
    return !document.getElementById('search-panel').hidden && s !== '' && s !== 'Searching…' && document.getElementById('search-title').textContent.includes(t);
  }, q, { timeout: 8000 });
  return page.$$eval('#search-results .result', (els) => els.map((b) => ({
    place: b.querySelector('.place').textContent,
    text: b.querySelector('.snippet').textContent,
    marks: [...b.querySelectorAll('mark')].map((m) => m.textContent),
  })));
}

const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db')]);
const browser = await launch();
try {
  const alice = await register(browser, chat.url, 'alice', desktop);
  const bob = await register(browser, chat.url, 'bob', phone);
  const carol = await register(browser, chat.url, 'carol', desktop);
  await switchRoom(alice, 'plans');
  await switchRoom(bob, 'plans');
  await say(alice, '#text', 'the purple elephant dances at noon');
  await waitText(bob, '#messages', 'the purple elephant dances at noon');
  for (let i = 1; i <= 8; ++i) {  // under the rate limit (each send also moves a read mark)
    await say(alice, '#text', `filler line ${i}`);
    await alice.waitForTimeout(600);
  }
  await waitText(bob, '#messages', 'filler line 8');
  await alice.fill('#dm-to', 'bob');
  await alice.press('#dm-to', 'Enter');
  await alice.waitForFunction(() => document.getElementById('conversation').dataset.with === 'bob', null, { timeout: 5000 });
  await say(alice, '#conv-text', 'a secret PURPLE <b>plan</b>');
  await waitText(alice, '#conv-messages', 'a secret PURPLE <b>plan</b>');

  // Both users find both, newest first, with the matched words marked.
  const found = await search(bob, 'purple');
  check(found.length === 2, `bob finds the room's message and the conversation's: ${JSON.stringify(found)}`);
  check(found[0]?.place === '@alice' && found[0]?.text === 'a secret PURPLE <b>plan</b>' && found[0]?.marks.join() === 'PURPLE',
    'the conversation first (newest), its match marked, its markup shown as text');
  check(found[1]?.place === '#plans' && found[1]?.marks.join() === 'purple', 'then the room\'s message');
  check(await bob.$$eval('#search-results b', (els) => els.length) === 0, 'no markup from a message reaches the page');
  await audit(bob, 'with search results on a phone');
  check((await search(alice, 'purple')).length === 2, 'alice finds both too');
  await alice.screenshot({ path: path.join(outDir, 'search-results-desktop.png') });
  const byAlice = await search(alice, 'eleph');
  check(byAlice.length === 1 && byAlice[0].place === '#plans', 'the last word matches as a prefix');
  const odd = await search(alice, '"NEAR( -x * text:');
  check(odd.length === 0 && await alice.isVisible('#search-status'), 'search syntax typed is only text: answered, no error');

  // Carol is in neither: nothing, until she joins the room; never the conversation.
  check((await search(carol, 'secret')).length === 0, 'carol cannot find the conversation of alice and bob');
  check((await search(carol, 'purple')).length === 0, 'nor a room she is not in');
  check(await carol.$eval('#search-status', (e) => e.textContent.startsWith('Nothing found')), 'and is told nothing was found');
  await switchRoom(carol, 'plans');
  const carols = await search(carol, 'purple');
  check(carols.length === 1 && carols[0].place === '#plans', 'after joining the room she finds its message, and only it');

  // A result opened in context: highlighted, in view, older and newer around it.
  await bob.click('#search-results .result[data-room="plans"]');
  await bob.waitForSelector('#context-messages li.found', { timeout: 8000 });
  check(await bob.isVisible('#context') && await bob.isHidden('#chat'), 'the result opens in its own view of the room');
  check((await bob.textContent('#context-title')).includes('#plans'), 'titled with its room');
  check(await bob.$eval('#context-messages li.found .text', (e) => e.textContent) === 'the purple elephant dances at noon',
    'the message found is highlighted');
  const inView = await bob.$eval('#context-messages li.found', (li) => {
    const r = li.getBoundingClientRect();
    const box = li.parentElement.getBoundingClientRect();
    return r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  });
  check(inView, 'and scrolled into view');
  check(await bob.evaluate(() => document.activeElement?.classList.contains('found')), 'and focused, for the keyboard and screen readers');
  const shown = await bob.$$eval('#context-messages .msg[data-id] .text', (els) => els.map((e) => e.textContent));
  check(shown.includes('filler line 8'), 'with the messages after it');
  await bob.screenshot({ path: path.join(outDir, 'search-context-phone.png') });
  await audit(bob, 'with a result in context on a phone');
  await bob.click('#context-latest');
  await bob.waitForSelector('#chat:not([hidden])', { timeout: 5000 });
  check(await bob.isHidden('#context'), '"Jump to latest" goes back to the live room');
  await bob.waitForSelector('#rooms li.current[data-room="plans"]', { state: 'attached', timeout: 5000 });
  await waitText(bob, '#messages', 'filler line 8');
  const atBottom = await bob.$eval('#messages', (ol) => ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40);
  check(atBottom, 'at its latest message');

  // The keyboard alone: "/" focuses the box (in the drawer on a phone), Enter opens a result.
  await bob.click('#text');
  await bob.keyboard.press('Escape');
  await bob.$eval('#text', (t) => t.blur());
  await bob.keyboard.press('/');
  await bob.waitForFunction(() => document.activeElement?.id === 'search-input', null, { timeout: 3000 }).catch(() => {});
  check(await bob.evaluate(() => document.activeElement?.id) === 'search-input', '"/" focuses the search box, in the drawer on a phone');
  await bob.keyboard.type('secret');
  await bob.keyboard.press('Enter');
  await bob.waitForSelector('#search-results .result[data-with="alice"]', { timeout: 8000 });
  await bob.focus('#search-results .result[data-with="alice"]');
  await bob.keyboard.press('Enter');
  await bob.waitForSelector('#context-messages li.found', { timeout: 8000 });
  check(await bob.$eval('#context-messages li.found .text', (e) => e.textContent) === 'a secret PURPLE <b>plan</b>',
    'a conversation\'s result opens in context too');
  await bob.click('#context-latest');
  await bob.waitForFunction(() => document.getElementById('conversation').dataset.with === 'alice' && !document.getElementById('conversation').hidden, null, { timeout: 5000 });
  check(await bob.isHidden('#context'), 'and "Jump to latest" goes to the live conversation');

  // Closing the results goes back to what was shown before; Ctrl+K on a desktop.
  await alice.click('#search-close');
  check(await alice.isVisible('#conversation') && await alice.isHidden('#search-panel'), '"Close search" goes back to the conversation that was open');
  await alice.click('#conv-text');
  await alice.keyboard.press('Control+k');
  await alice.waitForFunction(() => document.activeElement?.id === 'search-input', null, { timeout: 3000 }).catch(() => {});
  check(await alice.evaluate(() => document.activeElement?.id) === 'search-input', 'Ctrl+K focuses the search box');
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `search e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'search e2e: all passed');
process.exit(failures.length ? 1 : 0);
