// Accounts in Debian's Chromium: register, stay signed in across a reload, a second tab is the
// same person, look-alike names are refused, wrong passwords are rate-limited, signing out ends
// the other tab's socket, and with --guests a guest cannot take a registered name.
//
// Usage: node accounts.mjs path/to/duplex-chat output-dir
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const db = path.join(mkdtempSync(path.join(tmpdir(), 'duplex-e2e-accounts-')), 'chat.db');
const failures = [];
const check = (cond, what) => {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
};

function startChat(extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', '--db', db, ...extra]);
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

// Fills the sign-in screen and presses `button` (#account-login or #account-register).
async function account(page, button, name, password) {
  await page.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await page.fill('#account-name', name);
  await page.fill('#account-password', password);
  await page.click(button);
}

const online = (page) => page.waitForSelector('#status.online', { timeout: 8000 });
const errorText = async (page) => {
  await page.waitForFunction(() => document.getElementById('account-error').textContent !== '', null, { timeout: 8000 });
  return page.textContent('#account-error');
};
const clearError = (page) => page.evaluate(() => { document.getElementById('account-error').textContent = ''; });
const waitText = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#messages .msg .text')].some((e) => e.textContent === t), text, { timeout: 8000 });

let chat = await startChat();
let url = `http://127.0.0.1:${chat.port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  // Without --guests a page starts at the sign-in screen, and the WebSocket is refused.
  const aliceCtx = await browser.newContext({ viewport: { width: 1000, height: 700 } });
  const tab1 = await open(aliceCtx, url);
  await tab1.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  check(!(await tab1.isVisible('#account-guest')), 'without --guests there is no guest entrance');
  const refused = await tab1.evaluate((u) => new Promise((r) => {
    const ws = new WebSocket(u.replace('http', 'ws') + 'ws');
    ws.onopen = () => r('open');
    ws.onclose = () => r('closed');
  }), url);
  check(refused === 'closed', 'a WebSocket without a session is refused');

  await account(tab1, '#account-register', 'alice', 'correct horse battery');
  await online(tab1);
  await tab1.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 5000 });
  check((await tab1.textContent('#account-who')) === 'alice', 'registered and signed in as alice');
  check(!(await tab1.isVisible('#account-dialog')), 'the sign-in screen is gone');
  await tab1.screenshot({ path: path.join(outDir, 'signed-in.png') });

  await tab1.reload();
  await online(tab1);
  check((await tab1.textContent('#account-who')) === 'alice' && !(await tab1.isVisible('#account-dialog')),
    'a reload keeps alice signed in');

  // A second tab of the same browser is the same person: both stay online, one member.
  const tab2 = await open(aliceCtx, url);
  await online(tab2);
  await tab2.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 5000 });
  await tab2.fill('#text', 'from the second tab');
  await tab2.press('#text', 'Enter');
  await waitText(tab1, 'from the second tab');
  const nick = await tab1.$$eval('#messages .msg', (els) => els.map((e) => e.querySelector('.nick')?.textContent).pop());
  check(nick === 'alice', 'a message from the second tab shows in the first under alice');
  await tab1.waitForTimeout(300);
  check(await tab1.isVisible('#status.online'), 'the second tab did not kick the first one out');
  const members = await tab2.$$eval('#members li', (els) => els.map((e) => e.textContent));
  check(members.filter((m) => m === 'alice').length === 1, 'alice is listed once with two tabs open');

  // Names that are or look like alice's are refused, each with its own explanation.
  const other = await open(await browser.newContext(), url);
  await account(other, '#account-register', 'ALICE', 'another password');
  check((await errorText(other)).includes('taken'), 'ALICE is refused: the name is taken');
  await clearError(other);
  await account(other, '#account-register', '\u0410lice', 'another password');
  const cyrillic = await errorText(other);
  check(cyrillic.includes('not allowed') || cyrillic.includes('looks like'), `Аlice with a Cyrillic А is refused (${cyrillic})`);
  await clearError(other);
  await account(other, '#account-register', 'a1ice', 'another password');
  check((await errorText(other)).includes('looks like an existing name'), 'a1ice is refused: it looks like alice');
  await clearError(other);
  await other.screenshot({ path: path.join(outDir, 'look-alike-refused.png') });

  // Signing out in one tab ends the session: the other tab's socket is closed at once.
  await tab1.click('#sign-out');
  await tab2.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  check((await tab2.textContent('#status')) === 'signed out', 'signing out closes the other tab\'s socket');
  await tab1.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  check(true, 'the tab that signed out shows the sign-in screen');

  // Sign in again, change the password, and see the session list.
  await account(tab1, '#account-login', 'alice', 'correct horse battery');
  await online(tab1);
  await tab1.click('#account-open');
  await tab1.waitForSelector('#sessions li', { timeout: 5000 });
  check((await tab1.textContent('#sessions')).includes('(this device)'), 'the session list shows this device');
  check((await tab1.textContent('#sessions li')).startsWith('Chrome on Linux ·'), 'a session names its browser and system, not the raw User-Agent');
  await tab1.fill('#password-current', 'correct horse battery');
  await tab1.fill('#password-new', 'a new horse battery');
  await tab1.click('#password-form button');
  await tab1.waitForFunction(() => document.getElementById('panel-notice').textContent.startsWith('Password changed'), null, { timeout: 8000 });
  check(true, 'the password can be changed');

  // A display name apart from the sign-in name; never one that is or looks like another's.
  const bobPage = await open(await browser.newContext(), url);
  await account(bobPage, '#account-register', 'bob', 'bob the builder');
  await online(bobPage);
  await tab1.fill('#display-name', 'B0B');
  await tab1.click('#display-form button');
  await tab1.waitForFunction(() => document.getElementById('panel-error').textContent.includes('looks like'), null, { timeout: 5000 });
  check(true, 'a display name that looks like another user\'s sign-in name is refused');
  await tab1.fill('#display-name', 'Alice W.');
  await Promise.all([tab1.waitForNavigation(), tab1.click('#display-form button')]);
  await online(tab1);
  check((await tab1.textContent('#account-who')) === 'Alice W.', 'alice shows as "Alice W." after choosing it');
  await tab1.fill('#text', 'under my display name');
  await tab1.press('#text', 'Enter');
  await waitText(tab1, 'under my display name');
  const shownAs = await tab1.$$eval('#messages .msg', (els) => els.map((e) => e.querySelector('.nick')?.textContent).pop());
  check(shownAs === 'Alice W.', `her messages carry the display name (${shownAs})`);
  await waitText(bobPage, 'under my display name');
  const bobSees = await bobPage.$$eval('#messages .msg', (els) => els.map((e) => e.querySelector('.nick')?.textContent).pop());
  check(bobSees === 'Alice W.', `bob sees her display name (${bobSees})`);

  // Wrong passwords: the same answer for each, then a wait.
  await account(other, '#account-login', 'alice', 'not the password');
  check((await errorText(other)) === 'Wrong name or password.', 'a wrong password is refused');
  let limited = '';
  for (let i = 0; i < 15 && !limited; ++i) {
    await clearError(other);
    await other.click('#account-login');
    const text = await errorText(other);
    if (text.startsWith('Too many attempts')) limited = text;
  }
  check(limited !== '', `wrong passwords are rate-limited (${limited})`);
  await clearError(other);
  await account(other, '#account-login', 'alice', 'a new horse battery');
  check((await errorText(other)).startsWith('Too many attempts'), 'even the right password waits once the account is limited');

  // With --guests, a guest chooses a free name, but never a registered one.
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  chat = await startChat(['--guests']);
  url = `http://127.0.0.1:${chat.port}/`;
  const guest = await open(await browser.newContext({ viewport: { width: 390, height: 700 } }), url);
  await guest.waitForSelector('#nick-dialog[open]', { timeout: 5000 });
  for (const name of ['alice', 'ALICE']) {
    await guest.fill('#nick', name);
    await guest.press('#nick', 'Enter');
    await guest.waitForFunction(() => document.getElementById('nick-error').textContent.includes('registered'), null, { timeout: 5000 });
    check(true, `a guest cannot take the registered name ${name}`);
    await guest.evaluate(() => { document.getElementById('nick-error').textContent = ''; });
  }
  await guest.fill('#nick', 'gus');
  await guest.press('#nick', 'Enter');
  await online(guest);
  check(true, 'a guest with a free name enters');
  const alicePage = await open(aliceCtx, url);
  await online(alicePage);
  await guest.fill('#text', 'a guest speaks');
  await guest.press('#text', 'Enter');
  await waitText(alicePage, 'a guest speaks');
  check(await alicePage.$eval('#messages .msg:last-child .nick', (e) => e.classList.contains('guest')),
    'the guest\'s message is marked as a guest\'s');
  await alicePage.waitForSelector('#members li.guest', { timeout: 5000 });
  check((await alicePage.textContent('#members li.guest')) === 'gus', 'the guest is marked in the member list');
  await alicePage.fill('#text', 'a member answers');
  await alicePage.press('#text', 'Enter');
  await waitText(guest, 'a member answers');
  check(!(await guest.$eval('#messages .msg:last-child .nick', (e) => e.classList.contains('guest'))),
    'a registered member\'s message is not marked');
  await alicePage.screenshot({ path: path.join(outDir, 'guest-marked.png') });
  await guest.screenshot({ path: path.join(outDir, 'guest-phone.png') });
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
}
if (failures.length) {
  console.log(`${failures.length} failure(s):\n- ` + failures.join('\n- '));
  process.exit(1);
}
console.log('all accounts checks passed');
