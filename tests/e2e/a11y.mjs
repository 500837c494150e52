// Accessibility and first visit in Debian's Chromium, with axe-core: no serious or critical
// violation on a desktop (1280x800) and a phone (390x844), signed in, with messages from three
// people, a private conversation open and the phone's drawer open; lists reached and used with
// the keyboard, a visible focus, tap targets of 44 px on the phone, a live region that reads
// out new messages and not history; a first visit without 404 (favicon) and without an
// "offline" badge, empty states that say what to do, and no dead end after Escape.
//
// Usage: node a11y.mjs path/to/duplex-chat output-dir
import { readFileSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, drawer, failures, launch, open, register, say, startChat, stopped, switchRoom, waitText } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-a11y-'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

// axe in the page (evaluated through the DevTools protocol: the page's CSP stays as it is).
async function audit(page, what) {
  await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 4) }));
  });
  const bad = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(bad.length === 0, `axe: no serious or critical violation ${what}` +
    (bad.length ? ': ' + bad.map((v) => `${v.id} (${v.impact}) at ${v.nodes.join(', ')}`).join('; ') : ''));
  for (const v of found.filter((x) => !bad.includes(x))) console.log(`     (minor: ${v.id} ${v.impact})`);
}

// Controls smaller than 44x44 px among those visible in `scope`.
const smallTargets = (page, scope) => page.$$eval(`${scope} button, ${scope} input, ${scope} select, ${scope} a`, (els) => els
  .filter((e) => e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => [e.id || e.textContent.trim() || e.outerHTML.slice(0, 40), e.getBoundingClientRect()])
  .filter(([, r]) => r.height < 44 || r.width < 44)
  .map(([n, r]) => `${n} ${Math.round(r.width)}x${Math.round(r.height)}`));

