// History that reads like a chat: a separator at each new day, the full date on hover, older
// pages loaded in place as the reader scrolls up (what they were reading stays where it was),
// the beginning of the room or conversation marked, and a way back to the latest message.
// The lists hold <li> items; a message item carries data-ts (its server time) and data-id.

// Message items kept per room or conversation once the reader leaves it: bounded memory, and a
// long-lived tab stays fast.
export const MAX_KEPT = 500;

function dayKey(ts) {
  const d = new Date(ts);
  return String(d.getFullYear() * 10000 + (d.getMonth() + 1) * 100 + d.getDate());
}

function dayLabel(ts) {
  const key = dayKey(ts);
  if (key === dayKey(Date.now())) return 'Today';
  if (key === dayKey(Date.now() - 86400000)) return 'Yesterday';
  return new Date(ts).toLocaleDateString([], { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
}

// The time of day, with the full date and time for hover and for machines (datetime).
export function timeElement(ts) {
  const t = document.createElement('time');
  t.className = 'time';
  if (!ts) {
    t.textContent = 'sending…';
    return t;
  }
  const d = new Date(ts);
  t.dateTime = d.toISOString();
  t.title = d.toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
  t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return t;
}

function separator(ts) {
  const li = document.createElement('li');
  li.className = 'day';
  li.dataset.day = dayKey(ts);
  const t = document.createElement('time');
  t.dateTime = new Date(ts).toISOString().slice(0, 10);
  t.textContent = dayLabel(ts);
  li.append(t);
  return li;
}

// Puts one separator before the first message of each day, and removes those that no longer
// open a day (after older messages were put above them).
export function fixDays(ol) {
  const old = new Set(ol.querySelectorAll(':scope > li.day'));
  const kept = new Set();
  let prev = '';
  for (const el of [...ol.children]) {
    if (!el.dataset.ts) continue;  // separators, system lines, dividers, unsent messages
    const ts = Number(el.dataset.ts);
    const key = dayKey(ts);
    if (key === prev) continue;
    prev = key;
    let first = el;  // a "new messages" divider right above stays under the day's name
    while (first.previousElementSibling?.classList.contains('divider')) first = first.previousElementSibling;
    const before = first.previousElementSibling;
    if (before && before.classList.contains('day') && before.dataset.day === key) kept.add(before);
    else first.before(separator(ts));
  }
  for (const s of old) if (!kept.has(s)) s.remove();
}

// Runs `change` (which adds items above) and keeps what the reader sees where it was.
export function keepPosition(ol, change) {
  const fromBottom = ol.scrollHeight - ol.scrollTop;
  change();
  ol.scrollTop = ol.scrollHeight - fromBottom;
}

// "This is the beginning of …" at the top of `ol`, once.
export function markBeginning(ol, text, empty = false) {
  ol.querySelector(':scope > li.beginning')?.remove();
  const li = document.createElement('li');
  li.className = 'beginning' + (empty ? ' empty' : '');
  li.textContent = text;
  ol.prepend(li);
}

export function atBottom(ol) {
  return ol.scrollHeight - ol.scrollTop - ol.clientHeight < 40;
}

export function toBottom(ol) {
  ol.scrollTop = ol.scrollHeight;
}

// Scrolling near the top asks for older messages (`more`, which says whether it asked); the
// jump button shows while the reader is away from the latest messages.
export function watch(ol, jump, more) {
  const update = () => {
    jump.hidden = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 200;
    if (ol.scrollTop < 150 && ol.scrollHeight > ol.clientHeight) more();
  };
  ol.addEventListener('scroll', update, { passive: true });
  jump.onclick = () => {
    toBottom(ol);
    jump.hidden = true;
  };
  return update;
}
