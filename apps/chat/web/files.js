// Files and images (docs/chat-protocol.md, "Files"): the attach button, paste and drop upload to
// POST /api/files with progress; once stored, a message carries the file. Images show as
// previews of their real size (width and height given, so nothing jumps), other files as
// download links. Names go on the page with textContent only.
import { newCid } from './composer.js';

let maxBytes = 0;  // from /api/config, for the 413's message

function humanSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function fileUrl(file) {
  return `/files/${encodeURIComponent(file.id)}/${encodeURIComponent(file.name)}`;
}

// The element a message shows for its file.
export function fileElement(file) {
  const box = document.createElement('div');
  box.className = 'file';
  const link = document.createElement('a');
  link.href = fileUrl(file);
  if (file.type === 'image' && file.width > 0 && file.height > 0) {
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.className = 'file-image';
    const img = document.createElement('img');
    img.src = link.href;
    img.width = file.width;
    img.height = file.height;
    img.alt = `${file.name}, image ${file.width} × ${file.height}`;
    link.append(img);
    const cap = document.createElement('span');
    cap.className = 'file-meta';
    cap.textContent = `${file.name} · ${file.width} × ${file.height} · ${humanSize(file.size)}`;
    box.append(link, cap);
  } else {
    link.className = 'file-link';
    link.download = file.name;
    link.textContent = file.name;
    const size = document.createElement('span');
    size.className = 'file-meta';
    size.textContent = ` (${humanSize(file.size)})`;
    box.append(link, size);
  }
  return box;
}

// `li` with its message's file, if it has one.
export function withFile(li, file) {
  if (file && typeof file === 'object' && typeof file.id === 'string') li.append(fileElement(file));
  return li;
}

async function limitText() {
  if (!maxBytes) {
    try {
      const config = await (await fetch('/api/config')).json();
      maxBytes = config.max_upload_bytes || 0;
    } catch { /* the message says less, that is all */ }
  }
  return maxBytes ? `too large: files are at most ${humanSize(maxBytes)}` : 'too large for this server';
}

// One upload with progress; resolves with the server's description of the file.
function upload(file, query, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/files?${query}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('X-Filename', encodeURIComponent(file.name || 'pasted'));
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress(e.loaded / e.total); };
    xhr.onload = async () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: a 413 from the server */ }
      if (xhr.status === 200 && body) return resolve(body);
      if (xhr.status === 413) return reject(new Error(await limitText()));
      reject(new Error(body?.message || `upload failed (${xhr.status})`));
    };
    // A 413 sent before the whole body closes the connection: the browser may see an error.
    xhr.onerror = async () => reject(new Error(file.size > maxBytes && maxBytes ? await limitText()
      : 'upload failed: the connection ended'));
    xhr.send(file);
  });
}

// Adds an attach button to `form` (before its submit button), paste into `input` and drops on
// `dropZone`. `target()` names where files go: { room } or { with }, or null for nowhere;
// `send(message)` sends a say or dm; `error` shows what went wrong (the composer keeps its text).
export function attachFiles({ form, input, dropZone, error, target, send }) {
  const picker = document.createElement('input');
  picker.type = 'file';
  picker.multiple = true;
  picker.hidden = true;
  picker.className = 'file-picker';
  picker.setAttribute('aria-label', 'Files to attach');
  picker.tabIndex = -1;  // the button is the way in
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'attach';
  button.textContent = 'Attach';  // words, not an emoji a system may lack the font for
  button.setAttribute('aria-label', 'Attach files');
  button.title = 'Attach files (or paste, or drop them here)';
  const progress = document.createElement('progress');
  progress.className = 'upload-progress';
  progress.max = 1;
  progress.hidden = true;
  progress.setAttribute('aria-label', 'Upload progress');
  const submit = form.querySelector('button:not([type=button])');
  form.insertBefore(button, submit);
  form.append(picker, progress);
  button.onclick = () => picker.click();

  const sendAll = async (files) => {
    const where = target();
    if (!where || files.length === 0) return;
    const query = where.room ? `room=${encodeURIComponent(where.room)}` : `with=${encodeURIComponent(where.with)}`;
    for (const file of files) {
      progress.hidden = false;
      progress.value = 0;
      try {
        const stored = await upload(file, query, (p) => { progress.value = p; });
        const msg = where.room ? { type: 'say', room: where.room } : { type: 'dm', with: where.with };
        if (!send({ ...msg, text: '', file: stored.id, cid: newCid() }))
          error.textContent = `${file.name}: stored, but not sent (offline); attach it again`;
      } catch (e) {
        error.textContent = `${file.name}: ${e.message}`;
      } finally {
        progress.hidden = true;
      }
    }
  };
  picker.onchange = () => {
    const files = [...picker.files];
    picker.value = '';
    sendAll(files);
  };
  input.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (files.length === 0) return;  // text is pasted as text
    e.preventDefault();
    sendAll(files);
  });
  const dragging = (on) => dropZone.classList.toggle('drop-target', on);
  dropZone.addEventListener('dragover', (e) => {
    if (![...e.dataTransfer.types].includes('Files')) return;
    e.preventDefault();
    dragging(true);
  });
  dropZone.addEventListener('dragleave', () => dragging(false));
  dropZone.addEventListener('drop', (e) => {
    if (!e.dataTransfer.files.length) return;
    e.preventDefault();
    dragging(false);
    sendAll([...e.dataTransfer.files]);
  });
}