const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db')]);
const browser = await launch();
try {
  // First visit: nothing missing, nothing alarming before the user did anything.
  const firstCtx = await browser.newContext({ viewport: desktop });
  const missing = [];
  // 401 from /api/me is the answer "not signed in", not something missing.
  firstCtx.on('response', (r) => { if (r.status() === 404) missing.push(`${r.status()} ${r.url()}`); });
  const first = await open(firstCtx, chat.url);
  await first.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await first.waitForTimeout(500);
  check(missing.length === 0, 'a first visit loads without any 404: ' + missing.join(', '));
  const icon = await first.$eval('link[rel="icon"]', (l) => l.href);
  const res = await fetch(icon);
  check(res.status === 200 && res.headers.get('content-type') === 'image/svg+xml', `the favicon is served as SVG (${res.status} ${res.headers.get('content-type')})`);
  check(await first.isHidden('#status'), 'no "offline" badge before the user tried to connect');
  await audit(first, 'on the sign-in dialog');
  // The harness sees what it must: a field and a button without names (a placeholder is a
  // name to axe, so the "placeholder only" is checked by the labels below).
  await first.evaluate(() => document.getElementById('account-form').insertAdjacentHTML('beforeend', '<div id="planted"><input><button></button></div>'));
  await first.evaluate(axeSource);
  const planted = await first.evaluate(async () => (await window.axe.run('#planted')).violations.map((v) => v.id));
  check(planted.includes('label') && planted.includes('button-name'), 'axe finds a planted unnamed field and button: ' + planted.join(', '));
  await first.evaluate(() => document.getElementById('planted').remove());
  const unlabelled = await first.$$eval('input:not([type=hidden]), textarea, select', (els) => els
    .filter((e) => !e.labels?.length && !e.getAttribute('aria-label')).map((e) => e.id || e.outerHTML.slice(0, 40)));
  check(unlabelled.length === 0, 'every field has a label, not a placeholder only: ' + unlabelled.join(', '));
  await first.keyboard.press('Escape');
  check(await first.isVisible('#account-dialog[open]'), 'Escape keeps the sign-in dialog while signing in is the only way in');

  const alice = await register(browser, chat.url, 'alice', desktop);
  check(await alice.isVisible('#conv-empty'), 'no conversations yet: the page says how to start one');
  const bob = await register(browser, chat.url, 'bob', phone);
  const carol = await register(browser, chat.url, 'carol', desktop);
  for (const p of [alice, bob, carol]) for (const r of ['design', 'ops']) await switchRoom(p, r);
  for (const p of [alice, bob, carol]) await switchRoom(p, 'general');

  // The live region reads new messages, never the history a switch shows.
  check(await alice.$eval('#messages', (e) => !e.hasAttribute('aria-live')), 'the message list itself is no live region');
  await say(carol, '#text', 'Morning! The 2.3 release notes are in the wiki.');
  await say(bob, '#text', 'Thanks carol, reading them on the train.');
  await say(alice, '#text', 'Great. I will tag the release at 3 pm unless someone objects.');
  await waitText(alice, '#messages', 'Thanks carol, reading them on the train.');
  await alice.waitForFunction(() => document.getElementById('announce').textContent === 'bob in #general: Thanks carol, reading them on the train.', null, { timeout: 3000 });
  check(true, 'a new message from bob is announced once, with its room');
  await say(carol, '#text', 'No objection from me. The dashboards look calm.');
  await waitText(alice, '#messages', 'No objection from me. The dashboards look calm.');
  await switchRoom(alice, 'design');
  await switchRoom(alice, 'general');
  await alice.waitForTimeout(400);
  const spoken = await alice.textContent('#announce');
  check(spoken === 'carol in #general: No objection from me. The dashboards look calm.', `switching rooms announces no history (still "${spoken}")`);

  await say(bob, '#text', 'Migration dry run passed on my side too.');
  await say(carol, '#text', '@alice staging is green, go ahead when you are ready.');
  await waitText(alice, '#messages', '@alice staging is green, go ahead when you are ready.');
  check(await alice.$eval('#messages .msg[data-id]:last-child', (e) => e.classList.contains('mention')), 'carol\'s mention of alice is highlighted');

  // The keyboard alone: a room is a button, with a visible focus.
  await alice.focus('#rooms li[data-room="ops"] button');
  await alice.keyboard.press('Enter');
  await alice.waitForSelector('#rooms li.current[data-room="ops"]', { timeout: 5000 });
  check(true, 'Enter on a focused room opens it');
  await alice.focus('#rooms li[data-room="general"] button');
  await alice.keyboard.press('Tab');
  await alice.keyboard.press('Shift+Tab');
  const ring = await alice.evaluate(() => { const s = getComputedStyle(document.activeElement); return [document.activeElement.textContent, s.outlineStyle, parseFloat(s.outlineWidth)]; });
  check(ring[0].startsWith('#general') && ring[1] !== 'none' && ring[2] >= 2, `the focused room shows a focus ring (${ring.join(' ')})`);
  await alice.keyboard.press('Enter');
  await alice.waitForSelector('#rooms li.current[data-room="general"]', { timeout: 5000 });
  await alice.focus('#members li button >> text="bob"');
  await alice.keyboard.press('Enter');
  await alice.waitForSelector('#conversation:not([hidden])', { timeout: 5000 });
  check(await alice.evaluate(() => document.activeElement.id) === 'conv-text', 'Enter on a member opens a conversation, focus in its composer');
  await say(alice, '#conv-text', 'Bob, can you check the migration before I tag?');
  await drawer(bob);
  await bob.click('#conversations li[data-with="alice"] button');
  await waitText(bob, '#conv-messages', 'Bob, can you check the migration before I tag?');
  await say(bob, '#conv-text', 'Sure, running it on staging now.');
  await waitText(alice, '#conv-messages', 'Sure, running it on staging now.');
  await alice.waitForFunction(() => document.getElementById('announce').textContent === 'private message from bob: Sure, running it on staging now.', null, { timeout: 3000 });
  check(true, 'a private message is announced');

  await alice.evaluate(() => {
    // Through the CSSOM: the page's CSP refuses inline style attributes.
    const span = document.createElement('span');
    span.id = 'pale';
    span.textContent = 'pale';
    span.style.color = '#aaa';
    document.querySelector('.conv-head').append(span);
  });
  await alice.evaluate(axeSource);
  const pale = await alice.evaluate(async () => (await window.axe.run('#pale')).violations.map((v) => v.id));
  check(pale.includes('color-contrast'), 'axe finds planted pale text: ' + pale.join(', '));
  await alice.evaluate(() => document.getElementById('pale').remove());
  await audit(alice, 'on a desktop with a conversation open');
  await alice.click('#conv-close');
  check(await alice.$eval('#rooms li[data-room="general"] button', (b) => b.getAttribute('aria-current') === 'true'), 'back in the room, the list marks it as the current one');
  await audit(alice, 'on a desktop in a room with messages');
  await alice.waitForFunction(() => !document.getElementById('typing').textContent, null, { timeout: 5000 });
  await alice.screenshot({ path: path.join(outDir, 'chat-desktop.png') });

  // The phone: the drawer, its tap targets, and the conversation.
  await audit(bob, 'on a phone with a conversation open');
  check((await smallTargets(bob, '#conversation')).length === 0, 'the phone\'s conversation controls are 44 px at least: ' + (await smallTargets(bob, '#conversation')).join(', '));
  await bob.screenshot({ path: path.join(outDir, 'chat-phone-conversation.png') });
  await bob.click('#conv-close');
  await drawer(bob);
  await bob.waitForTimeout(300);
  const members = await bob.$$eval('#members li', (els) => els.map((e) => e.textContent).join(','));
  check(members === 'alice,bob,carol', 'the drawer shows every member: ' + members);
  const small = await smallTargets(bob, '#sidebar');
  check(small.length === 0, 'the drawer\'s tap targets are 44 px at least' + (small.length ? ': ' + small.join(', ') : ''));
  await audit(bob, 'on a phone with the drawer open');
  await bob.screenshot({ path: path.join(outDir, 'chat-phone-drawer.png') });
  await bob.keyboard.press('Escape');
  await bob.waitForSelector('#sidebar #rooms', { state: 'hidden', timeout: 3000 });
  check(true, 'Escape closes the drawer');
  const header = await smallTargets(bob, 'header');
  const composer = await smallTargets(bob, '#chat');
  check(header.length === 0 && composer.length === 0, 'the header and the room\'s controls too: ' + [...header, ...composer].join(', '));
  await audit(bob, 'on a phone in a room with messages');
  await bob.screenshot({ path: path.join(outDir, 'chat-phone.png') });

  // Leaving every room: the list says what to do.
  for (const r of ['general', 'design', 'ops']) {
    await carol.click(`#rooms li[data-room="${r}"] button`);
    await carol.click('#leave-room');
    await carol.waitForSelector(`#rooms li[data-room="${r}"]`, { state: 'detached', timeout: 5000 });
    if (r === 'general') {
      await carol.waitForSelector('#rooms li.current[data-room="design"]', { state: 'attached', timeout: 5000 });
      const left = await carol.$$eval('#messages .text', (els) => els.filter((e) => e.textContent.includes('release notes')).length);
      check(left === 0, 'leaving a room shows the next one, without the left room\'s lines');
    }
  }
  check(await carol.isVisible('#rooms-empty'), 'with no room left, the page says how to join one');
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
}

