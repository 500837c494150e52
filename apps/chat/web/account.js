// Accounts on the page: sign in or register before the chat connects, the signed-in user with
// sign-out, a password change and the list of sessions. The session itself is an HttpOnly
// cookie the page never sees; the server binds the WebSocket to it.
// app.js calls start() once and ended() when the server closes the socket for a session's end.

const $ = (id) => document.getElementById(id);
const hooks = { connect: () => {}, guest: () => {} };
const state = { config: { guests: false, registration: true }, user: null, blocked: false };

// One request to /api/; resolves to { status, body, retryAfter } (status 0: the server is not
// reachable).
async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    const res = await fetch('/api/' + path, init);
    const text = await res.text();
    let json = {};
    try { json = text ? JSON.parse(text) : {}; } catch { json = {}; }
    return { status: res.status, body: json, retryAfter: Number(res.headers.get('Retry-After') || 0) };
  } catch {
    return { status: 0, body: {}, retryAfter: 0 };
  }
}

// What a person reads for each refusal the server can give.
function explain(r) {
  const code = r.body.error;
  switch (code) {
    case 'name_taken': return 'This name is taken: choose another one' + (state.user ? '.' : ', or sign in if it is yours.');
    case 'name_look_alike': return 'This name looks like an existing name: choose one that cannot be mistaken for it.';
    case 'bad_credentials': return 'Wrong name or password.';
    case 'rate_limited': return `Too many attempts: wait ${r.retryAfter || 60} s before trying again.`;
    case 'banned': return 'This account is banned.';
    case 'registration_closed': return 'Registration is closed here: ask the operator for an account.';
    case 'busy': return 'The server is busy: try again in a moment.';
    case 'invalid_name': return 'This name is not allowed: ' + (r.body.message || '');
    case 'invalid_password': return (r.body.message || 'The password breaks the rules') + ' (at least 8 characters, not your name).';
  }
  if (r.status === 0) return 'The server cannot be reached: try again.';
  return r.body.message || `The server answered ${r.status}.`;
}

function showSignIn(message = '') {
  state.blocked = !state.config.guests;
  $('account-error').textContent = message;
  $('account-register').hidden = !state.config.registration;
  $('account-guest').hidden = !state.config.guests;
  if ($('nick-dialog').open) $('nick-dialog').close();
  if (!$('account-dialog').open) $('account-dialog').showModal();
  $('account-name').focus();
}

function signedIn(user) {
  state.user = user;
  state.blocked = false;
  $('account-who').textContent = user.display || user.name;
  $('account-who').title = 'signs in as ' + user.name;
  $('account-bar').hidden = false;
  $('me').hidden = true;  // the account bar names the user
  $('account-link').hidden = true;
  if ($('account-dialog').open) $('account-dialog').close();
}

async function submit(kind) {
  const name = $('account-name').value.trim();
  const password = $('account-password').value;
  if (!name || !password) return;
  $('account-error').textContent = '';
  const r = await api('POST', kind, { name, password });
  if (r.status === 200 || r.status === 201) {
    $('account-password').value = '';
    signedIn(r.body.user);
    return hooks.connect();
  }
  $('account-error').textContent = explain(r);
}

async function signOut() {
  await api('POST', 'logout');
  // The server closed this session's sockets; a fresh page starts signed out.
  location.reload();
}

