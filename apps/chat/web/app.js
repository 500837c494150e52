// The chat page: one WebSocket to /ws, resumed after every disconnect without gaps or doubles.
// Every text that came from a user is put on the page with textContent, never as markup
// (formatting too: markdown.js builds its elements the same way).
// Private conversations are conversations.js's; the hooks here are marked "conversations".
import { createConversations } from './conversations.js';
import * as account from './account.js';
import * as rooms from './rooms.js';
import * as history from './history.js';
import * as a11y from './a11y.js';
import * as mentions from './mentions.js';
import { fill as fillText } from './markdown.js';
import * as search from './search.js';
import * as edits from './edits.js';
import { attachComposer, markFailed, newCid, pendingItem, setMaxTextBytes } from './composer.js';
import * as outbox from './outbox.js';
import { attachFiles, withFile } from './files.js';

const $ = (id) => document.getElementById(id);
const state = {
  ws: null,
  nick: sessionStorage.getItem('duplex.nick') || '',
  token: sessionStorage.getItem('duplex.token') || '',
  rooms: new Map(),  // name -> { lastId, firstId, members: Set, unread, pending: Map(cid -> text) }
  current: '',
  attempt: 0,
  typingSent: 0,
  typingTimers: new Map(),
  signedIn: false,  // read marks are kept by the server for signed-in users only
  ended: '',  // why the socket closed for good: pending sends have failed
  composer: null,
  reply: null,  // the room composer's reply bar (edits.js)
  replyOf: new Map(),  // cid of a pending say -> the id it replies to, for its resend
};
// conversations: each in its own view, which replaces the room's while it is open.
const convo = createConversations({
  send: (obj) => send(obj),
  me: () => state.nick,
  onOpen: () => { $('chat').hidden = true; renderRooms(); a11y.closeDrawer(); },
  onClose: () => { $('chat').hidden = false; renderRooms(); },
  notice: (text) => onError({ message: text }),
});

function setStatus(kind, text) {
  const el = $('status');
  el.hidden = false;  // nothing is said before the first attempt to connect
  a11y.hideStartBanner();
  el.className = 'status ' + kind;
  el.textContent = text;
}

function send(obj) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(obj));
    return true;
  }
  return false;
}

function connect() {
  if (!account.mayConnect()) return;  // waiting for a sign-in
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  const ws = new WebSocket(scheme + location.host + '/ws');
  state.ws = ws;
  setStatus('reconnecting', state.attempt ? 'reconnecting…' : 'connecting…');
  let opened = false;
  ws.onopen = () => { opened = true; send({ type: 'hello', nick: state.nick, token: state.token }); };
  ws.onmessage = (e) => handle(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (e.code === 4000) return endForGood('opened in another tab');
    if (e.code === 4001 || e.code === 4002) {
      outbox.forget();
      endForGood('signed out');
      return account.ended(e.code);
    }
    if (!opened) account.verify();  // refused: the session may have ended
    // Exponential backoff with jitter: many clients of a restarted server do not return at once.
    const base = Math.min(30000, 500 * 2 ** state.attempt++);
    const delay = base / 2 + Math.random() * base / 2;
    setStatus('reconnecting', `reconnecting in ${Math.ceil(delay / 1000)} s`);
    setTimeout(connect, delay);
  };
}

// No reconnection follows: what waits to be sent is marked as not sent, with the reason.
function endForGood(why) {
  state.ended = why;
  setStatus('offline', why);
  document.querySelectorAll('.msg.pending').forEach((li) => markFailed(li, 'not sent: ' + why));
  convo.failAll(why);  // conversations
}

function handle(m) {
  account.noteGuests(m);
  if (convo.handle(m)) return;  // conversations
  if (rooms.handle(m)) return;
  if (search.handle(m)) return;
  switch (m.type) {
    case 'welcome': return onWelcome(m);
    case 'joined': return onJoined(m);
    case 'history': return onHistory(m);
    case 'message': return addMessage(m.room, m);
    case 'ack': return onAck(m);
    case 'presence': return onPresence(m);
    case 'status': return onStatus(m);
    case 'typing': return onTyping(m);
    case 'read': return onRead(m);
    case 'left': return onLeft(m);
    case 'error': return onError(m);
  }
}

