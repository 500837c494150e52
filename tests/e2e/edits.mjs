// Edits, deletions, reactions and replies in Debian's Chromium (issue 14, item 3), two signed-in
// people: a reply quotes and links its parent, a reaction from the picker and a chip toggled,
// an edit in place (Enter saves) and a deletion confirmed in place, each seen on the other side,
// all with labelled buttons; a reload shows the same state from the folded history.
//
// Usage: node edits.mjs path/to/duplex-chat output-dir
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, failures, launch, online, register, say, startChat, stopped, waitText } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-edits-'));
const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db')]);
const browser = await launch();

const item = (text) => `#messages li.msg[data-id]:has(> .text:text-is("${text}"))`;
async function menu(page, text, action) {
  const li = item(text);
  await page.hover(li);
  await page.click(`${li} .menu-toggle`);
  await page.click(`${li} .tools button[aria-label="${action}"]`);
}
const chipLabel = (page, text) => page.$eval(`${item(text)} .reactions .chip`, (b) => [b.textContent, b.getAttribute('aria-label'), b.getAttribute('aria-pressed')]).catch(() => null);

try {
  const alice = await register(browser, chat.url, 'alice');
  const bob = await register(browser, chat.url, 'bob');
  await say(alice, '#text', 'hello wrld');
  await waitText(bob, '#messages', 'hello wrld');

  // A reply: the quote names the parent's author and first line, and links to it.
  await menu(bob, 'hello wrld', 'Reply');
  check(await bob.isVisible('.replying'), 'the composer says what the reply is to');
  await say(bob, '#text', 'hi alice');
  await waitText(alice, '#messages', 'hi alice');
  const quote = await alice.$eval(`${item('hi alice')} .reply-quote`, (q) => q.textContent).catch(() => '');
  check(quote === '↪ alice: hello wrld', `the reply quotes its parent (${quote})`);
  await alice.click(`${item('hi alice')} .reply-quote`);
  check(await alice.$eval(item('hello wrld'), (li) => li.classList.contains('flash')), 'the quote leads to its parent');

  // A reaction from the picker, then the other one joins it with the chip.
  await menu(bob, 'hello wrld', 'React');
  await bob.click(`${item('hello wrld')} .picker button[aria-label="react with 👍"]`);
  await alice.waitForSelector(`${item('hello wrld')} .reactions .chip`, { timeout: 8000 });
  let chip = await chipLabel(alice, 'hello wrld');
  check(chip && chip[0] === '👍 1' && chip[1] === '👍 1 reaction: bob' && chip[2] === 'false', `alice sees bob's reaction (${chip})`);
  await alice.click(`${item('hello wrld')} .reactions .chip`);
  await bob.waitForSelector(`${item('hello wrld')} .reactions .chip:text-is("👍 2")`, { timeout: 8000 });
  chip = await chipLabel(alice, 'hello wrld');
  check(chip && chip[1] === '👍 2 reactions: bob, alice' && chip[2] === 'true', `her own reaction is pressed (${chip})`);

  // An edit in place: Escape cancels, Enter saves.
  await menu(alice, 'hello wrld', 'Edit');
  await alice.press('.edit-box', 'Escape');
  check(!(await alice.$('.edit-box')), 'Escape closes the editor');
  await menu(alice, 'hello wrld', 'Edit');
  await alice.fill('.edit-box', 'hello world');
  await alice.press('.edit-box', 'Enter');
  await waitText(bob, '#messages', 'hello world');
  check(await bob.isVisible(`${item('hello world')} .edited`), 'bob sees the edited mark');
  await bob.waitForSelector(`${item('hi alice')} .reply-quote:text-is("↪ alice: hello world")`, { timeout: 5000 });
  check(!(await alice.$(`${item('hi alice')} .actions button[aria-label="Edit"]`)), 'no Edit on a message of someone else');
  check(!!(await bob.$(`${item('hi alice')} .actions button[aria-label="Edit"]`)), 'Edit on your own message');

  // A deletion, confirmed in place.
  await say(alice, '#text', 'oops');
  await waitText(bob, '#messages', 'oops');
  await menu(alice, 'oops', 'Delete');
  await alice.click('.tools .confirm');
  await waitText(bob, '#messages', 'message deleted');
  check(!(await bob.$(item('oops'))), 'the deleted text is gone on the other side');
  await bob.screenshot({ path: path.join(outDir, 'edits.png') });

  // A reload reads the folded history: the same state.
  await bob.reload();
  await online(bob);
  await waitText(bob, '#messages', 'hello world');
  chip = await chipLabel(bob, 'hello world');
  check(chip && chip[0] === '👍 2' && chip[2] === 'true', `the reactions survive a reload (${chip})`);
  check(await bob.isVisible(`${item('hello world')} .edited`), 'the edited mark survives a reload');
  check(await bob.isVisible(item('message deleted')), 'the tombstone survives a reload');
  const quote2 = await bob.$eval(`${item('hi alice')} .reply-quote`, (q) => q.textContent).catch(() => '');
  check(quote2 === '↪ alice: hello world', `the reply's quote after a reload (${quote2})`);
  // Keyboard: the menu is a labelled button reached with Tab, opened with Enter.
  await bob.focus(`${item('hello world')} .menu-toggle`);
  await bob.keyboard.press('Enter');
  check(await bob.$eval(`${item('hello world')} .menu-toggle`, (b) => b.getAttribute('aria-expanded')) === 'true', 'the menu opens from the keyboard');

  // The same in a private conversation: a reply, a reaction, an edit, seen on both sides.
  const dmItem = (text) => `#conv-messages li.msg[data-id]:has(> .text:text-is("${text}"))`;
  for (const [page, other] of [[alice, 'bob'], [bob, 'alice']]) {
    await page.fill('#dm-to', other);
    await page.press('#dm-to', 'Enter');
    await page.waitForSelector('#conversation:not([hidden])', { timeout: 5000 });
  }
  await say(alice, '#conv-text', 'psst');
  await waitText(bob, '#conv-messages', 'psst');
  await bob.hover(dmItem('psst'));
  await bob.click(`${dmItem('psst')} .menu-toggle`);
  await bob.click(`${dmItem('psst')} .tools button[aria-label="React"]`);
  await bob.click(`${dmItem('psst')} .picker button[aria-label="react with 🎉"]`);
  await alice.waitForSelector(`${dmItem('psst')} .reactions .chip:text-is("🎉 1")`, { timeout: 8000 });
  check(true, 'a reaction in a private conversation reaches the other side');
  await alice.hover(dmItem('psst'));
  await alice.click(`${dmItem('psst')} .menu-toggle`);
  await alice.click(`${dmItem('psst')} .tools button[aria-label="Edit"]`);
  await alice.fill('#conv-messages .edit-box', 'psst, lunch?');
  await alice.press('#conv-messages .edit-box', 'Enter');
  await waitText(bob, '#conv-messages', 'psst, lunch?');
  check(await bob.isVisible(`${dmItem('psst, lunch?')} .edited`), 'an edit in a private conversation shows as edited');
  await bob.click(`${dmItem('psst, lunch?')} .menu-toggle`);
  await bob.click(`${dmItem('psst, lunch?')} .tools button[aria-label="Reply"]`);
  await say(bob, '#conv-text', 'yes');
  await waitText(alice, '#conv-messages', 'yes');
  const dmQuote = await alice.$eval(`${dmItem('yes')} .reply-quote`, (q) => q.textContent).catch(() => '');
  check(dmQuote === '↪ alice: psst, lunch?', `a reply in a private conversation quotes its parent (${dmQuote})`);
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `edits e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'edits e2e: all passed');
process.exit(failures.length ? 1 : 0);
