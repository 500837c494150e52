// Edits, deletions, reactions and replies (issue 14, item 3; docs/chat-protocol.md). Events
// come in the feed with ids of their own and are folded into the message they name by the
// server's rules (message_fold.hpp); history gives messages already folded. Each message item
// gets its reply quote, "(edited)" mark or tombstone, reaction chips and a "…" menu. Every
// text that came from a user is set with textContent.
import { newCid } from './composer.js';
import { fill as fillText } from './markdown.js';

export const QUICK = ['👍', '❤️', '😂', '🎉', '😮', '😢'];
const MAX_REACTIONS = 20;  // distinct emoji per message, as the server bounds them

// Sent and not yet answered: cid -> request, sent again after a reconnection.
const pending = new Map();

export function isEvent(m) {
  return typeof m.kind === 'string' && m.kind !== '';
}

// The server's fold, without the author rule (the server stored only what passed it).
export function fold(t, e) {
  if (!t || t.deleted) return false;
  t.reactions = t.reactions || [];
  const r = t.reactions.find((x) => x.emoji === e.emoji);
  switch (e.kind) {
    case 'edit':
      t.text = e.text;
      t.md = e.md;  // the edited text's formatting (docs/chat-protocol.md, "Formatting")
      t.edited = e.ts;
      return true;
    case 'delete':
      Object.assign(t, { text: '', md: undefined, file: undefined, deleted: true, reactions: [] });
      return true;
    case 'react':
      if (!r) {
        if (t.reactions.length >= MAX_REACTIONS) return false;
        t.reactions.push({ emoji: e.emoji, nicks: [e.nick] });
        return true;
      }
      if (r.nicks.includes(e.nick)) return false;
      r.nicks.push(e.nick);
      return true;
    case 'unreact':
      if (!r || !r.nicks.includes(e.nick)) return false;
      r.nicks = r.nicks.filter((n) => n !== e.nick);
      if (!r.nicks.length) t.reactions = t.reactions.filter((x) => x !== r);
      return true;
  }
  return false;
}

// A request about a message, with a cid so that a resend is stored once. `where`: {room} or {with}.
export function request(where, body) {
  const cid = newCid();
  const full = { ...body, ...where, cid };
  pending.set(cid, full);
  return full;
}

// Answered (its ack, its event, or a refusal): not sent again. True when it was ours.
export function settle(cid) {
  return !!cid && pending.delete(cid);
}

// After a reconnection's history: what was not answered goes again under its cid.
export function resend(send, matches) {
  for (const body of pending.values()) if (matches(body)) send(body);
}

function button(label, text, onClick, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.onclick = onClick;
  return b;
}

function firstLine(m) {
  if (m.deleted) return 'message deleted';
  const line = (m.text || '').split('\n')[0];
  return line.length > 80 ? line.slice(0, 79) + '…' : line;
}

// The quote above a reply: its parent's author and first line, a link to it when it is shown.
function quote(li, m, ctx) {
  const parent = ctx.find(m.reply_to);
  const q = document.createElement('button');
  q.type = 'button';
  q.className = 'reply-quote';
  q.textContent = parent ? `↪ ${parent.nick}: ${firstLine(parent)}` : '↪ a message';
  q.setAttribute('aria-label', parent ? `reply to ${parent.nick}: ${firstLine(parent)}` : 'reply to a message not loaded');
  q.onclick = () => {
    const target = ctx.item(m.reply_to);
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('flash');
    target.focus?.();
    setTimeout(() => target.classList.remove('flash'), 1500);
  };
  li.prepend(q);
}

function chips(m, ctx) {
  const box = document.createElement('div');
  box.className = 'reactions';
  for (const r of m.reactions || []) {
    const mine = r.nicks.includes(ctx.me());
    const n = r.nicks.length;
    const b = button(`${r.emoji} ${n} reaction${n === 1 ? '' : 's'}: ${r.nicks.join(', ')}`, `${r.emoji} ${n}`,
      () => ctx.send(request(ctx.where, { type: 'react', id: m.id, emoji: r.emoji, remove: mine })), 'chip');
    b.setAttribute('aria-pressed', String(mine));
    b.title = r.nicks.join(', ');
    box.append(b);
  }
  return box;
}

function picker(m, ctx, close) {
  const box = document.createElement('div');
  box.className = 'picker';
  box.setAttribute('role', 'group');
  box.setAttribute('aria-label', 'React with');
  for (const e of QUICK) {
    const mine = (m.reactions || []).find((r) => r.emoji === e)?.nicks.includes(ctx.me());
    box.append(button(`react with ${e}`, e, () => {
      ctx.send(request(ctx.where, { type: 'react', id: m.id, emoji: e, remove: !!mine }));
      close();
    }));
  }
  return box;
}