function onWelcome(m) {
  state.nick = m.nick;
  state.token = m.token;
  sessionStorage.setItem('duplex.nick', m.nick);
  sessionStorage.setItem('duplex.token', m.token);
  state.attempt = 0;
  $('nick-dialog').close();
  $('me').textContent = 'you are ' + m.nick;
  setStatus('online', 'online');
  state.signedIn = m.signed_in === true;
  setMaxTextBytes(m.max_text_bytes);
  // Sends kept from before a reload are pending again, and go with the joins and the welcome.
  for (const e of outbox.claim(m.nick)) {
    if (e.kind === 'say') roomState(e.to).pending.set(e.cid, e.text);
    else if (e.kind === 'dm') convo.restore(e.to, e.cid, e.text);
  }
  convo.welcome(m);  // conversations
  const rooms = state.rooms.size ? [...state.rooms.keys()] : ['general'];
  for (const name of rooms) join(name);
}

function join(name) {
  const room = state.rooms.get(name);
  // A room we already show resumes from the last id we saw; the server sends only what is newer.
  const msg = { type: 'join', room: name };
  if (room && room.lastId > 0) msg.since = room.lastId;
  send(msg);
}

function roomState(name) {
  if (!state.rooms.has(name)) {
    // view: the room's items while another is shown (history.js); atStart: nothing older exists
    state.rooms.set(name, { lastId: 0, firstId: 0, lastRead: 0, dividerAt: -1, members: new Set(), unread: 0, pending: new outbox.Pending('say', name), view: null, atStart: false, loading: false });
    saveRooms();
  }
  return state.rooms.get(name);
}

function saveRooms() { sessionStorage.setItem('duplex.rooms', JSON.stringify([...state.rooms.keys()])); }

function onJoined(m) {
  const room = roomState(m.room);
  room.joined = true;
  room.members = new Set(m.members);
  room.online = new Set(m.online || m.members);  // members are also those who are away
  if (!state.current) state.current = m.room;
  // The server's read mark: unread counts and the "new messages" divider survive a reload.
  if (m.last_read !== undefined) {
    room.lastRead = m.last_read;
    if (m.room === state.current) room.dividerAt = m.unread > 0 ? m.last_read : -1;
    else room.unread = m.unread;
  }
  render();
}

function onRead(m) {
  const room = state.rooms.get(m.room);
  if (!room) return;
  room.lastRead = Math.max(room.lastRead, m.id);
  if (room.lastRead >= room.lastId) room.unread = 0;
  renderRooms();
}

// The current room is read up to what it shows.
function markRead(roomName) {
  const room = state.rooms.get(roomName);
  if (state.signedIn && room && room.lastId > room.lastRead && document.visibilityState !== 'hidden')
    send({ type: 'read', room: roomName, id: room.lastId });
}

function onHistory(m) {
  const room = roomState(m.room);
  if (m.before !== undefined) {  // an older page: goes above what is shown
    room.loading = false;
    if (m.room !== state.current || convo.isOpen()) return;
    const list = m.messages.filter((x) => room.firstId === 0 || x.id < room.firstId);
    if (list.length) room.firstId = list[0].id;
    prependMessages(list, m.room, m.start === true);
    return;
  }
  for (const x of m.messages) addMessage(m.room, x, false);
  if (m.start && !m.resume) {
    room.atStart = true;
    if (m.room === state.current) showBeginning(m.room);
  }
  resendPending(m.room);
  if (m.room === state.current) markRead(m.room);
}

