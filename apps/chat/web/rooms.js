// Rooms on the page: the directory (search, create with a topic), the room's header (topic,
// member count, leave) and the moderators' menu on a message or a member. The server checks
// every action; this only offers what the reader's role allows.

const $ = (id) => document.getElementById(id);
let api = null;                 // { send, state, switchRoom, render, notice, converse }
const info = new Map();         // room -> { topic, owner, count, moderators, role, invite_only }

export function init(a) {
  api = a;
  $('browse-rooms').onclick = openDirectory;
  $('directory-search').oninput = () => api.send({ type: 'rooms', q: $('directory-search').value });
  $('create-form').onsubmit = (e) => {
    e.preventDefault();
    const room = $('create-name').value.trim().toLowerCase();
    if (!room) return;
    api.send({ type: 'create', room, topic: $('create-topic').value, invite_only: $('create-invite').checked });
  };
  $('leave-room').onclick = () => { if (api.state.current) api.send({ type: 'leave', room: api.state.current }); };
  $('manage-room').onclick = openManage;
  $('manage-user-form').onsubmit = (e) => {
    e.preventDefault();
    const user = $('manage-user').value.trim();
    const room = api.state.current;
    if (!user || !room) return;
    const how = e.submitter ? e.submitter.value : 'invite';
    api.send(how === 'unmute' ? { type: 'mute', room, user, seconds: 0 } : { type: how, room, user });
  };
  $('manage-topic-form').onsubmit = (e) => {
    e.preventDefault();
    if (api.state.current) api.send({ type: 'topic', room: api.state.current, topic: $('manage-topic').value });
  };
  $('messages').addEventListener('click', onMessageClick);
  $('members').addEventListener('click', onMemberClick, true);
  document.addEventListener('click', (e) => { if (!$('mod-menu').contains(e.target)) closeMenu(); });
}

// Events of the rooms' own; true when handled here alone.
export function handle(m) {
  switch (m.type) {
    case 'welcome':
      for (const name of m.rooms || []) api.roomState(name);  // the user's rooms, every tab
      return false;
    case 'joined':
      if (m.topic !== undefined) info.set(m.room, { ...m });
      return false;
    case 'room': {
      const old = info.get(m.room) || {};
      info.set(m.room, { ...old, ...m, role: roleOf(m, old.role) });
      renderHeader();
      return true;
    }
    case 'rooms': renderDirectory(m.rooms); return true;
    case 'created':
      $('directory-dialog').close();
      api.switchRoom(m.room);
      return true;
    case 'deleted':
      document.querySelector(`#messages .msg[data-id="${CSS.escape(String(m.id))}"]`)?.remove();
      return true;
    case 'muted': api.notice(m.until ? `${m.by} muted you in #${m.room} until ${new Date(m.until).toLocaleTimeString()}` : `you may speak again in #${m.room}`); return true;
    case 'invited': api.notice(`${m.by} invited you to #${m.room}: open the rooms to join`); return true;
    case 'done':
      api.notice(`${m.request}: ${m.user}`);
      if ($('manage-dialog').open) $('manage-note').textContent = `done: ${m.request} ${m.user}`;
      return true;
    case 'error':
      if ($('manage-dialog').open) $('manage-note').textContent = m.message;  // not behind it
      return false;
    case 'left':
      info.delete(m.room);
      if (m.reason) api.notice(`you were ${m.reason} from #${m.room} by ${m.by}`);
      return false;
  }
  return false;
}

// A promotion changes the moderators: the reader's own role follows from them.
function roleOf(m, old) {
  if (old === 'owner' && m.owner !== api.state.nick) return 'member';
  if (m.owner === api.state.nick) return 'owner';
  if ((m.moderators || []).includes(api.state.nick)) return 'moderator';
  return old ? 'member' : old;
}

export function presenceText(m) {
  if (m.event === 'join') return `${m.nick} joined`;
  if (m.reason) return `${m.nick} was ${m.reason} by ${m.by}`;
  return `${m.nick} left`;
}

