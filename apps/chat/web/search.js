// Search on the page: a box at the top of the sidebar (in the drawer on a phone; "/" or Ctrl+K
// reaches it), results in a panel that takes the place of the conversation, and a result opened
// in context: the messages around it in their room or conversation, the message highlighted and
// scrolled into view, older and newer ones on demand, and "Jump to latest" back to the live view.
// Every text from a user goes on the page with textContent; matches are <mark> elements made
// here from the server's [text, hit] pieces, never markup from the server.
import * as history from './history.js';
import { closeDrawer } from './a11y.js';

const $ = (id) => document.getElementById(id);
const VIEWS = ['chat', 'conversation', 'search-panel', 'context'];
const PAGE = 50;  // messages asked for each time the context grows

let send = () => false;
let openRoom = () => {};
let openConversation = () => {};
let query = '';      // the search whose results are shown
let waiting = false;  // a search was sent and not answered
let queued = '';     // a search typed meanwhile: sent once the one under way is answered
let stuck = 0;       // a timer: an answer lost with the socket does not block searching
let ctx = null;      // { field: 'room'|'with', name, id, first, last, start, latest, loading }
let before = null;   // the view to return to when the search panel closes

function visibleView() {
  return VIEWS.find((v) => !$(v).hidden) || 'chat';
}

function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
}

// Back to the live views, as the sidebar's buttons then choose (a room or a conversation).
function leave() {
  if ($('search-panel').hidden && $('context').hidden) return;
  ctx = null;
  $('search-panel').hidden = true;
  $('context').hidden = true;
  $('chat').hidden = false;
  $('conversation').hidden = true;
}

function setStatus(text) { $('search-status').textContent = text; }

function submit(q) {
  q = q.trim();
  if (!q) return;
  if (new TextEncoder().encode(q).length > 256) return setStatus('At most 256 bytes: shorten the search.');
  if (waiting) {  // the server takes one search at a time
    queued = q;
    return;
  }
  if (!send({ type: 'search', q })) return setStatus('Offline: the search will work once the chat is back.');
  query = q;
  asked();
  if ($('search-panel').hidden) before = visibleView();
  show('search-panel');
  closeDrawer();
  $('search-title').textContent = `Results for “${q}”`;
  $('search-results').replaceChildren();
  $('search-more').hidden = true;
  setStatus('Searching…');
}

function where(r) {
  return r.room !== undefined ? '#' + r.room : '@' + r.with;
}

function resultItem(r) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'result';
  b.dataset.id = r.id;
  if (r.room !== undefined) b.dataset.room = r.room; else b.dataset.with = r.with;
  const head = document.createElement('span');
  head.className = 'result-head';
  const place = document.createElement('span');
  place.className = 'place';
  place.textContent = where(r);
  const nick = document.createElement('span');
  nick.className = 'nick';
  nick.textContent = r.nick;
  head.append(place, nick, history.timeElement(r.ts));
  const text = document.createElement('span');
  text.className = 'snippet';
  for (const [piece, hit] of r.snippet) {
    if (!hit) { text.append(piece); continue; }
    const m = document.createElement('mark');
    m.textContent = piece;
    text.append(m);
  }
  b.append(head, text);
  b.onclick = () => openInContext(r.room !== undefined ? 'room' : 'with', r.room ?? r.with, r.id);
  li.append(b);
  return li;
}

function asked() {
  waiting = true;
  clearTimeout(stuck);
  stuck = setTimeout(() => { waiting = false; }, 10000);
}

// The search typed while another was under way, if any.
function sendNext() {
  waiting = false;
  clearTimeout(stuck);
  const q = queued;
  queued = '';
  if (q) submit(q);
  return q !== '';
}

function onResults(m) {
  if (sendNext() || m.q !== query) return;
  const ul = $('search-results');
  if (!m.before) ul.replaceChildren();
  ul.append(...m.results.map(resultItem));
  const n = ul.children.length;
  setStatus(n === 0 ? `Nothing found for “${m.q}” in your rooms and conversations.`
    : `${n} result${n > 1 ? 's' : ''}${m.next ? ', more below' : ''}.`);
  const more = $('search-more');
  more.hidden = !m.next;
  more.dataset.next = m.next || '';
}

// ----- a result in context

function openInContext(field, name, id) {
  ctx = { field, name, id, first: 0, last: 0, start: false, latest: false, loading: true };
  show('context');
  $('context-title').textContent = (field === 'room' ? '#' + name : 'private conversation with ' + name) + ' · a search result';
  $('context-messages').replaceChildren();
  setContextStatus('Loading…');
  send({ type: 'around', [field]: name, id });
}

function setContextStatus(text) { $('context-status').textContent = text; }

function contextItem(m) {
  const li = document.createElement('li');
  li.className = 'msg';
  li.dataset.id = m.id;
  if (m.ts) li.dataset.ts = m.ts;
  const n = document.createElement('span');
  n.className = 'nick';
  n.textContent = m.nick;
  const t = document.createElement('span');
  t.className = 'text';
  t.textContent = m.text;
  li.append(n, t, history.timeElement(m.ts));
  if (ctx && m.id === ctx.id) {
    li.classList.add('found');
    li.tabIndex = -1;
    li.setAttribute('aria-label', `search result: ${m.nick}: ${m.text}`);
  }
  return li;
}