// `live`: a message as it is sent, which may be news; history is counted by the server's
// read marks (onJoined), never message by message.
function addMessage(roomName, m, live = true) {
  const room = roomState(roomName);
  if (edits.isEvent(m)) return roomEvent(roomName, room, m, live);
  settle(room, m.cid);
  if (m.id <= room.lastId) return;  // already shown: a resume never doubles a message
  room.lastId = m.id;
  if (live) mentions.roomMessage(roomName, m);
  if (live && roomName === state.current && state.typingTimers.has(m.nick)) {
    // Their message is here: they are no longer typing it.
    clearTimeout(state.typingTimers.get(m.nick));
    state.typingTimers.delete(m.nick);
    renderTyping();
  }
  if (!room.firstId) room.firstId = m.id;
  if (roomName === state.current) {
    if (room.dividerAt >= 0 && m.id > room.dividerAt && m.nick !== state.nick) {
      appendItem(dividerItem());
      room.dividerAt = -1;
    }
    appendItem(serverItem(roomName, m));
    if (live) markRead(roomName);
    if (live && m.nick !== state.nick) a11y.announce(`${m.nick} in #${roomName}: ${m.text}`);
  } else {
    // A room kept aside stays whole, so that switching back shows it at once and resumes.
    if (room.view) room.view.push(serverItem(roomName, m));
    if (live && m.id > room.lastRead && m.nick !== state.nick) {
      room.unread++;
      renderRooms();
    }
  }
}

// An edit, deletion or reaction (edits.js): folded into its message where it is shown, kept
// or not; its id counts like a message's, so that a resume starts after it.
function roomEvent(roomName, room, m, live) {
  edits.settle(m.cid);
  if (m.id <= room.lastId) return;
  room.lastId = m.id;
  const li = itemOf(roomName, m.target);
  if (li?._m && edits.fold(li._m, m)) {
    const ctx = roomCtx(roomName);
    edits.decorate(li, li._m, ctx);
    // Replies quote its first line: they follow an edit or a deletion.
    const items = roomName === state.current ? [...$('messages').children] : (state.rooms.get(roomName)?.view || []);
    for (const x of items) if (x._m?.reply_to === m.target) edits.decorate(x, x._m, ctx);
  }
  if (live && roomName === state.current) markRead(roomName);
}

function itemOf(roomName, id) {
  if (roomName === state.current) return $('messages').querySelector(`li.msg[data-id="${id}"]`);
  return state.rooms.get(roomName)?.view?.find((li) => li.dataset?.id === String(id)) || null;
}

function roomCtx(roomName) {
  return {
    where: { room: roomName }, me: () => state.nick, send,
    find: (id) => itemOf(roomName, id)?._m,
    item: (id) => (roomName === state.current ? itemOf(roomName, id) : null),
    reply: (m) => state.reply.set(m),
  };
}

function serverItem(roomName, m) {
  const li = withFile(messageItem(m.nick, m.text, m.ts, false, m.id, m.md), m.file);
  edits.decorate(li, m, roomCtx(roomName));
  return li;
}

function dividerItem() {
  const li = document.createElement('li');
  li.className = 'divider';
  li.textContent = 'new messages';
  return li;
}

// A pending send is settled by its cid alone: its message or its ack, whichever comes first.
function settle(room, cid) {
  if (!cid || !room.pending.delete(cid)) return;
  state.replyOf.delete(cid);
  document.querySelector(`#messages .msg[data-cid="${CSS.escape(cid)}"]`)?.remove();
}

function onAck(m) {
  edits.settle(m.cid);
  const room = state.rooms.get(m.room);
  if (room) settle(room, m.cid);
}

// After a join's history (a resume or a fresh one, a room without history included): what it
// did not settle is sent again under its cid, which the server answers once, stored or not.
function resendPending(roomName) {
  const room = state.rooms.get(roomName);
  for (const [cid, text] of room.pending) {
    if (roomName === state.current && !document.querySelector(`#messages .msg[data-cid="${CSS.escape(cid)}"]`))
      appendItem(pendingItem(state.nick, text, cid, messageItem));
    const replyTo = state.replyOf.get(cid);
    send(replyTo ? { type: 'say', room: roomName, text, cid, reply_to: replyTo } : { type: 'say', room: roomName, text, cid });
  }
  edits.resend(send, (body) => body.room === roomName);
}

