// Shared by the page tests of history and accessibility: a duplex-chat on a free loopback port,
// Chromium, pages that register a user, and a list of failed checks.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';

export const failures = [];
export function check(cond, what) {
  console.log((cond ? 'ok   ' : 'FAIL ') + what);
  if (!cond) failures.push(what);
}

export function startChat(binary, args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary, ['--host', '127.0.0.1', '--port', '0', ...args]);
    proc.stderr.on('data', (d) => process.stderr.write(d));
    proc.stdout.once('data', (d) => {
      const m = /:(\d+)\//.exec(d.toString());
      if (m) resolve({ proc, port: Number(m[1]), url: `http://127.0.0.1:${m[1]}/` }); else reject(new Error('no port in ' + d));
    });
    proc.once('error', reject);
  });
}

export const stopped = (proc) => new Promise((r) => { if (proc.exitCode !== null) r(); else proc.once('exit', r); });

export function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function open(context, url) {
  const page = await context.newPage();
  page.on('dialog', (d) => { failures.push('a browser dialog opened: ' + d.message()); d.dismiss(); });
  page.on('pageerror', (e) => failures.push('page error: ' + e.message));
  await page.goto(url);
  return page;
}

export const online = async (page) => {
  await page.waitForSelector('#status.online', { timeout: 8000 });
  await page.waitForSelector('#rooms li[data-room="general"]', { state: 'attached', timeout: 8000 });
};

export async function register(browser, url, name, viewport) {
  const page = await open(await browser.newContext({ viewport }), url);
  await page.waitForSelector('#account-dialog[open]', { timeout: 5000 });
  await page.fill('#account-name', name);
  await page.fill('#account-password', 'correct horse battery');
  await page.click('#account-register');
  await online(page);
  return page;
}

// On a phone the lists are in a drawer: open it before reaching them.
export async function drawer(page) {
  if (await page.isVisible('#drawer-toggle') && !(await page.evaluate(() => document.body.classList.contains('drawer-open')))) {
    await page.click('#drawer-toggle');
    await page.waitForSelector('#sidebar #rooms', { state: 'visible', timeout: 3000 });
  }
}

export async function switchRoom(page, name) {
  await drawer(page);
  await page.fill('#room-input', name);
  await page.press('#room-input', 'Enter');
  await page.waitForSelector(`#rooms li.current[data-room="${name}"]`, { state: 'attached', timeout: 5000 });
}

export async function say(page, sel, text) {
  await page.fill(sel, text);
  await page.press(sel, 'Enter');
}

export const waitText = (page, list, text) => page.waitForFunction(
  ([l, t]) => [...document.querySelectorAll(l + ' .msg[data-id] .text')].some((e) => e.textContent === t),
  [list, text], { timeout: 8000 });
