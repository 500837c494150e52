// Formatted messages in Debian's Chromium: one user writes Markdown (bold, a list, a code block,
// a quote, links) with hostile parts in it; the other sees the elements, a link that opens apart
// (rel noopener noreferrer), a javascript: link as text only, an <img> as text and no image, no
// dialog; a mention inside formatting is still highlighted; a newcomer gets the same from
// history, a private message is formatted too, and axe finds nothing serious in it.
//
// Usage: node formatting.mjs path/to/duplex-chat output-dir
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, failures, launch, register, say, startChat, stopped } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-formatting-'));
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db')]);
const browser = await launch();
const desktop = { width: 1100, height: 760 };

const message = [
  '**Release** notes, `v2` is *out*:',
  '- faster ~~slow~~ joins',
  '- [the docs](http://example.com/docs)',
  '',
  '```sh',
  'make && echo "<b>done</b>"',
  '```',
  '',
  '> quoted line one',
  '> line two',
  '',
  '[click me](javascript:window.pwned=1) <img src=x onerror="window.pwned=2;alert(1)">',
].join('\n');

// What the last message of `list` shows, as elements.
const shape = (page, list) => page.$eval(`${list} .msg[data-id]:last-child .text`, (t) => ({
  strong: [...t.querySelectorAll('strong')].map((e) => e.textContent),
  em: t.querySelector('em')?.textContent,
  del: t.querySelector('del')?.textContent,
  inline: t.querySelector('p code')?.textContent,
  items: [...t.querySelectorAll('ul > li')].map((e) => e.textContent),
  code: t.querySelector('pre > code')?.textContent,
  lang: t.querySelector('pre')?.dataset.lang,
  quote: t.querySelector('blockquote')?.innerText,
  links: [...t.querySelectorAll('a')].map((a) => ({ href: a.getAttribute('href'), rel: a.rel, target: a.target, text: a.textContent })),
  imgs: document.querySelectorAll('img').length,
  text: t.textContent,
  pwned: window.pwned,
}));

function checkShape(s, who) {
  check(s.strong.join() === 'Release' && s.em === 'out' && s.del === 'slow' && s.inline === 'v2',
    `${who}: bold, italic, strikethrough and inline code are elements`);
  check(s.items.length === 2 && s.items[0] === 'faster slow joins', `${who}: the list has its two items`);
  check(s.code === 'make && echo "<b>done</b>"\n' && s.lang === 'sh', `${who}: the code block keeps its text and language`);
  check(s.quote === 'quoted line one\nline two', `${who}: the quote keeps its two lines: ${JSON.stringify(s.quote)}`);
  check(s.links.length === 1 && s.links[0].href === 'http://example.com/docs' && s.links[0].rel === 'noopener noreferrer' &&
    s.links[0].target === '_blank' && s.links[0].text === 'the docs', `${who}: the http link opens apart: ${JSON.stringify(s.links)}`);
  check(s.text.includes('click me') && !s.links.some((l) => /script/i.test(l.href)), `${who}: the javascript: link is only its words`);
  check(s.imgs === 0 && s.text.includes('<img src=x onerror="window.pwned=2;alert(1)">'), `${who}: the <img> is text, no image exists`);
  check(s.pwned === undefined, `${who}: nothing ran`);
}

try {
  const alice = await register(browser, chat.url, 'alice', desktop);
  const bob = await register(browser, chat.url, 'bob', desktop);
  await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 2, null, { timeout: 8000 });

  await say(alice, '#text', message);
  await bob.waitForFunction(() => document.querySelector('#messages .msg[data-id]:last-child .text strong'), null, { timeout: 8000 });
  checkShape(await shape(bob, '#messages'), 'bob');
  checkShape(await shape(alice, '#messages'), 'alice (the sender, from the broadcast)');
  check(await bob.$eval('#messages .msg[data-id]:last-child .text', (t) => t.dataset.text) === message,
    'the text as typed stays with the message (copy, mentions)');

  // A mention on the second line of a formatted message still marks it for bob.
  await say(alice, '#text', '**heads up**\n@bob the build is `green`');
  await bob.waitForFunction(() => document.querySelector('#messages .msg[data-id]:last-child .text code')?.textContent === 'green', null, { timeout: 8000 });
  check(await bob.$eval('#messages .msg[data-id]:last-child', (e) => e.classList.contains('mention')), 'a mention inside formatted text is highlighted');
  // Plain lines stay lines.
  await say(alice, '#text', 'line one\nline two');
  await bob.waitForFunction(() => document.querySelector('#messages .msg[data-id]:last-child .text')?.textContent === 'line one\nline two', null, { timeout: 8000 });
  check(await bob.$eval('#messages .msg[data-id]:last-child .text', (t) => t.innerText) === 'line one\nline two', 'a plain two-line message shows two lines');

  // A newcomer reads the same from history.
  const carol = await register(browser, chat.url, 'carol', desktop);
  await carol.waitForFunction(() => document.querySelectorAll('#messages .msg[data-id] .text strong').length >= 2, null, { timeout: 8000 });
  const fromHistory = await carol.$$eval('#messages .msg[data-id] .text.md', (ts) => ts.length);
  check(fromHistory === 2, 'history entries carry their formatting: ' + fromHistory);

  // Private messages are formatted the same way.
  await alice.fill('#dm-to', 'bob');
  await alice.press('#dm-to', 'Enter');
  await alice.waitForSelector('#conversation:not([hidden])', { timeout: 5000 });
  await say(alice, '#conv-text', 'just *you*: [mail me](mailto:alice@example.com) or [not](data:text/html,hi)');
  await bob.click('#conversations li');
  await bob.waitForFunction(() => document.querySelector('#conv-messages .msg[data-id] .text em')?.textContent === 'you', null, { timeout: 8000 });
  const dmLinks = await bob.$$eval('#conv-messages .msg[data-id] .text a', (as) => as.map((a) => a.getAttribute('href')));
  check(dmLinks.join() === 'mailto:alice@example.com', 'a private message: mailto is a link, data: is not: ' + dmLinks.join());
  await bob.click('#conv-close').catch(() => {});

  await bob.evaluate(axeSource);
  const serious = await bob.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
  check(serious.length === 0, 'axe: no serious or critical violation with formatted messages ' + serious.join('; '));
  await alice.bringToFront();
  await alice.click('#conv-close').catch(() => {});
  await alice.waitForTimeout(200);
  await alice.screenshot({ path: path.join(outDir, 'chat-formatting.png') });
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
  console.log('FAIL ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `formatting e2e: ${failures.length} failure(s): ${failures.join('; ')}` : 'formatting e2e: all passed');
process.exit(failures.length ? 1 : 0);