// A send the server refused: back into the composer, the reason beside it.
function refused(m) {
  const room = [...state.rooms.values()].find((r) => r.pending.has(m.cid));  // by cid alone
  const text = room?.pending.get(m.cid);
  if (text === undefined) return false;
  settle(room, m.cid);
  state.composer.refused(text, m.message);
  return true;
}

function onPresence(m) {
  const room = state.rooms.get(m.room);
  if (!room) return;
  if (m.event === 'join') room.members.add(m.nick); else room.members.delete(m.nick);
  if (m.event === 'join') room.online?.add(m.nick); else room.online?.delete(m.nick);
  if (m.room === state.current) {
    appendItem(systemItem(rooms.presenceText(m)));
    renderMembers();
  }
}

// A member's first tab opened or its last closed: the dot changes, no line is written.
function onStatus(m) {
  const room = state.rooms.get(m.room);
  if (!room || !room.online) return;
  if (m.online) room.online.add(m.nick); else room.online.delete(m.nick);
  if (m.room === state.current) renderMembers();
}

function onTyping(m) {
  if (m.room !== state.current) return;
  clearTimeout(state.typingTimers.get(m.nick));
  state.typingTimers.set(m.nick, setTimeout(() => { state.typingTimers.delete(m.nick); renderTyping(); }, 3000));
  renderTyping();
}

function onLeft(m) {
  state.rooms.delete(m.room);
  saveRooms();
  if (state.current === m.room) {
    // The left room's lines go with it; the next room shows its own (kept or fetched).
    const next = state.rooms.keys().next().value || '';
    state.current = '';
    $('messages').replaceChildren();
    if (next && !convo.isOpen()) return switchRoom(next);
    state.current = next;
  }
  render();
}

function onError(m) {
  if (m.cid && edits.settle(m.cid)) return notice(m.message);  // a refused edit or reaction
  if (m.cid && refused(m)) return;
  if (m.code === 'nick_taken' || m.code === 'invalid_nick') {
    state.token = '';
    $('nick-error').textContent = m.message;
    return askNick();
  }
  if (m.code === 'resume_too_old' && m.room) {
    // Too far behind: start the room afresh from its latest messages.
    const room = roomState(m.room);
    room.lastId = 0;
    room.firstId = 0;
    room.view = null;
    room.atStart = false;
    if (m.room === state.current) $('messages').replaceChildren();
    return send({ type: 'join', room: m.room });
  }
  // A room the server never let us into (invite-only, banned, full, too many rooms) leaves the
  // sidebar with the reason, instead of staying as an empty room that swallows what is typed.
  const refused = m.room && state.rooms.get(m.room);
  if (refused && !refused.joined) onLeft(m);
  $('notice').textContent = m.message;
  setTimeout(() => { $('notice').textContent = ''; }, refused && !refused.joined ? 8000 : 4000);
}

function messageItem(nick, text, ts = 0, pending = true, id = undefined, md = undefined) {
  const li = document.createElement('li');
  li.className = 'msg' + (pending ? ' pending' : '');
  if (id !== undefined) li.dataset.id = id;
  if (ts) li.dataset.ts = ts;  // day separators (history.js)
  const n = document.createElement('span');
  n.className = 'nick';
  n.textContent = nick;
  if (account.isGuest(nick)) n.classList.add('guest');
  const t = document.createElement('span');
  t.className = 'text';
  fillText(t, text, md);
  li.append(n, t, history.timeElement(ts));
  return li;
}

function systemItem(text) {
  const li = document.createElement('li');
  li.className = 'msg system';
  li.textContent = text;
  return li;
}

function appendItem(li) {
  const list = $('messages');
  const atBottom = history.atBottom(list);
  list.append(li);
  if (li.dataset.ts) history.fixDays(list);
  if (li.dataset.id && list.querySelector(':scope > li.beginning.empty')) showBeginning(state.current);
  if (atBottom) history.toBottom(list);
}

