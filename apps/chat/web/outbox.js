// Sends not yet settled, kept in the tab's sessionStorage: a reload, or a crash of the tab's
// page, does not lose them. After the next welcome they are pending again and go out under
// their own cids, which the server stores once (docs/chat-protocol.md), so nothing is doubled.

const KEY = 'duplex.outbox';
// A bound on what is kept: past it, new sends are still pending in memory, only not kept.
const MAX_KEPT = 500;

let owner = '';
let entries = [];  // { kind: 'say' | 'dm', to: room or user, cid, text }, oldest first

try {
  const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  if (saved && typeof saved.owner === 'string' && Array.isArray(saved.entries)) {
    owner = saved.owner;
    entries = saved.entries.filter((e) => e && typeof e.cid === 'string' && typeof e.text === 'string');
  }
} catch {
  // A damaged entry is worth less than a page that starts.
}

function save() {
  try {
    sessionStorage.setItem(KEY, JSON.stringify({ owner, entries }));
  } catch {
    // Storage full or refused: the sends stay pending in memory, as before.
  }
}

// The sends kept for `nick`, handed over once; another user's (a different sign-in in this
// tab) are dropped, never sent in this user's name.
export function claim(nick) {
  const mine = owner === nick ? entries : [];
  owner = nick;
  entries = [];
  save();
  return mine;
}

// Signed out: nothing of this user stays in the tab.
export function forget() {
  owner = '';
  entries = [];
  save();
}

// A Map of cid -> text, as the page keeps a room's or a conversation's pending sends, that
// keeps itself in the outbox.
export class Pending extends Map {
  constructor(kind, to) {
    super();
    this.kind = kind;
    this.to = to;
  }

  set(cid, text) {
    super.set(cid, text);
    if (entries.length < MAX_KEPT && !entries.some((e) => e.cid === cid)) {
      entries.push({ kind: this.kind, to: this.to, cid, text });
      save();
    }
    return this;
  }

  delete(cid) {
    const had = super.delete(cid);
    const n = entries.length;
    entries = entries.filter((e) => e.cid !== cid);
    if (entries.length !== n) save();
    return had;
  }

  clear() {
    for (const cid of [...this.keys()]) this.delete(cid);
  }
}