// "Chrome on Linux" rather than a hundred characters of User-Agent; the whole string stays in
// the item's title. Order matters: Edge and Opera also say Chrome, Chrome also says Safari.
export function describeAgent(ua) {
  if (!ua) return 'unknown browser';
  const browsers = [[/Edg\//, 'Edge'], [/OPR\//, 'Opera'], [/Firefox\//, 'Firefox'],
    [/Chrom(e|ium)\//, 'Chrome'], [/Safari\//, 'Safari'], [/^curl\//, 'curl']];
  const systems = [[/Android/, 'Android'], [/iPhone|iPad|iPod/, 'iOS'], [/Mac OS X|Macintosh/, 'macOS'],
    [/Windows/, 'Windows'], [/CrOS/, 'ChromeOS'], [/Linux/, 'Linux']];
  const browser = browsers.find(([re]) => re.test(ua))?.[1];
  const system = systems.find(([re]) => re.test(ua))?.[1];
  if (!browser) return system ? `a browser on ${system}` : ua.slice(0, 40);
  return system ? `${browser} on ${system}` : browser;
}

function sessionItem(s) {
  const li = document.createElement('li');
  li.dataset.id = s.id;
  const what = document.createElement('span');
  const seen = new Date(s.last_seen).toLocaleString();
  what.textContent = `${describeAgent(s.user_agent)} · ${s.address} · ${seen}`;
  what.title = s.user_agent || '';
  li.append(what);
  if (s.current) {
    const me = document.createElement('strong');
    me.textContent = ' (this device)';
    li.append(me);
  } else {
    const end = document.createElement('button');
    end.type = 'button';
    end.textContent = 'Sign out';
    end.onclick = async () => {
      const r = await api('DELETE', 'sessions/' + s.id);
      if (r.status !== 204) $('panel-error').textContent = explain(r);
      listSessions();
    };
    li.append(end);
  }
  return li;
}

async function listSessions() {
  const r = await api('GET', 'sessions');
  if (r.status !== 200) return ($('panel-error').textContent = explain(r));
  $('sessions').replaceChildren(...r.body.sessions.map(sessionItem));
}

async function changePassword(e) {
  e.preventDefault();
  const r = await api('POST', 'password', { current: $('password-current').value, password: $('password-new').value });
  $('password-current').value = '';
  $('password-new').value = '';
  if (r.status !== 200) {
    // Here the name is not in question: only the current password can be wrong.
    const why = r.body.error === 'bad_credentials' ? 'The current password is wrong.' : explain(r);
    return ($('panel-error').textContent = why);
  }
  $('panel-error').textContent = '';
  $('panel-notice').textContent = `Password changed; ${r.body.revoked} other session(s) signed out.`;
  listSessions();
}

// The chat names each socket when it opens: a new name shows after the page reconnects.
async function changeDisplay(e) {
  e.preventDefault();
  const r = await api('POST', 'profile', { display: $('display-name').value.trim() });
  if (r.status !== 200) return ($('panel-error').textContent = explain(r));
  location.reload();
}

function wire() {
  $('account-form').onsubmit = (e) => { e.preventDefault(); submit(e.submitter && e.submitter.id === 'account-register' ? 'register' : 'login'); };
  $('account-guest').onclick = () => { $('account-dialog').close(); state.blocked = false; hooks.guest(); };
  $('account-link').onclick = () => showSignIn();
  $('sign-out').onclick = signOut;
  $('account-open').onclick = () => {
    $('panel-error').textContent = '';
    $('panel-notice').textContent = '';
    $('display-name').value = state.user && state.user.display !== state.user.name ? state.user.display : '';
    $('account-panel').showModal();
    listSessions();
  };
  $('panel-close').onclick = () => $('account-panel').close();
  $('revoke-others').onclick = async () => {
    const r = await api('DELETE', 'sessions');
    if (r.status !== 200) $('panel-error').textContent = explain(r);
    listSessions();
  };
  $('password-form').onsubmit = changePassword;
  $('display-form').onsubmit = changeDisplay;
  // Escape must not leave a page that cannot connect with no way to sign in.
  $('account-dialog').addEventListener('cancel', (e) => { if (state.blocked) e.preventDefault(); });
}

// Names the server marked `guest: true`, as last seen (a name is a guest's or a user's, never
// both at once): the page marks them so that nobody mistakes a guest for a member.
const guests = new Set();
function mark(nick, guest) { if (guest) guests.add(nick); else guests.delete(nick); }
export function noteGuests(m) {
  if (m.type === 'joined') for (const n of m.members || []) mark(n, (m.guests || []).includes(n));
  else if (m.type === 'history') for (const x of m.messages || []) mark(x.nick, x.guest === true);
  else if (['welcome', 'message', 'presence', 'typing'].includes(m.type)) mark(m.nick, m.guest === true);
}
export function isGuest(nick) { return guests.has(nick); }

// Whether the chat may open its WebSocket now (not while the page waits for a sign-in).
export function mayConnect() { return !state.blocked; }
export function signedInUser() { return state.user; }

// The server closed the socket because the session ended (4001) or a guest's name was claimed
// by its owner (4002): sign in again.
export function ended(code) {
  state.user = null;
  $('account-bar').hidden = true;
  $('me').hidden = false;
  showSignIn(code === 4002 ? 'Your guest name belongs to a registered user now.' : 'You were signed out.');
}

// A socket that never opened: the upgrade may have been refused because the session ended.
export async function verify() {
  const r = await api('GET', 'me');
  if (r.status === 401 && (state.user || !state.config.guests)) ended(4001);
}

// `connect`: open the chat as the signed-in user; `guest`: go on as a guest (ask a nickname).
export async function start(connect, guest) {
  hooks.connect = connect;
  hooks.guest = guest;
  wire();
  const config = await api('GET', 'config');
  if (config.status === 200) state.config = config.body;
  const me = await api('GET', 'me');
  if (me.status === 200) {
    signedIn(me.body.user);
    return connect();
  }
  $('account-link').hidden = false;
  if (state.config.guests) return guest();
  showSignIn();
}
