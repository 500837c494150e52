// The echo page in Debian's Chromium: it connects, sends what is typed, shows the echo as text.
import { chromium } from 'playwright-core';

const port = process.argv[2];
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.waitForFunction(() => document.getElementById('state').textContent === 'connected', null, { timeout: 5000 });
  const hostile = '<img src=x onerror="window.pwned=1">';
  await page.fill('#text', hostile);
  await page.press('#text', 'Enter');
  await page.waitForFunction((t) => [...document.querySelectorAll('.echo')].some((e) => e.textContent === '← ' + t), hostile, { timeout: 5000 });
  const pwned = await page.evaluate(() => window.pwned === 1 || document.querySelector('#log img') !== null);
  if (pwned) throw new Error('echoed markup was rendered as HTML');
  console.log('ok   echo page round trip in Chromium, markup shown as text');
} catch (e) {
  console.log('FAIL ' + e.message);
  failed = true;
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