// An older page goes above, below the marker of the beginning if there is one; the reader's
// place stays where it was.
function prependMessages(list, roomName, start) {
  const ol = $('messages');
  const room = roomState(roomName);
  history.keepPosition(ol, () => {
    const top = ol.querySelector(':scope > li.beginning');
    // Older pages come folded; their events are older than what was applied already.
    const items = list.filter((m) => !edits.isEvent(m)).map((m) => serverItem(roomName, m));
    if (top) top.after(...items); else ol.prepend(...items);
    history.fixDays(ol);
    if (start) {
      room.atStart = true;
      showBeginning(roomName);
    }
  });
  $('older').hidden = room.atStart;
}

function showBeginning(roomName) {
  const ol = $('messages');
  const empty = !ol.querySelector('.msg[data-id]');
  history.markBeginning(ol, empty
    ? `This is the beginning of #${roomName}. Nothing has been said here yet: write the first message below.`
    : `This is the beginning of #${roomName}.`, empty);
  $('older').hidden = true;
}

// Scrolled near the top: the page before the oldest shown, once at a time.
function loadOlder() {
  const room = state.rooms.get(state.current);
  if (!room || room.atStart || room.loading || convo.isOpen()) return;
  room.loading = true;
  send({ type: 'history', room: state.current, before: room.firstId || undefined, limit: 50 });
}

function render() {
  renderRooms();
  renderMembers();
  renderTyping();
  $('room-title').textContent = state.current ? '#' + state.current : '';
  rooms.renderHeader();
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren(...[...state.rooms.entries()].map(([name, room]) => {
    const li = document.createElement('li');
    li.dataset.room = name;
    const b = a11y.itemButton('#' + name, () => switchRoom(name));
    if (name === state.current && !convo.isOpen()) {
      li.className = 'current';
      b.setAttribute('aria-current', 'true');
    }
    if (room.unread) {
      const u = document.createElement('span');
      u.className = 'unread';
      u.textContent = room.unread;
      u.setAttribute('aria-label', `${room.unread} unread`);
      b.append(u);
    }
    li.append(b);
    return li;
  }));
  $('rooms-empty').hidden = state.rooms.size > 0;
}


function renderMembers() {
  const room = state.rooms.get(state.current);
  const names = room ? [...room.members].sort() : [];
  $('members').replaceChildren(...names.map((n) => {
    const li = document.createElement('li');
    if (account.isGuest(n)) li.classList.add('guest');
    const here = !room.online || room.online.has(n);
    li.classList.toggle('away', !here);
    li.title = here ? `${n} is online` : `${n} is away`;
    // conversations: a member opens its own private view, never a selector of this composer;
    // guests have no conversations
    li.append(a11y.itemButton(n, () => converse(n, true)));
    return li;
  }));
}

// conversations: whether a conversation with `n` can be opened, and with `open` opens it.
function converse(n, open) {
  const can = state.signedIn && n !== state.nick && !account.isGuest(n);
  if (can && open) convo.show(n);
  return can;
}