function onAround(m) {
  if (!ctx || m[ctx.field] !== ctx.name) return;
  const ol = $('context-messages');
  const items = m.messages.filter((x) => x.text).map(contextItem);
  const first = !ctx.first && !ctx.last;
  const ids = m.messages.map((x) => x.id);
  const lo = ids.length ? Math.min(...ids) : m.id;
  const hi = ids.length ? Math.max(...ids) : m.id;
  if (first) {
    ol.replaceChildren(...items);
    ctx.first = lo;
    ctx.last = hi;
    ctx.start = m.start === true;
    ctx.latest = m.latest === true;
  } else if (m.id < ctx.first) {  // an older page (asked for below the first shown)
    history.keepPosition(ol, () => ol.prepend(...items));
    ctx.first = Math.min(ctx.first, lo);
    ctx.start = m.start === true;
  } else {  // a newer page
    ol.append(...items);
    ctx.last = Math.max(ctx.last, hi);
    ctx.latest = m.latest === true;
  }
  ctx.loading = false;
  history.fixDays(ol);
  $('context-older').hidden = ctx.start;
  $('context-newer').hidden = ctx.latest;
  if (ctx.start) history.markBeginning(ol, 'This is the beginning.');
  if (first) {
    const found = ol.querySelector('li.found');
    setContextStatus(found ? '' : 'This message is no longer there.');
    if (found) {
      found.scrollIntoView({ block: 'center' });
      found.focus({ preventScroll: true });
    }
  }
}

function loadOlder() {
  if (!ctx || ctx.loading || ctx.start || !ctx.first) return;
  ctx.loading = true;
  send({ type: 'around', [ctx.field]: ctx.name, id: ctx.first - 1, before: PAGE - 1, after: 0 });
}

function loadNewer() {
  if (!ctx || ctx.loading || ctx.latest || !ctx.last) return;
  ctx.loading = true;
  send({ type: 'around', [ctx.field]: ctx.name, id: ctx.last + 1, before: 0, after: PAGE - 1 });
}

function jumpToLatest() {
  if (!ctx) return;
  const { field, name } = ctx;
  leave();
  if (field === 'room') openRoom(name); else openConversation(name);
}

function onError(m) {
  if (m.request === 'search') {
    if (!sendNext()) setStatus(m.message);
    return true;
  }
  if (m.request === 'around') {
    if (ctx) ctx.loading = false;
    setContextStatus(m.message);
    return true;
  }
  return false;
}

// What the server says about search: true when the message was one of its answers.
export function handle(m) {
  if (m.type === 'search') { onResults(m); return true; }
  if (m.type === 'around') { onAround(m); return true; }
  if (m.type === 'error' && m.request) return onError(m);
  return false;
}

function focusBox(e) {
  const typing = e.target.closest?.('input, textarea, select, [contenteditable="true"]');
  const slash = e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey;
  const ctrlK = (e.ctrlKey || e.metaKey) && (e.key === 'k' || e.key === 'K');
  if ((!slash && !ctrlK) || document.querySelector('dialog[open]')) return;
  e.preventDefault();
  if (window.matchMedia('(max-width: 640px)').matches && !document.body.classList.contains('drawer-open')) $('drawer-toggle').click();
  // The drawer becomes visible over a few frames (a transition), and nothing hidden takes focus.
  const input = $('search-input');
  const focus = (tries) => {
    input.focus();
    input.select();
    if (document.activeElement !== input && tries > 0) requestAnimationFrame(() => focus(tries - 1));
  };
  focus(30);
}

// `open.room(name)` and `open.conversation(with)` show the live view of a feed.
export function init(opts) {
  send = opts.send;
  openRoom = opts.room;
  openConversation = opts.conversation;
  $('search-form').onsubmit = (e) => {
    e.preventDefault();
    submit($('search-input').value);
  };
  $('search-more').onclick = () => {
    const next = Number($('search-more').dataset.next);
    if (!next || waiting) return;
    if (send({ type: 'search', q: query, before: next })) asked();
  };
  $('search-close').onclick = () => {
    const back = before && before !== 'search-panel' ? before : 'chat';
    ctx = back === 'context' ? ctx : null;
    show(back);
  };
  $('context-back').onclick = () => show('search-panel');
  $('context-latest').onclick = jumpToLatest;
  $('context-older').onclick = loadOlder;
  $('context-newer').onclick = loadNewer;
  $('context-messages').addEventListener('scroll', () => {
    const ol = $('context-messages');
    if (ol.scrollTop < 100) loadOlder();
    if (ol.scrollHeight - ol.scrollTop - ol.clientHeight < 100) loadNewer();
  }, { passive: true });
  // A room, a conversation or a member chosen in the sidebar leaves search for the live view.
  $('sidebar').addEventListener('click', (e) => { if (e.target.closest('.item-button')) leave(); }, true);
  for (const id of ['room-form', 'dm-form']) $(id).addEventListener('submit', leave, true);
  document.addEventListener('keydown', focusBox);
}