// The text replaced by an editor: Enter saves, Shift+Enter breaks the line, Escape cancels.
function editInPlace(li, m, ctx) {
  const text = li.querySelector(':scope > .text');
  const area = document.createElement('textarea');
  area.className = 'edit-box';
  area.value = m.text;
  area.rows = Math.min(8, m.text.split('\n').length + 1);
  area.setAttribute('aria-label', 'Edit message (Enter saves, Escape cancels)');
  const done = () => { area.replaceWith(text); li.querySelector('.menu-toggle')?.focus(); };
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); done(); }
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    const value = area.value;
    if (value.trim() && value !== m.text) ctx.send(request(ctx.where, { type: 'edit', id: m.id, text: value }));
    done();
  });
  text.replaceWith(area);
  area.focus();
}

function menu(li, m, ctx) {
  const bar = document.createElement('div');
  bar.className = 'actions';
  const toggle = button(`actions for the message from ${m.nick}`, '…', () => {
    const open = toggle.getAttribute('aria-expanded') === 'true';
    toggle.setAttribute('aria-expanded', String(!open));
    tools.hidden = open;
    if (!open) tools.querySelector('button')?.focus();
  }, 'menu-toggle');
  toggle.setAttribute('aria-expanded', 'false');
  const tools = document.createElement('div');
  tools.className = 'tools';
  tools.hidden = true;
  const close = () => { tools.hidden = true; toggle.setAttribute('aria-expanded', 'false'); toggle.focus(); };
  tools.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.stopPropagation(); close(); } });
  tools.append(button('Reply', 'Reply', () => { close(); ctx.reply(m); }));
  const react = button('React', 'React', () => {
    const open = tools.querySelector('.picker');
    if (open) return open.remove();
    tools.append(picker(m, ctx, close));
    tools.querySelector('.picker button').focus();
  });
  tools.append(react);
  if (m.nick === ctx.me()) {  // the server checks the author's key
    tools.append(button('Edit', 'Edit', () => { close(); editInPlace(li, m, ctx); }));
    // Confirmed in place, not with a browser dialog: the question and its answers are buttons.
    const del = button('Delete', 'Delete', () => {
      const yes = button('Yes, delete this message for everyone', 'Yes, delete', () => {
        close();
        ctx.send(request(ctx.where, { type: 'retract', id: m.id }));
      }, 'danger confirm');
      const no = button('Keep the message', 'Keep', () => { yes.remove(); no.remove(); del.hidden = false; del.focus(); });
      del.hidden = true;
      del.after(yes, no);
      yes.focus();
    }, 'danger');
    tools.append(del);
  }
  bar.append(toggle, tools);
  return bar;
}

// (Re)draws what an item shows of its message beyond nick, text and time. `ctx`: { where,
// me(), send(body), find(id) -> message, item(id) -> li, reply(m) }.
export function decorate(li, m, ctx) {
  li._m = m;
  li.tabIndex = -1;  // a quote's link can move the focus here
  li.querySelectorAll(':scope > .reply-quote, :scope > .edited, :scope > .reactions, :scope > .actions').forEach((x) => x.remove());
  const text = li.querySelector(':scope > .text');
  if (m.reply_to) quote(li, m, ctx);
  if (m.deleted) {
    li.querySelectorAll(':scope > .file').forEach((x) => x.remove());  // an attachment goes too
    text.textContent = 'message deleted';
    li.classList.add('deleted');
    return;
  }
  fillText(text, m.text, m.md);
  if (m.edited) {
    const e = document.createElement('span');
    e.className = 'edited';
    e.textContent = '(edited)';
    e.title = 'edited ' + new Date(m.edited).toLocaleString();
    text.after(e);
  }
  if (m.id !== undefined) li.append(menu(li, m, ctx));
  if (m.reactions?.length) li.append(chips(m, ctx));
}

// The reply bar above a composer: "Replying to …" with a way to cancel. Returns
// { set(m), take() -> id or 0 }.
export function replyBar(form, input) {
  const bar = document.createElement('div');
  bar.className = 'replying';
  bar.hidden = true;
  const label = document.createElement('span');
  let id = 0;
  const clear = () => { id = 0; bar.hidden = true; };
  bar.append(label, button('cancel the reply', '×', () => { clear(); input.focus(); }, 'cancel'));
  form.before(bar);
  input.addEventListener('keydown', (e) => { if (e.key === 'Escape' && id) clear(); });
  return {
    set(m) {
      id = m.id;
      label.textContent = `Replying to ${m.nick}: ${firstLine(m)}`;
      bar.hidden = false;
      input.focus();
    },
    take() { const was = id; clear(); return was; },
  };
}
