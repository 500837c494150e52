// Mentions and notifications: `@name` completion in the room's composer from the room's
// members (a listbox the keyboard drives), messages that mention the reader highlighted, and,
// while the tab is hidden, a browser notification (once the user allowed them, asked from a
// click) and an unread count in the title for a mention or a private message.

const $ = (id) => document.getElementById(id);
const baseTitle = document.title;
let api = null;  // { me: () => nick, members: () => [names] }
let hiddenCount = 0;
let choices = [];
let active = 0;

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// Whether `text` names `nick` as a whole word after an @ (case-insensitive).
export function mentions(text, nick) {
  if (!nick) return false;
  return new RegExp(`(^|[^\\w@])@${escapeRe(nick)}(?![\\w-])`, 'iu').test(text);
}

// ----- completion
function query() {
  const input = $('text');
  const before = input.value.slice(0, input.selectionStart ?? input.value.length);
  const m = /(^|\s)@([^\s@]{0,32})$/u.exec(before);
  return m ? m[2] : null;
}

function closePopup() {
  choices = [];
  $('mention-list').hidden = true;
  $('text').setAttribute('aria-expanded', 'false');
  $('text').removeAttribute('aria-activedescendant');
}

function render() {
  const ul = $('mention-list');
  ul.replaceChildren(...choices.map((name, i) => {
    const li = document.createElement('li');
    li.id = 'mention-' + i;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === active));
    li.textContent = '@' + name;
    li.onmousedown = (e) => { e.preventDefault(); pick(i); };  // before the input loses focus
    return li;
  }));
  ul.hidden = choices.length === 0;
  $('text').setAttribute('aria-expanded', String(choices.length > 0));
  if (choices.length) $('text').setAttribute('aria-activedescendant', 'mention-' + active);
}

function update() {
  const q = query();
  if (q === null) return closePopup();
  const lower = q.toLowerCase();
  choices = api.members().filter((n) => n !== api.me() && n.toLowerCase().startsWith(lower)).sort().slice(0, 8);
  active = 0;
  render();
}

function pick(i) {
  const input = $('text');
  const at = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, at).replace(/@[^\s@]*$/u, '@' + choices[i] + ' ');
  input.value = before + input.value.slice(at);
  input.setSelectionRange(before.length, before.length);
  closePopup();
  input.focus();
}

// In the capture phase, before the composer's own keys: Enter picks a name, never sends.
function onKey(e) {
  if (e.target.id !== 'text' || !choices.length) return;
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    active = (active + (e.key === 'ArrowDown' ? 1 : choices.length - 1)) % choices.length;
    render();
  } else if (e.key === 'Enter' || e.key === 'Tab') {
    pick(active);
  } else if (e.key === 'Escape') {
    closePopup();
  } else {
    return;
  }
  e.preventDefault();
  e.stopImmediatePropagation();
}

// ----- highlighting: every message item put into the room's or a conversation's list
function highlight(li) {
  if (!(li instanceof HTMLElement) || !li.classList.contains('msg')) return;
  const t = li.querySelector('.text');
  // A formatted message's elements join its lines without a space: read the text as typed.
  const text = t?.dataset.text ?? t?.textContent ?? '';
  const nick = li.querySelector('.nick')?.textContent || '';
  li.classList.toggle('mention', nick !== api.me() && mentions(text, api.me()));
}

// ----- notifications
function setTitle() {
  document.title = hiddenCount ? `(${hiddenCount}) ${baseTitle}` : baseTitle;
}

function notify(title, body) {
  if (document.visibilityState !== 'hidden') return;
  hiddenCount++;
  setTitle();
  if ('Notification' in window && Notification.permission === 'granted') new Notification(title, { body, tag: 'duplex-chat' });
}

// A live message of a room: worth a notification when it mentions the reader.
export function roomMessage(room, m) {
  if (m.nick !== api.me() && mentions(m.text, api.me())) notify(`${m.nick} mentioned you in #${room}`, m.text);
}

// A live private message.
export function privateMessage(m) {
  if (m.nick !== api.me()) notify(`Private message from ${m.nick}`, m.text);
}

function offerPermission() {
  const b = $('notify-enable');
  b.hidden = !('Notification' in window) || Notification.permission !== 'default';
  b.onclick = async () => {
    await Notification.requestPermission();  // from the click: browsers ignore it otherwise
    b.hidden = Notification.permission !== 'default';
  };
}

export function init(a) {
  api = a;
  const input = $('text');
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'mention-list');
  input.setAttribute('aria-expanded', 'false');
  input.addEventListener('input', update);
  input.addEventListener('blur', () => setTimeout(closePopup, 100));
  document.addEventListener('keydown', onKey, true);
  const watch = new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) highlight(n);
  });
  for (const id of ['messages', 'conv-messages']) watch.observe($(id), { childList: true });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') { hiddenCount = 0; setTitle(); }
  });
  offerPermission();
}
