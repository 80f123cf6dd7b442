// chat.js -- the chat page's behaviour, on the socket.io client API only.
// SPDX-License-Identifier: MIT
//
// The server's events (see README, "The chat's events"): we emit message,
// room-message, join, leave, nick, typing and rooms; we listen for
// message, presence and typing. Everything shown is set with textContent,
// never innerHTML, so no message can inject markup.
//
// The client starts on HTTP long-polling and upgrades to a WebSocket, as
// the official one does; /?transports=polling (or websocket) picks the
// transports instead, to compare them in the wire panel at the bottom.
'use strict';

const transports = new URLSearchParams(location.search).get('transports');
const socket = io(transports ? { transports: transports.split(',') } : {});
const $ = (id) => document.getElementById(id);
const LOBBY = 'general';

// What the page knows: the rooms it is in, each with its messages and
// members, and which one is on screen.
const state = {
  current: LOBBY,
  rooms: new Map(),   // room -> { messages: [], members: Map(userId -> name), unread: 0 }
  allRooms: [],       // [{ room, members }] from the "rooms" ack
  typing: new Map(),  // userId -> { name, room, timer }
  nick: localStorage.getItem('wshub-nick') || '',
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function roomState(room) {
  if (!state.rooms.has(room)) state.rooms.set(room, { messages: [], members: new Map(), unread: 0 });
  return state.rooms.get(room);
}

// ---- the connection banner -------------------------------------------------

function banner(cls, text) {
  $('banner').className = cls;
  $('banner').textContent = text;
}

socket.on('connect', () => {
  banner('connected', 'connected');
  if (state.nick) socket.emit('nick', state.nick, () => {});
  // The server puts every new socket in the lobby; join it (and any room
  // we were in before a reconnect) again to get members and history.
  const rooms = new Set([LOBBY, ...state.rooms.keys()]);
  for (const room of rooms) joinRoom(room, room === state.current);
});
socket.on('disconnect', (reason) => {
  banner(reason === 'io server disconnect' ? 'offline' : 'reconnecting',
    reason === 'io server disconnect' ? 'offline (the server disconnected us)' : 'reconnecting…');
});
// While reconnecting, each failed try is a connect_error too; the banner
// keeps counting attempts rather than flickering to "offline".
let everConnected = false;
socket.on('connect', () => { everConnected = true; });
socket.on('connect_error', () => {
  if (!everConnected) banner('offline', 'cannot reach the server, retrying…');
});
socket.io.on('reconnect_attempt', (n) => banner('reconnecting', `reconnecting (attempt ${n})`));
socket.io.on('reconnect_failed', () => banner('offline', 'offline'));

// ---- rooms -------------------------------------------------------------------

function joinRoom(room, show = true) {
  socket.emit('join', room, (ack) => {
    if (ack.error) { $('side-error').textContent = ack.error; return; }
    $('side-error').textContent = '';
    const r = roomState(ack.room);
    r.members = new Map(ack.members.map((m) => [m.userId, m.name]));
    r.messages = ack.history.map((m) => ({ ...m, acked: true }));
    if (show) switchTo(ack.room);
    else if (ack.room === state.current) render();
    refreshRooms();
  });
}

function leaveRoom(room) {
  socket.emit('leave', room, (ack) => {
    if (ack && ack.error) { $('side-error').textContent = ack.error; return; }
    state.rooms.delete(room);
    if (state.current === room) switchTo(state.rooms.has(LOBBY) ? LOBBY : [...state.rooms.keys()][0] || LOBBY);
    refreshRooms();
  });
}

function switchTo(room) {
  state.current = room;
  roomState(room).unread = 0;
  render();
  renderRooms();
}

// Rooms others create are learned by asking: on every presence change,
// and every few seconds while connected.
setInterval(() => { if (socket.connected) refreshRooms(); }, 4000);

let roomsTimer = null;
function refreshRooms() {
  clearTimeout(roomsTimer);
  roomsTimer = setTimeout(() => socket.emit('rooms', (list) => {
    state.allRooms = Array.isArray(list) ? list : [];
    renderRooms();
  }), 100);
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  const names = new Set([...state.rooms.keys(), ...state.allRooms.map((r) => r.room)]);
  for (const room of [...names].sort()) {
    const joined = state.rooms.has(room);
    const li = el('li', room === state.current ? 'current' : '');
    li.dataset.room = room;
    const name = el('span', 'name', `#${room}`);
    if (joined) name.addEventListener('click', () => switchTo(room));
    const info = state.allRooms.find((r) => r.room === room);
    const unread = joined ? roomState(room).unread : 0;
    li.append(name, el('span', 'count', unread ? `${unread} new` : info ? `${info.members}` : ''));
    const button = el('button', 'quiet', joined ? 'Leave' : 'Join');
    button.addEventListener('click', () => (joined ? leaveRoom(room) : joinRoom(room)));
    li.append(button);
    ul.append(li);
  }
}

// ---- messages ----------------------------------------------------------------

function timeOf(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function render() {
  const r = roomState(state.current);
  $('room-title').textContent = `#${state.current}`;
  const ol = $('messages');
  ol.replaceChildren();
  for (const m of r.messages) ol.append(messageItem(m));
  ol.scrollTop = ol.scrollHeight;
  const ul = $('members');
  ul.replaceChildren();
  for (const [id, name] of r.members) ul.append(el('li', id === socket.id ? 'me' : '', name + (id === socket.id ? ' (you)' : '')));
  renderTyping();
}

function messageItem(m) {
  if (m.system) return el('li', 'msg system', m.text);
  const li = el('li', m.pending ? 'msg pending' : 'msg');
  if (m.id !== undefined) li.dataset.id = m.id;
  li.append(el('span', 'meta', m.pending ? 'sending…' : timeOf(m.timestamp)), el('span', 'who', m.name), el('span', 'text', m.text));
  if (m.edited) li.append(el('span', 'edited', '(edited)'));
  if (m.acked && m.userId === socket.id) li.append(el('span', 'tick', '✓'));
  // One's own messages can be edited and deleted: the "edit" and
  // "delete" events take the same path as the REST API's PUT and DELETE.
  if (m.id !== undefined && m.userId === socket.id && !m.pending) {
    const edit = el('button', 'quiet edit', 'Edit');
    edit.addEventListener('click', () => {
      const text = prompt('Edit your message', m.text);
      if (text === null || text === m.text) return;
      socket.emit('edit', { room: m.room, id: m.id, text }, (ack) => { if (ack.error) alert(ack.error); });
    });
    const del = el('button', 'quiet delete', 'Delete');
    del.addEventListener('click', () => {
      socket.emit('delete', { room: m.room, id: m.id }, (ack) => { if (ack.error) alert(ack.error); });
    });
    li.append(edit, del);
  }
  return li;
}

// Edits and deletions, whoever made them (a socket or the REST API).
socket.on('message-edit', (e) => {
  if (!state.rooms.has(e.room)) return;
  const m = roomState(e.room).messages.find((x) => x.id === e.id);
  if (!m) return;
  Object.assign(m, { text: e.text, edited: e.edited });
  if (e.room === state.current) render();
});

socket.on('message-delete', (e) => {
  if (!state.rooms.has(e.room)) return;
  const r = roomState(e.room);
  r.messages = r.messages.filter((x) => x.id !== e.id);
  if (e.room === state.current) render();
});

function addMessage(room, m) {
  const r = roomState(room);
  r.messages.push(m);
  if (r.messages.length > 200) r.messages.shift();
  if (room === state.current) {
    $('messages').append(messageItem(m));
    $('messages').scrollTop = $('messages').scrollHeight;
  } else {
    r.unread++;
    renderRooms();
  }
}

socket.on('message', (m) => {
  if (!state.rooms.has(m.room)) return;
  const r = roomState(m.room);
  // Our own message comes back before its ack: it replaces the
  // "sending…" line we showed when we sent it.
  const pending = m.userId === socket.id && r.messages.find((x) => x.pending && x.text === m.text);
  if (pending) {
    Object.assign(pending, m, { pending: false });
    if (m.room === state.current) render();
  } else {
    addMessage(m.room, m);
  }
});

function send(text) {
  const room = state.current;
  const m = { pending: true, text, room, name: state.nick || 'me', userId: socket.id };
  addMessage(room, m);
  const event = room === LOBBY ? 'message' : 'room-message';
  const payload = room === LOBBY ? { text } : { room, text };
  socket.emit(event, payload, (ack) => {
    if (ack.error) {
      Object.assign(m, { pending: false, system: true, text: `not sent: ${ack.error}` });
    } else {
      // The ack: the server has the message. Show the tick.
      const mine = roomState(room).messages.find((x) => x.id === ack.id) || m;
      Object.assign(mine, { acked: true, pending: false, id: ack.id, timestamp: ack.timestamp });
    }
    if (room === state.current) render();
  });
  stopTyping();
}

// ---- presence and typing -------------------------------------------------------

socket.on('presence', (p) => {
  if (!state.rooms.has(p.room)) return;
  const r = roomState(p.room);
  const before = r.members.get(p.userId);
  if (p.action === 'leave') r.members.delete(p.userId);
  else r.members.set(p.userId, p.name);
  const me = p.userId === socket.id;
  const who = me ? 'You' : (p.action === 'rename' && before ? before : p.name);
  const text = p.action === 'join' ? `${who} joined`
    : p.action === 'leave' ? `${who} left`
      : `${who} ${me ? 'are' : 'is'} now known as ${p.name}`;
  addMessage(p.room, { system: true, text });
  if (p.room === state.current) render();
  refreshRooms();
});

socket.on('typing', (t) => {
  const old = state.typing.get(t.userId);
  if (old) clearTimeout(old.timer);
  if (t.typing) {
    // Forget a typist who goes quiet without saying so.
    const timer = setTimeout(() => { state.typing.delete(t.userId); renderTyping(); }, 5000);
    state.typing.set(t.userId, { name: t.name, room: t.room, timer });
  } else {
    state.typing.delete(t.userId);
  }
  renderTyping();
});

function renderTyping() {
  const names = [...state.typing.values()].filter((t) => t.room === state.current).map((t) => t.name);
  $('typing').textContent = names.length === 0 ? ''
    : names.length === 1 ? `${names[0]} is typing…` : `${names.join(', ')} are typing…`;
}

let typingSince = 0;
let typingTimer = null;
function startTyping() {
  if (!socket.connected) return;
  const now = Date.now();
  if (now - typingSince > 2000) {
    typingSince = now;
    socket.emit('typing', { room: state.current, typing: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 3000);
}
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingSince && socket.connected) socket.emit('typing', { room: state.current, typing: false });
  typingSince = 0;
}

// ---- the forms -------------------------------------------------------------------

$('nick').value = state.nick;
$('nick-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('nick').value.trim();
  if (!name) return;
  socket.emit('nick', name, (ack) => {
    if (ack.error) { $('side-error').textContent = ack.error; return; }
    $('side-error').textContent = '';
    state.nick = ack.name;
    localStorage.setItem('wshub-nick', ack.name);
  });
});

$('create-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const room = $('new-room').value.trim();
  if (room) joinRoom(room);
  $('new-room').value = '';
});