export function renderHeader() {
  const r = info.get(api.state.current);
  $('room-topic').textContent = r && r.topic ? r.topic : '';
  $('room-count').textContent = r ? `${r.count} member${r.count === 1 ? '' : 's'}` : '';
  $('leave-room').hidden = !api.state.current;
  $('manage-room').hidden = !moderating();
  $('manage-topic-form').hidden = !r || r.role !== 'owner';
}

// Invitations, lifted bans and mutes, and the topic: what a moderator needs beyond a click on
// a member or a message (an invitee or a banned user is not in the member list).
function openManage() {
  const r = moderating();
  if (!r) return;
  $('manage-topic').value = r.topic || '';
  $('manage-note').textContent = '';
  $('manage-dialog').showModal();
  $('manage-user').focus();
}

function openDirectory() {
  $('directory-search').value = '';
  api.send({ type: 'rooms' });
  $('directory-dialog').showModal();
}

function renderDirectory(list) {
  $('directory-list').replaceChildren(...list.map((r) => {
    const li = document.createElement('li');
    const name = document.createElement('button');
    name.type = 'button';
    name.className = 'room-name';
    name.textContent = '#' + r.name;
    name.onclick = () => { $('directory-dialog').close(); api.switchRoom(r.name); };
    const topic = document.createElement('span');
    topic.className = 'room-topic';
    topic.textContent = r.topic || '';
    const count = document.createElement('span');
    count.className = 'room-count';
    count.textContent = `${r.members} ${r.invite_only ? '· invite-only' : ''}`;
    li.append(name, count, topic);
    return li;
  }));
}

function moderating() {
  const r = info.get(api.state.current);
  return r && (r.role === 'owner' || r.role === 'moderator') ? r : null;
}

function onMessageClick(e) {
  const li = e.target.closest('.msg');
  const r = moderating();
  if (!li || !r || li.classList.contains('system') || !li.dataset.id) return;
  const nick = li.querySelector('.nick')?.textContent || '';
  const items = [['Delete message', { type: 'delete', id: Number(li.dataset.id) }]];
  if (nick && nick !== api.state.nick) items.push(...userActions(nick, r));
  openMenu(e, items);
}

function onMemberClick(e) {
  const li = e.target.closest('li');
  const r = moderating();
  if (!li || !r || li.textContent === api.state.nick) return;
  e.stopPropagation();
  // The menu takes the click that opens a conversation for other readers: it offers that too.
  const user = li.textContent;
  const items = userActions(user, r);
  if (api.converse && api.converse(user, false)) items.unshift([`Message ${user}`, () => api.converse(user, true)]);
  openMenu(e, items);
}

function userActions(user, r) {
  // The owner is beyond anyone's reach, and a moderator beyond another moderator's.
  const mod = (r.moderators || []).includes(user);
  if (user === r.owner || (mod && r.role !== 'owner')) return [];
  const out = [
    [`Kick ${user}`, { type: 'kick', user }],
    [`Ban ${user}`, { type: 'ban', user }],
    [`Mute ${user} for 10 min`, { type: 'mute', user, seconds: 600 }],
  ];
  if (r.role === 'owner') {
    out.push([mod ? `Make ${user} a member` : `Make ${user} a moderator`, { type: 'promote', user, role: mod ? 'member' : 'moderator' }]);
  }
  return out;
}

function openMenu(e, items) {
  const menu = $('mod-menu');
  const room = api.state.current;
  menu.replaceChildren(...items.map(([label, req]) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.onclick = () => { if (typeof req === 'function') req(); else api.send({ ...req, room }); closeMenu(); };
    return b;
  }));
  menu.style.left = Math.min(e.clientX, window.innerWidth - 220) + 'px';
  menu.style.top = Math.min(e.clientY, window.innerHeight - 40 * items.length - 10) + 'px';
  menu.hidden = false;
  e.stopPropagation();
}

function closeMenu() { $('mod-menu').hidden = true; }
