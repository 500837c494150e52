// The composers and their sends: nothing typed is lost. Enter sends, Shift+Enter breaks the
// line; a byte counter in the server's unit; a refused send comes back into its composer with
// the error shown until the user acts; every send carries a client id (`cid`) that the server
// stores, so that a resend after a reconnect is recognised exactly (docs/chat-protocol.md).

// The server's limit (docs/limits.md): bytes of UTF-8, not characters. The welcome says it
// (`max_text_bytes`, set with --message-bytes); 4096 is the default until then.
let maxTextBytes = 4096;
export function setMaxTextBytes(n) {
  if (Number.isInteger(n) && n > 0) maxTextBytes = n;
}
const encoder = new TextEncoder();

export function byteLength(text) {
  return encoder.encode(text).length;
}

// 24 hex digits from the browser's random source (crypto.randomUUID needs a secure context).
export function newCid() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return 'c' + [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// Binds a form with a textarea, a counter and an error line. `send(text)` hands the text on,
// or returns why it cannot (a string): the text then stays, with the reason.
export function attachComposer({ form, input, counter, error, send }) {
  const update = () => {
    const n = byteLength(input.value);
    counter.textContent = n > 0 ? `${n} / ${maxTextBytes} bytes` : '';
    counter.classList.toggle('over', n > maxTextBytes);
  };
  const submit = () => {
    const text = input.value;
    if (!text.trim()) return;
    if (byteLength(text) > maxTextBytes) {
      error.textContent = `too long: at most ${maxTextBytes} bytes (this is ${byteLength(text)})`;
      return;
    }
    const why = send(text);
    if (typeof why === 'string') {
      error.textContent = why;
      return;
    }
    input.value = '';
    error.textContent = '';
    update();
  };
  form.onsubmit = (e) => {
    e.preventDefault();
    submit();
  };
  input.addEventListener('keydown', (e) => {
    // Shift+Enter is the textarea's own newline; an IME's Enter composes, it does not send.
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    submit();
  });
  input.addEventListener('input', () => {
    error.textContent = '';  // the user acted on what was refused
    update();
  });
  update();
  return {
    // A refused text comes back in front of whatever was typed since, with its reason.
    refused(text, why) {
      input.value = input.value ? text + '\n' + input.value : text;
      error.textContent = why;
      update();
    },
    update,
  };
}

// A pending send on the page: a faded copy that says "sending…" until its own message or its
// ack comes back, and "not sent" when it never can be.
export function pendingItem(nick, text, cid, makeItem) {
  const li = makeItem(nick, text);
  li.classList.add('pending');
  li.dataset.cid = cid;
  return li;
}

export function markFailed(li, why) {
  li.classList.remove('pending');
  li.classList.add('failed');
  const time = li.querySelector('time');
  if (time) time.textContent = 'not sent';
  li.title = why;
}
