// Private conversations on the page: a list with unread counts, and each conversation in a view
// of its own. The view's composer is bound to the conversation it was opened for: nothing typed
// there can go anywhere else, whoever comes, goes or is selected meanwhile.
// Every text from a user is put on the page with textContent, never as markup. Sends carry a
// client id (composer.js), settled by it alone, sent again after a reconnection.
import { attachComposer, markFailed, newCid } from './composer.js';
import { attachFiles, withFile } from './files.js';

import * as history from './history.js';
import * as edits from './edits.js';
import { announce, closeDrawer, itemButton } from './a11y.js';
import { privateMessage } from './mentions.js';
import { Pending } from './outbox.js';
import { fill as fillText } from './markdown.js';

const $ = (id) => document.getElementById(id);

export function createConversations({ send, me, onOpen, onClose, notice }) {
  const list = new Map();  // with -> { lastId, lastRead, unread, messages: Map(id -> m), pending: Map(cid -> text) }
  let open = '';           // the conversation shown, '' when a room is
  let dividerAt = -1;      // the read mark when the view opened: "new messages" below it
  let signedIn = false;    // guests have no conversations: no empty state to show them
  let composer = null;
  let ended = '';  // why the socket closed for good
  let reply = null;  // the composer's reply bar (edits.js)
  const replyOf = new Map();  // cid of a pending dm -> the id it replies to, for its resend

  function conv(w) {
    // start: the first message is loaded; loading: an older page was asked for
    if (!list.has(w)) list.set(w, { lastId: 0, lastRead: 0, unread: 0, messages: new Map(), pending: new Pending('dm', w), start: false, loading: false });
    return list.get(w);
  }

  function summary(s) {
    const c = conv(s.with);
    c.lastId = Math.max(c.lastId, s.last_id);
    c.lastRead = Math.max(c.lastRead, s.last_read);
    c.unread = s.unread;
  }

  // An event (edits.js) folds into the message it names; its id counts like a message's.
  function addEvent(w, m) {
    const c = conv(w);
    edits.settle(m.cid);
    c.events = c.events || new Set();
    if (c.events.has(m.id)) return false;
    c.events.add(m.id);
    c.lastId = Math.max(c.lastId, m.id);
    edits.fold(c.messages.get(m.target), m);
    return true;
  }

  function ctxFor(w) {
    return {
      where: { with: w }, me, send,
      find: (id) => conv(w).messages.get(id),
      item: (id) => $('conv-messages').querySelector(`li.msg[data-id="${id}"]`),
      reply: (m) => reply.set(m),
    };
  }

  function add(w, m) {
    if (edits.isEvent(m)) return addEvent(w, m);
    const c = conv(w);
    if (m.cid) { c.pending.delete(m.cid); replyOf.delete(m.cid); }  // its own send, back: settled
    if (c.messages.has(m.id)) return false;  // a dm and a conversation answer may overlap
    c.messages.set(m.id, m);
    c.lastId = Math.max(c.lastId, m.id);
    return true;
  }

  function markRead(w) {
    const c = conv(w);
    if (c.lastId > c.lastRead && document.visibilityState !== 'hidden') send({ type: 'read', with: w, id: c.lastId });
  }

  function renderList() {
    $('conversations').replaceChildren(...[...list.keys()].sort().map((w) => {
      const c = list.get(w);
      const li = document.createElement('li');
      li.dataset.with = w;
      const b = itemButton('@' + w, () => show(w));
      if (w === open) {
        li.className = 'current';
        b.setAttribute('aria-current', 'true');
      }
      if (c.unread > 0 && w !== open) {
        const u = document.createElement('span');
        u.className = 'unread';
        u.textContent = c.unread;
        u.setAttribute('aria-label', `${c.unread} unread`);
        b.append(u);
      }
      li.append(b);
      return li;
    }));
    $('conv-empty').hidden = !signedIn || list.size > 0;
  }

  function item(m, pending) {
    const li = document.createElement('li');
    li.className = 'msg' + (pending ? ' pending' : '');
    if (m.id !== undefined) li.dataset.id = m.id;
    if (m.ts) li.dataset.ts = m.ts;  // day separators (history.js)
    const n = document.createElement('span');
    n.className = 'nick';
    n.textContent = m.nick;
    const t = document.createElement('span');
    t.className = 'text';
    fillText(t, m.text, m.md);
    li.append(n, t, history.timeElement(m.ts));
    withFile(li, m.file);
    if (!pending && open) edits.decorate(li, m, ctxFor(open));
    return li;
  }

  // `older`: a page went above; the reader's place stays where it was.
  function renderView(older = false) {
    if (!open) return;
    if (older) return history.keepPosition($('conv-messages'), () => renderView());
    const c = conv(open);
    const ol = $('conv-messages');
    const atBottom = history.atBottom(ol);
    const items = [];
    let divided = false;
    for (const id of [...c.messages.keys()].sort((a, b) => a - b)) {
      const m = c.messages.get(id);
      if (!divided && dividerAt >= 0 && id > dividerAt && m.nick !== me()) {
        const d = document.createElement('li');
        d.className = 'divider';
        d.textContent = 'new messages';
        items.push(d);
        divided = true;
      }
      items.push(item(m, false));
    }
    for (const [cid, text] of c.pending) {
      const li = item({ nick: me(), text }, true);
      li.dataset.cid = cid;
      if (ended) markFailed(li, 'not sent: ' + ended);
      items.push(li);
    }
    ol.replaceChildren(...items);
    history.fixDays(ol);
    if (c.messages.has(1)) c.start = true;  // ids start at 1 in every conversation
    if (c.start) {
      history.markBeginning(ol, c.messages.size
        ? `This is the beginning of your conversation with ${open}.`
        : `This is the beginning of your conversation with ${open}. Nothing has been said yet: write below; only the two of you can read it.`);
    }
    if (!older && (atBottom || divided)) history.toBottom(ol);
  }

  // Scrolled near the top: the page before the oldest message shown.
  function loadOlder() {
    const c = open ? conv(open) : null;
    if (!c || c.start || c.loading || !c.messages.size) return;
    c.loading = true;
    send({ type: 'history', with: open, before: Math.min(...c.messages.keys()), limit: 50 });
  }

  // A conversation left keeps its newest messages, at most history.MAX_KEPT.
  function trim(c) {
    const ids = [...c.messages.keys()].sort((a, b) => a - b);
    if (ids.length <= history.MAX_KEPT) return;
    for (const id of ids.slice(0, ids.length - history.MAX_KEPT)) c.messages.delete(id);
    c.start = false;
  }

  // Opens the conversation with `w` in its own view, and binds the view's composer to it.
  function show(w) {
    if (!w) return;
    if (open && open !== w) trim(conv(open));
    open = w;
    closeDrawer();
    const c = conv(w);
    c.loading = false;
    dividerAt = c.unread > 0 ? c.lastRead : -1;
    $('conversation').dataset.with = w;
    $('conv-title').textContent = 'private conversation with ' + w;
    $('conversation').hidden = false;
    onOpen();
    const req = { type: 'conversation', with: w };
    if (c.messages.size) req.since = Math.max(...c.messages.keys());
    send(req);
    renderView();
    history.toBottom($('conv-messages'));
    renderList();
    $('conv-text').focus();
  }

  function close() {
    if (!open) return;
    trim(conv(open));
    open = '';
    $('conversation').hidden = true;
    delete $('conversation').dataset.with;
    renderList();
    onClose();
  }

  function say(w, text) {
    if (ended) return 'not sent: ' + ended;
    const c = conv(w);
    const cid = newCid();
    c.pending.set(cid, text);
    const replyTo = reply.take();
    if (replyTo) replyOf.set(cid, replyTo);
    send(replyTo ? { type: 'dm', with: w, text, cid, reply_to: replyTo } : { type: 'dm', with: w, text, cid });
    if (w === open) renderView();
    return true;
  }

  // A reconnection: every conversation's unsettled sends go again under their cids.
  function resendAll() {
    for (const [w, c] of list)
      for (const [cid, text] of c.pending) {
        const replyTo = replyOf.get(cid);
        send(replyTo ? { type: 'dm', with: w, text, cid, reply_to: replyTo } : { type: 'dm', with: w, text, cid });
      }
    edits.resend(send, (body) => body.with !== undefined);
  }

  // A send kept from before a reload (outbox.js): pending again, resent by welcome().
  function restore(w, cid, text) {
    conv(w).pending.set(cid, text);
  }

  function failAll(why) {
    ended = why;
    renderView();
  }

  // What the server says about conversations: true when the message was one of them.
  function handle(m) {
    switch (m.type) {
      case 'dm': {
        if (edits.isEvent(m)) {
          if (add(m.with, m) && m.with === open) renderView();
          return true;
        }
        const c = conv(m.with);
        if (!add(m.with, m)) return true;
        if (m.nick !== me()) announce(`private message from ${m.nick}: ${m.text}`);
        privateMessage(m);
        if (m.with === open && document.visibilityState !== 'hidden') markRead(m.with);
        else if (m.nick !== me() && m.id > c.lastRead) c.unread++;
        if (m.with === open) renderView();
        renderList();
        return true;
      }
      case 'conversation': {
        summary(m);
        if (m.start && !m.resume) conv(m.with).start = true;
        for (const x of m.messages) add(m.with, x);
        if (m.with === open) {
          renderView();
          markRead(m.with);
        }
        renderList();
        return true;
      }
      case 'conversations':
        for (const s of m.conversations) summary(s);
        renderList();
        return true;
      case 'read':
        if (m.with === undefined) return false;
        {
          const c = conv(m.with);
          c.lastRead = Math.max(c.lastRead, m.id);
          c.unread = [...c.messages.entries()].filter(([id, x]) => id > c.lastRead && x.nick !== me()).length;
          if (!c.messages.size) c.unread = Math.max(0, c.lastId - c.lastRead);
          renderList();
        }
        return true;
      case 'ack':
        if (m.with === undefined) return false;
        conv(m.with).pending.delete(m.cid);
        edits.settle(m.cid);
        if (m.with === open) renderView();
        return true;
      case 'history':
        if (m.with === undefined) return false;
        {
          const c = conv(m.with);
          c.loading = false;
          if (m.start) c.start = true;
          // Older pages: their messages come folded, and their events are older than what
          // was applied already.
          for (const x of m.messages) if (!edits.isEvent(x)) add(m.with, x);
          if (m.with === open) renderView(true);
        }
        return true;
      case 'error':
        if (m.with === undefined && !['signed_in_only', 'self_conversation', 'no_such_user'].includes(m.code)) return false;
        if (m.cid && m.with !== undefined && edits.settle(m.cid)) {
          $('conv-notice').textContent = m.message;  // a refused edit, deletion or reaction
          return true;
        }
        if (m.cid && m.with !== undefined && conv(m.with).pending.has(m.cid)) {
          // Refused: the text goes back into the composer, with the reason beside it.
          const text = conv(m.with).pending.get(m.cid);
          conv(m.with).pending.delete(m.cid);
          if (m.with === open) renderView();
          composer.refused(text, m.message);
          return true;
        }
        $('conv-notice').textContent = m.message;
        if (!open) notice(m.message);
        if (m.code === 'resume_too_old' && m.with) {
          conv(m.with).messages.clear();
          conv(m.with).start = false;
          send({ type: 'conversation', with: m.with });
        }
        return true;
    }
    return false;
  }

  // A welcome: the list as the server has it, then the open view resumes.
  function welcome(m) {
    signedIn = m.signed_in === true;
    for (const s of m.conversations || []) summary(s);
    renderList();
    if (open) show(open);
    resendAll();
  }

  function start() {
    $('dm-form').onsubmit = (e) => {
      e.preventDefault();
      const w = $('dm-to').value.trim();
      $('dm-to').value = '';
      show(w);
    };
    $('conv-close').onclick = close;
    history.watch($('conv-messages'), $('conv-jump'), loadOlder);
    composer = attachComposer({
      form: $('conv-composer'), input: $('conv-text'), counter: $('conv-text-count'), error: $('conv-text-error'),
      // The conversation this view was opened for, and no other.
      send: (text) => {
        const w = $('conversation').dataset.with;
        if (!w) return 'open a conversation first';
        $('conv-notice').textContent = '';
        return say(w, text);
      },
    });
    attachFiles({
      form: $('conv-composer'), input: $('conv-text'), dropZone: $('conversation'), error: $('conv-text-error'),
      send, target: () => ($('conversation').dataset.with ? { with: $('conversation').dataset.with } : null),
    });
    reply = edits.replyBar($('conv-composer'), $('conv-text'));
    document.addEventListener('visibilitychange', () => { if (open) markRead(open); });
  }

  return { handle, welcome, restore, show, close, start, failAll, isOpen: () => open !== '' };
}