$('send-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  send(text);
  $('text').value = '';
});
$('text').addEventListener('input', startTyping);

// ---- the wire panel: what a learner should look at ---------------------------
//
// Every Engine.IO packet, as sent (→) and received (←), with the
// transport it travelled on. As with the official client, a connection
// starts on HTTP long-polling and upgrades to a WebSocket once a probe
// ("2probe", "3probe", then "5") has shown one works; in a browser
// without WebSocket it stays on polling. The lines "transport: ..." and
// "upgrade: ... -> ..." mark where that happens.

function wireLine(cls, text, via) {
  const ol = $('wire-log');
  const li = el('li', cls, text);
  if (via) li.append(el('span', 'via', via));
  ol.append(li);
  while (ol.children.length > 300) ol.firstChild.remove();
  ol.scrollTop = ol.scrollHeight;
}

// What a binary packet looks like on the wire: a frame of its own on a
// WebSocket; "b" and base64 inside a polling request or response.
function binaryText(buf, transport) {
  if (transport !== 'polling') return `<binary frame, ${buf.byteLength} bytes>`;
  const bytes = new Uint8Array(buf, 0, Math.min(buf.byteLength, 48));
  const b64 = btoa(String.fromCharCode(...bytes));
  return `b${b64}${buf.byteLength > 48 ? '…' : ''}  (${buf.byteLength} bytes as base64)`;
}

socket.io.on('transport', (name, previous) => {
  $('wire-transport').textContent = name;
  wireLine('note', previous ? `upgrade: ${previous} -> ${name}` : `transport: ${name}`);
});

socket.io.on('wire', (dir, data, transport) => {
  const text = typeof data === 'string' ? data : binaryText(data, transport);
  wireLine(dir, `${dir === 'out' ? '→' : '←'} ${text}`, transport);
});