function renderTyping() {
  const names = [...state.typingTimers.keys()];
  $('typing').textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

function switchRoom(name) {
  convo.close();  // conversations
  a11y.closeDrawer();
  state.reply?.take();  // a reply belongs to the room it was started in
  keepView(state.current, name);
  state.current = name;
  sessionStorage.setItem('duplex.current', name);  // a reload comes back to it
  const room = roomState(name);
  room.unread = 0;
  room.dividerAt = -1;
  if (room.view) {
    // The history loaded before, as it was; the join resumes after its last message.
    $('messages').replaceChildren(...room.view);
    room.view = null;
    history.fixDays($('messages'));
    history.toBottom($('messages'));
    join(name);
  } else {
    room.lastId = 0;
    room.firstId = 0;
    room.atStart = false;
    $('messages').replaceChildren();
    send({ type: 'join', room: name });
  }
  room.loading = false;
  $('older').hidden = room.atStart;
  render();
}

// The room left keeps its newest items, at most history.MAX_KEPT messages.
function keepView(from, to) {
  const room = state.rooms.get(from);
  if (!room || from === to) return;
  let items = [...$('messages').children].filter((li) => !li.classList.contains('divider') && !li.classList.contains('pending'));
  const messages = items.filter((li) => li.dataset.id);
  if (messages.length > history.MAX_KEPT) {
    const first = messages[messages.length - history.MAX_KEPT];
    items = items.slice(items.indexOf(first));
    room.firstId = Number(first.dataset.id);
    room.atStart = false;
  }
  room.view = items;
}

// Pending until its message or ack comes; sent now if the socket is open, else after the
// reconnection's join (resendPending).
function say(roomName, text) {
  if (state.ended) return 'not sent: ' + state.ended;
  const cid = newCid();
  state.typingSent = 0;  // the next keystroke starts a new message: say so at once
  const room = roomState(roomName);
  room.pending.set(cid, text);
  if (roomName === state.current) appendItem(pendingItem(state.nick, text, cid, messageItem));
  const replyTo = state.reply.take();
  if (replyTo) state.replyOf.set(cid, replyTo);
  send(replyTo ? { type: 'say', room: roomName, text, cid, reply_to: replyTo } : { type: 'say', room: roomName, text, cid });
  return true;
}

function askNick() {
  $('nick').value = state.nick;
  if (!$('nick-dialog').open) $('nick-dialog').showModal();
}

function notice(text) {
  $('notice').textContent = text;
  setTimeout(() => { $('notice').textContent = ''; }, 4000);
}

function start() {
  rooms.init({ send, state, switchRoom, roomState, render, notice, converse });
  for (const name of JSON.parse(sessionStorage.getItem('duplex.rooms') || '[]')) roomState(name);
  const last = sessionStorage.getItem('duplex.current');
  state.current = state.rooms.has(last) ? last : state.rooms.keys().next().value || '';
  $('nick-form').onsubmit = (e) => {
    e.preventDefault();
    state.nick = $('nick').value.trim();
    $('nick-error').textContent = '';
    if (state.ws) send({ type: 'hello', nick: state.nick }); else connect();
  };
  $('room-form').onsubmit = (e) => {
    e.preventDefault();
    const name = $('room-input').value.trim().toLowerCase();
    if (!name) return;
    $('room-input').value = '';
    switchRoom(name);
  };
  // The room's composer speaks to the room, and only to it.
  state.composer = attachComposer({
    form: $('composer'), input: $('text'), counter: $('text-count'), error: $('text-error'),
    send: (text) => (!state.current ? 'join a room first' : say(state.current, text)),
  });
  attachFiles({
    form: $('composer'), input: $('text'), dropZone: $('chat'), error: $('text-error'), send,
    target: () => (state.current ? { room: state.current } : null),
  });
  state.reply = edits.replyBar($('composer'), $('text'));
  $('text').oninput = () => {
    if (Date.now() - state.typingSent > 2000 && state.current) {
      state.typingSent = Date.now();
      send({ type: 'typing', room: state.current });
    }
  };
  $('older').onclick = loadOlder;
  history.watch($('messages'), $('jump-latest'), loadOlder);
  a11y.init({
    connected: () => state.ws !== null,
    reopen: (id) => (id === 'nick-dialog' ? askNick() : $('account-link').click()),
  });
  renderRooms();
  convo.start();  // conversations
  search.init({
    send,
    room: (name) => (name === state.current && !convo.isOpen() ? history.toBottom($('messages')) : switchRoom(name)),
    conversation: (w) => convo.show(w),
  });
  document.addEventListener('visibilitychange', () => markRead(state.current));
  mentions.init({ me: () => state.nick, members: () => [...(state.rooms.get(state.current)?.members || [])] });
  account.start(connect, () => (state.nick ? connect() : askNick()));
}

start();
