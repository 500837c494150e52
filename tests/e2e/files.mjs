// Files and images in Debian's Chromium (issue 14, item 7), two people: alice attaches an image
// with the button and a text file by paste and another by drop, while a draft stays in her
// composer; bob sees the image preview at its natural size, with its dimensions, and download
// links that fetch the files. A file past the limit is refused with the limit said.
//
// Usage: node files.mjs path/to/duplex-chat output-dir
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { check, failures, launch, register, startChat, stopped } from './support.mjs';

const [binary, outDir] = process.argv.slice(2);
mkdirSync(outDir, { recursive: true });
const dir = mkdtempSync(path.join(tmpdir(), 'duplex-e2e-files-'));
const LIMIT = 200 * 1024;

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

// A real PNG (every CRC right, so Chromium decodes it): `w` x `h`, blue.
function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, Buffer.from([0x25, 0x63, 0xeb]))]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// A paste or a drop of one text file, as the browser would fire it.
async function pasteOrDrop(page, kind, name, text) {
  await page.evaluate(([k, n, t]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([t], n, { type: 'text/plain' }));
    const ev = k === 'paste'
      ? new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true })
      : new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true });
    document.getElementById(k === 'paste' ? 'text' : 'messages').dispatchEvent(ev);
  }, [kind, name, text]);
}

const fileLink = (page, name) => page.waitForFunction(
  (n) => [...document.querySelectorAll('#messages .msg[data-id] a.file-link')].find((a) => a.textContent === n),
  name, { timeout: 8000 });

const chat = await startChat(binary, ['--db', path.join(dir, 'chat.db'), '--max-upload-bytes', String(LIMIT)]);
const browser = await launch();
try {
  const alice = await register(browser, chat.url, 'alice');
  const bob = await register(browser, chat.url, 'bob');
  await alice.fill('#text', 'a draft I am still writing');

  check(await alice.evaluate(() => {
    const b = document.querySelector('#composer button.attach');
    const r = b.getBoundingClientRect();
    return b.getAttribute('aria-label') === 'Attach files' && r.width >= 44 && r.height >= 44;
  }), 'the attach button is labelled and at least 44 px');
  await alice.setInputFiles('#composer input.file-picker', { name: 'blue.png', mimeType: 'image/png', buffer: png(30, 20) });
  const img = await bob.waitForSelector('#messages .msg[data-id] .file-image img', { timeout: 8000 });
  await bob.waitForFunction(() => document.querySelector('#messages .file-image img').complete, null, { timeout: 5000 });
  const shown = await img.evaluate((e) => ({ w: e.naturalWidth, h: e.naturalHeight, aw: e.getAttribute('width'), ah: e.getAttribute('height'), alt: e.alt }));
  check(shown.w === 30 && shown.h === 20 && shown.aw === '30' && shown.ah === '20',
    `bob sees the image at its natural size, with width and height given (${JSON.stringify(shown)})`);
  const meta = await bob.textContent('#messages .file-image + .file-meta');
  check(meta.includes('blue.png') && meta.includes('30 × 20'), `the preview says its name and dimensions (${meta})`);

  await pasteOrDrop(alice, 'paste', 'notes.txt', 'pasted into the composer');
  await pasteOrDrop(alice, 'drop', 'dropped.txt', 'dropped on the messages');
  for (const [name, text] of [['notes.txt', 'pasted into the composer'], ['dropped.txt', 'dropped on the messages']]) {
    await fileLink(bob, name);
    const got = await bob.evaluate(async (n) => {
      const a = [...document.querySelectorAll('#messages a.file-link')].find((e) => e.textContent === n);
      const res = await fetch(a.href);
      return { download: a.download, status: res.status, body: await res.text(), disposition: res.headers.get('Content-Disposition') };
    }, name);
    check(got.status === 200 && got.body === text && got.download === name && got.disposition.startsWith('attachment'),
      `bob gets ${name} as a download link that fetches it (${JSON.stringify(got)})`);
  }
  check(await alice.inputValue('#text') === 'a draft I am still writing', 'alice\'s draft stayed in her composer');

  await alice.setInputFiles('#composer input.file-picker', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(LIMIT + 50000, 1) });
  await alice.waitForFunction(() => document.getElementById('text-error').textContent.includes('at most'), null, { timeout: 8000 });
  check((await alice.textContent('#text-error')).includes('200.0 KiB'), `a file past the limit says the limit (${await alice.textContent('#text-error')})`);
  await bob.screenshot({ path: path.join(outDir, 'files.png') });
} catch (e) {
  failures.push('exception: ' + (e.stack || e));
} finally {
  await browser.close();
  chat.proc.kill('SIGTERM');
  await stopped(chat.proc);
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `files: ${failures.length} failed` : 'files: all passed');
process.exit(failures.length ? 1 : 0);