// Guests: Escape on the nickname dialog leaves a way back in, not a page that sends nothing.
const guests = await startChat(binary, ['--db', path.join(dir, 'guests.db'), '--guests']);
const browser2 = await launch();
try {
  const g = await open(await browser2.newContext({ viewport: phone }), guests.url);
  await g.waitForSelector('#nick-dialog[open]', { timeout: 5000 });
  check(await g.isHidden('#status'), 'a guest sees no "offline" badge before choosing a name');
  await g.keyboard.press('Escape');
  await g.waitForSelector('#start-banner:not([hidden])', { timeout: 3000 });
  check(await g.evaluate(() => document.activeElement.id) === 'start-again', 'Escape on the nickname dialog leaves a button to enter, focused');
  await g.keyboard.press('Enter');
  await g.waitForSelector('#nick-dialog[open]', { timeout: 3000 });
  await g.fill('#nick', 'gus');
  await g.press('#nick', 'Enter');
  await g.waitForSelector('#status.online', { timeout: 8000 });
  check(await g.isHidden('#start-banner'), 'which leads into the chat');
  check(await g.isHidden('#conv-empty'), 'a guest is not told to start conversations it cannot have');
  await audit(g, 'for a guest on a phone');
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser2.close();
  guests.proc.kill('SIGTERM');
  await stopped(guests.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `a11y e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'a11y e2e: all passed');
process.exit(failures.length ? 1 : 0);
