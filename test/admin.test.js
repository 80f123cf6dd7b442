// admin.test.js -- the official Socket.IO Admin UI (@socket.io/admin-ui
// 0.5.1) against `wshub --admin`: the UI's own browser app from the npm
// package, served by wshub, driven in Chromium; and the same protocol
// checked event by event with the official socket.io-client.
// SPDX-License-Identifier: MIT
//
// The protocol these tests expect is the one lib/index.ts of the package
// speaks (namespace /admin; events config, server_stats, all_sockets,
// socket_connected, socket_updated, socket_disconnected, room_joined,
// room_left, event_received, event_sent; commands emit, join, leave,
// _disconnect). The browser tests are skipped, with a message, when
// /usr/bin/chromium is missing. The 0.5.1 UI has no control that sends
// `emit`, so `emit` is checked with a Node admin client; the UI's own
// commands (join from the Socket page, disconnect from the Sockets page)
// are checked in Chromium.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { io, Manager } = require('socket.io-client');
const { startServer, withTimeout } = require('./lib/wshub');
const { chromiumSkip, launch } = require('./lib/browser');

const skip = chromiumSkip('admin UI browser tests');

const UI_DIST = path.join(path.dirname(require.resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
const USER = 'admin';
const PASS = 's3cret:with colon';

const ALL_FEATURES = ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT',
  'AGGREGATED_EVENTS', 'ALL_EVENTS'];
const READONLY_FEATURES = ['AGGREGATED_EVENTS', 'ALL_EVENTS'];

// A temp dir holding the auth file and a copy of the UI's ui/dist.
function scratch(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-admin-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const authFile = path.join(dir, 'admin-auth');
  fs.writeFileSync(authFile, `${USER}:${PASS}\n`);
  const root = path.join(dir, 'ui');
  fs.cpSync(UI_DIST, root, { recursive: true });
  return { dir, authFile, root };
}

async function adminServer(t, extra = []) {
  const s = scratch(t);
  const server = await startServer(['--app', 'echo', '--root', s.root, '--admin',
    '--admin-auth-file', s.authFile, ...extra]);
  t.after(() => server.stop());
  return server;
}

// ---- socket.io-client helpers -------------------------------------------

function connected(socket, what, ms = 10000) {
  return withTimeout(new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => reject(new Error(`${what}: connect_error ${JSON.stringify(e.message)}`)));
  }), ms, `${what} to connect`);
}

function refused(socket, what, ms = 10000) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error(`${what}: connected, expected a connect_error`)));
    socket.once('connect_error', resolve);
  }), ms, `${what} to get connect_error`);
}

function once(socket, ev, ms = 10000) {
  return withTimeout(new Promise((resolve) => socket.once(ev, (...args) => resolve(args))), ms,
    `event ${ev}`);
}

function ack(socket, ms, ...args) {
  return withTimeout(new Promise((resolve) => socket.emit(...args, (...r) => resolve(r))), ms,
    `an ack for ${JSON.stringify(args)}`);
}

// A client of the app on "/", joined to the given rooms (echo: join room -> ack true).
async function appClient(t, server, rooms = [], opts = {}) {
  const c = io(server.url, { forceNew: true, reconnection: false, ...opts });
  t.after(() => c.disconnect());
  await connected(c, 'app client');
  for (const r of rooms) assert.deepStrictEqual(await ack(c, 10000, 'join', r), [true], `join ${r}`);
  return c;
}

// Records everything an admin socket receives, from before CONNECT on,
// and lets a test wait for an event matching a predicate (seen or future).
class Recorder {
  constructor(socket) {
    this.events = [];
    this.waiters = [];
    socket.onAny((name, ...args) => {
      const e = { name, args, at: Date.now() };
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => !w(e));
    });
  }

  wait(name, pred = () => true, ms = 10000, what = '') {
    const match = (e) => e.name === name && pred(...e.args);
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen.args);
    const p = new Promise((resolve) => {
      this.waiters.push((e) => {
        if (!match(e)) return false;
        resolve(e.args);
        return true;
      });
    });
    return withTimeout(p, ms, `admin event ${name} ${what}; got so far: ${this.summary()}`);
  }

  summary() {
    return JSON.stringify(this.events.slice(-15).map((e) => [e.name, ...e.args]).map((x) => JSON.stringify(x).slice(0, 300)));
  }
}

function adminSocket(t, url, auth = { username: USER, password: PASS }, opts = {}) {
  const a = io(url + '/admin', { forceNew: true, reconnection: false, auth, ...opts });
  const rec = new Recorder(a);
  t.after(() => a.disconnect());
  return { a, rec };
}

// ISO-8601 as JSON.stringify(new Date()) writes it, close to now.
function assertTimestamp(ts, what) {
  assert.strictEqual(typeof ts, 'string', `${what}: timestamp should be an ISO string, got ${JSON.stringify(ts)}`);
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `${what}: timestamp format`);
  const d = Date.parse(ts);
  assert.ok(Math.abs(d - Date.now()) < 60000, `${what}: timestamp ${ts} is not close to now`);
}

// A SerializedSocket as lib/index.ts serialize() builds it.
function assertSerialized(s, { id, nsp, rooms }, what) {
  assert.strictEqual(typeof s, 'object', `${what}: not an object`);
  assert.deepStrictEqual(Object.keys(s).sort(),
    ['clientId', 'data', 'handshake', 'id', 'nsp', 'rooms', 'transport'], `${what}: keys`);
  assert.strictEqual(s.id, id, `${what}: id`);
  assert.strictEqual(s.nsp, nsp, `${what}: nsp`);
  assert.strictEqual(typeof s.clientId, 'string', `${what}: clientId`);
  assert.ok(s.clientId.length > 0, `${what}: clientId empty`);
  assert.ok(['polling', 'websocket'].includes(s.transport), `${what}: transport ${JSON.stringify(s.transport)}`);
  assert.deepStrictEqual(s.data, {}, `${what}: data`);
  const h = s.handshake;
  assert.strictEqual(typeof h, 'object', `${what}: handshake`);
  for (const k of ['address', 'headers', 'query', 'issued', 'secure', 'time', 'url', 'xdomain']) {
    assert.ok(k in h, `${what}: handshake.${k} missing (has ${Object.keys(h)})`);
  }
  assert.ok(!('auth' in h), `${what}: handshake.auth must not be sent`);
  assert.strictEqual(typeof h.address, 'string', `${what}: handshake.address`);
  assert.match(h.address, /127\.0\.0\.1|^::1$/, `${what}: handshake.address`);
  assert.strictEqual(typeof h.headers, 'object', `${what}: handshake.headers`);
  assert.ok(h.headers && typeof h.headers.host === 'string', `${what}: handshake.headers.host (lower-case names)`);
  assert.strictEqual(typeof h.query, 'object', `${what}: handshake.query`);
  assert.strictEqual(h.query && h.query.EIO, '4', `${what}: handshake.query.EIO`);
  assert.strictEqual(typeof h.issued, 'number', `${what}: handshake.issued should be ms since epoch`);
  assert.ok(Math.abs(h.issued - Date.now()) < 120000, `${what}: handshake.issued ${h.issued} not close to now`);
  assert.strictEqual(h.secure, false, `${what}: handshake.secure`);
  assert.strictEqual(typeof h.time, 'string', `${what}: handshake.time`);
  assert.strictEqual(typeof h.url, 'string', `${what}: handshake.url`);
  assert.ok(h.url.startsWith('/socket.io/'), `${what}: handshake.url ${h.url}`);
  assert.strictEqual(typeof h.xdomain, 'boolean', `${what}: handshake.xdomain`);
  assert.ok(Array.isArray(s.rooms), `${what}: rooms must be an array`);
  if (rooms) assert.deepStrictEqual([...s.rooms].sort(), [...rooms].sort(), `${what}: rooms`);
}

function assertStats(st, what = 'server_stats') {
  assert.strictEqual(typeof st, 'object', what);
  for (const k of ['serverId', 'hostname', 'pid', 'uptime', 'clientsCount', 'pollingClientsCount',
    'aggregatedEvents', 'namespaces']) {
    assert.ok(k in st, `${what}: ${k} missing (has ${Object.keys(st)})`);
  }
  assert.strictEqual(typeof st.serverId, 'string', `${what}: serverId`);
  assert.ok(st.serverId.length > 0, `${what}: serverId empty`);
  assert.strictEqual(typeof st.hostname, 'string', `${what}: hostname`);
  assert.ok(Number.isInteger(st.pid) && st.pid > 0, `${what}: pid ${st.pid}`);
  assert.ok(typeof st.uptime === 'number' && st.uptime >= 0, `${what}: uptime ${st.uptime}`);
  assert.ok(Number.isInteger(st.clientsCount), `${what}: clientsCount ${st.clientsCount}`);
  assert.ok(Number.isInteger(st.pollingClientsCount) && st.pollingClientsCount >= 0 &&
    st.pollingClientsCount <= st.clientsCount, `${what}: pollingClientsCount ${st.pollingClientsCount}`);
  assert.ok(Array.isArray(st.aggregatedEvents), `${what}: aggregatedEvents must be an array`);
  const TYPES = ['rawConnection', 'rawDisconnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut'];
  for (const e of st.aggregatedEvents) {
    assert.ok(Number.isInteger(e.timestamp) && e.timestamp % 1000 === 0, `${what}: aggregated timestamp ${JSON.stringify(e)}`);
    assert.ok(TYPES.includes(e.type), `${what}: aggregated type ${JSON.stringify(e)}`);
    assert.ok(Number.isInteger(e.count) && e.count > 0, `${what}: aggregated count ${JSON.stringify(e)}`);
    if ('subType' in e) assert.strictEqual(typeof e.subType, 'string', `${what}: subType ${JSON.stringify(e)}`);
  }
  assert.ok(Array.isArray(st.namespaces), `${what}: namespaces must be an array`);
  for (const n of st.namespaces) {
    assert.deepStrictEqual(Object.keys(n).sort(), ['name', 'socketsCount'], `${what}: namespace entry ${JSON.stringify(n)}`);
    assert.strictEqual(typeof n.name, 'string');
    assert.ok(Number.isInteger(n.socketsCount) && n.socketsCount >= 0, `${what}: ${JSON.stringify(n)}`);
  }
}

// ---- protocol, with the official client ---------------------------------

test('admin namespace: config, all_sockets and server_stats have the shapes the UI reads', async (t) => {
  const server = await adminServer(t);
  const c1 = await appClient(t, server, ['r1']);
  const { a, rec } = adminSocket(t, server.url);
  await connected(a, 'admin');

  const [config] = await rec.wait('config');
  assert.deepStrictEqual(Object.keys(config), ['supportedFeatures'], 'config has exactly supportedFeatures');
  assert.deepStrictEqual([...config.supportedFeatures].sort(), [...ALL_FEATURES].sort(), 'supportedFeatures');

  // session: sent on a credentials login, and then accepted as auth on its own
  // (that is how the UI reconnects after a page reload).
  const [sessionId] = await rec.wait('session');
  assert.strictEqual(typeof sessionId, 'string');
  assert.ok(sessionId.length >= 8, `session id ${sessionId}`);

  const [all] = await rec.wait('all_sockets');
  assert.ok(Array.isArray(all), 'all_sockets argument is an array');
  const mine = all.filter((s) => s.id === c1.id);
  assert.strictEqual(mine.length, 1, `c1 (${c1.id}) once in all_sockets: ${JSON.stringify(all).slice(0, 800)}`);
  assertSerialized(mine[0], { id: c1.id, nsp: '/', rooms: [c1.id, 'r1'] }, 'all_sockets entry for c1');
  const self = all.find((s) => s.id === a.id);
  if (self) assertSerialized(self, { id: a.id, nsp: '/admin', rooms: [a.id] }, 'all_sockets entry for the admin socket');
  for (const s of all) assert.ok(['/', '/admin'].includes(s.nsp), `unexpected nsp ${s.nsp}`);

  // config before all_sockets (the UI needs the features to pick its pages).
  const order = rec.events.map((e) => e.name);
  assert.ok(order.indexOf('config') < order.indexOf('all_sockets'), `order: ${order}`);

  const [st1] = await rec.wait('server_stats');
  assertStats(st1);
  assert.ok(st1.clientsCount >= 2, `clientsCount ${st1.clientsCount} counts c1 and the admin`);
  const nsps = Object.fromEntries(st1.namespaces.map((n) => [n.name, n.socketsCount]));
  assert.strictEqual(nsps['/'], 1, `namespaces: ${JSON.stringify(st1.namespaces)}`);
  assert.strictEqual(nsps['/admin'], 1, `namespaces: ${JSON.stringify(st1.namespaces)}`);
  assert.ok(st1.pid !== process.pid);
  const first = rec.events.find((e) => e.name === 'server_stats');

  // The next one about 2 s later (emitStats every 2000 ms in 0.5.1).
  const [st2] = await rec.wait('server_stats', (s) => s !== st1, 10000, '(the second)');
  assertStats(st2, 'second server_stats');
  const second = rec.events.filter((e) => e.name === 'server_stats')[1];
  const gap = second.at - first.at;
  assert.ok(gap >= 1000 && gap <= 6000, `server_stats interval ${gap} ms, expected about 2000`);
  assert.ok(st2.uptime >= st1.uptime, 'uptime grows');
  assert.strictEqual(st2.serverId, st1.serverId, 'serverId is stable');

  const b = adminSocket(t, server.url, { sessionId });
  await connected(b.a, 'admin with the session id only');
});

test('admin namespace: live socket, room and event notifications', async (t) => {
  const server = await adminServer(t);
  const c1 = await appClient(t, server, ['r1']);
  const { a, rec } = adminSocket(t, server.url);
  await connected(a, 'admin');
  await rec.wait('all_sockets');

  // A new client: socket_connected(socket, timestamp), room_joined for its own room.
  const c2 = await appClient(t, server);
  const [sock, ts] = await rec.wait('socket_connected', (s) => s && s.id === c2.id, 10000, `for ${c2.id}`);
  assertSerialized(sock, { id: c2.id, nsp: '/' }, 'socket_connected');
  assert.ok(sock.rooms.includes(c2.id), `socket_connected rooms ${sock.rooms} include its own id`);
  assertTimestamp(ts, 'socket_connected');

  const c2id = c2.id; // the client forgets it on disconnect
  if (c2.io.engine.transport.name !== 'websocket') await once(c2.io.engine, 'upgrade');

  // join / leave in the app -> room_joined / room_left (nsp, room, id, timestamp).
  await ack(c2, 10000, 'join', 'r1');
  const joined = await rec.wait('room_joined', (n, r, id) => r === 'r1' && id === c2.id, 10000, 'r1 by c2');
  assert.strictEqual(joined.length, 4, `room_joined args ${JSON.stringify(joined)}`);
  assert.strictEqual(joined[0], '/');
  assertTimestamp(joined[3], 'room_joined');
  await ack(c2, 10000, 'leave', 'r1');
  const left = await rec.wait('room_left', (n, r, id) => r === 'r1' && id === c2.id, 10000, 'r1 by c2');
  assert.deepStrictEqual(left.slice(0, 3), ['/', 'r1', c2.id]);
  assertTimestamp(left[3], 'room_left');

  // event_received(nsp, id, [ev, ...args], ts) and event_sent likewise.
  c2.emit('message', 'hi', 1, { x: [2] });
  await once(c2, 'message-back');
  const recv = await rec.wait('event_received', (n, id, args) => id === c2.id && args && args[0] === 'message');
  assert.strictEqual(recv.length, 4, `event_received args ${JSON.stringify(recv)}`);
  assert.deepStrictEqual(recv.slice(0, 3), ['/', c2.id, ['message', 'hi', 1, { x: [2] }]]);
  assertTimestamp(recv[3], 'event_received');
  const sent = await rec.wait('event_sent', (n, id, args) => id === c2.id && args && args[0] === 'message-back');
  assert.deepStrictEqual(sent.slice(0, 3), ['/', c2.id, ['message-back', 'hi', 1, { x: [2] }]]);
  assertTimestamp(sent[3], 'event_sent');
  // An ack callback is not part of the reported args.
  await ack(c2, 10000, 'message-with-ack', 'q');
  const recvAck = await rec.wait('event_received', (n, id, args) => id === c2.id && args && args[0] === 'message-with-ack');
  assert.deepStrictEqual(recvAck[2], ['message-with-ack', 'q']);

  // socket_disconnected(nsp, id, reason, timestamp) when c2 leaves, and
  // room_left for each of its rooms (the UI's Rooms page relies on those).
  await ack(c2, 10000, 'join', 'r7');
  await rec.wait('room_joined', (n, r, id) => r === 'r7' && id === c2id, 10000, 'r7 by c2');
  c2.disconnect();
  const gone = await rec.wait('socket_disconnected', (n, id) => id === c2id);
  assert.strictEqual(gone.length, 4, `socket_disconnected args ${JSON.stringify(gone)}`);
  assert.strictEqual(gone[0], '/');
  assert.strictEqual(typeof gone[2], 'string');
  assertTimestamp(gone[3], 'socket_disconnected');
  await rec.wait('room_left', (n, r, id) => n === '/' && r === 'r7' && id === c2id, 10000, 'r7 by c2 on disconnect');

  // Its upgrade to WebSocket, if it connected over polling: socket_updated
  // {id, nsp, transport}, else the UI shows "HTTP long-polling" for ever.
  if (sock.transport === 'polling') {
    const [up] = await rec.wait('socket_updated', (u) => u && u.id === c2id && u.transport === 'websocket',
      10000, 'after the upgrade');
    assert.strictEqual(up.nsp, '/');
  }
  // c1 is untouched by all this.
  assert.ok(c1.connected);
});

test('admin commands: emit, join, leave, _disconnect, single and multi', async (t) => {
  const server = await adminServer(t);
  const c1 = await appClient(t, server, ['r1']);
  const c2 = await appClient(t, server, ['r1']);
  const c3 = await appClient(t, server);
  const { a, rec } = adminSocket(t, server.url);
  await connected(a, 'admin');
  await rec.wait('config');

  // emit(nsp, filter, ev, ...args): filter a socket id, a room, or none (null).
  let got = once(c2, 'from-admin');
  a.emit('emit', '/', c2.id, 'from-admin', 'x', 1, { y: true });
  assert.deepStrictEqual(await got, ['x', 1, { y: true }], 'emit to one socket id');
  got = Promise.all([once(c1, 'to-room'), once(c2, 'to-room')]);
  a.emit('emit', '/', 'r1', 'to-room', 7);
  assert.deepStrictEqual(await got, [[7], [7]], 'emit to room r1');
  got = Promise.all([once(c1, 'to-all'), once(c2, 'to-all'), once(c3, 'to-all')]);
  a.emit('emit', '/', null, 'to-all');
  assert.deepStrictEqual(await got, [[], [], []], 'emit to the whole namespace (filter null)');
  got = once(c3, 'to-all-2');
  a.emit('emit', '/', undefined, 'to-all-2', 'z'); // the client sends null for undefined
  assert.deepStrictEqual(await got, ['z']);
  const c3sid = c3.id;

  // join(nsp, room, socketId) / leave(nsp, room, socketId).
  a.emit('join', '/', 'r2', c3.id);
  await rec.wait('room_joined', (n, r, id) => n === '/' && r === 'r2' && id === c3.id, 10000, 'r2 by c3');
  assert.ok((await ack(c3, 10000, 'all-rooms'))[0].includes('r2'), 'c3 is in r2');
  a.emit('leave', '/', 'r2', c3.id);
  await rec.wait('room_left', (n, r, id) => n === '/' && r === 'r2' && id === c3.id, 10000, 'r2 by c3');
  assert.ok(!(await ack(c3, 10000, 'all-rooms'))[0].includes('r2'), 'c3 left r2');

  // MJOIN / MLEAVE: without a filter every socket of the namespace.
  a.emit('join', '/', 'r4');
  for (const c of [c1, c2, c3]) await rec.wait('room_joined', (n, r, id) => r === 'r4' && id === c.id, 10000, `r4 by ${c.id}`);
  a.emit('join', '/', 'r5', 'r1'); // those in r1 join r5
  for (const c of [c1, c2]) await rec.wait('room_joined', (n, r, id) => r === 'r5' && id === c.id, 10000, `r5 by ${c.id}`);
  a.emit('leave', '/', 'r4');
  for (const c of [c1, c2, c3]) await rec.wait('room_left', (n, r, id) => r === 'r4' && id === c.id, 10000, `r4 by ${c.id}`);
  const rooms = (await ack(c3, 10000, 'all-rooms'))[0];
  assert.ok(!rooms.includes('r4') && rooms.includes('r5'), `rooms now ${rooms}`);
  assert.ok(!rec.events.some((e) => e.name === 'room_joined' && e.args[1] === 'r5' && e.args[2] === c3.id),
    'c3 (not in r1) did not join r5');

  // _disconnect(nsp, false, socketId): a namespace disconnect, the client sees "io server disconnect".
  const c3id = c3.id;
  let bye = once(c3, 'disconnect');
  a.emit('_disconnect', '/', false, c3id);
  assert.strictEqual((await bye)[0], 'io server disconnect', 'c3 disconnect reason');
  const gone = await rec.wait('socket_disconnected', (n, id) => n === '/' && id === c3id);
  assert.strictEqual(typeof gone[2], 'string');
  assertTimestamp(gone[3], 'socket_disconnected');

  // _disconnect(nsp, true, socketId): the whole connection is closed.
  const c4 = await appClient(t, server);
  bye = once(c4, 'disconnect');
  a.emit('_disconnect', '/', true, c4.id);
  const [reason4] = await bye;
  assert.ok(['transport close', 'io server disconnect'].includes(reason4), `c4 disconnect reason ${reason4}`);

  // MDISCONNECT: everyone in room r1.
  bye = Promise.all([once(c1, 'disconnect'), once(c2, 'disconnect')]);
  a.emit('_disconnect', '/', false, 'r1');
  assert.deepStrictEqual((await bye).map((r) => r[0]), ['io server disconnect', 'io server disconnect']);
  assert.ok(a.connected, 'the admin itself stays connected');

  // What the admin emitted is reported like any other outgoing event
  // (Node: onAnyOutgoing), once per receiving socket.
  await rec.wait('event_sent', (n, id, args) => n === '/' && id === c3sid && args && args[0] === 'to-all-2',
    10000, 'for an admin emit');
});

test('admin with --redis: a UI on one node hears every node', async (t) => {
  const { startRedis } = require('./lib/redis');
  const redis = await startRedis();
  t.after(() => redis.stop());
  const up = new RegExp(`^wshub: redis \\S*:${redis.port} up\\b`);
  const A = await adminServer(t, ['--redis', redis.url]);
  const B = await adminServer(t, ['--redis', redis.url]);
  await A.stderr.wait(up, 10000);
  await B.stderr.wait(up, 10000);
  const { a } = adminSocket(t, A.url);
  await connected(a, 'admin on node A');
  // Both nodes' server_stats reach the admin on A (by serverId).
  const ids = new Set();
  await withTimeout(new Promise((resolve) => {
    a.on('server_stats', (st) => { ids.add(st.serverId); if (ids.size === 2) resolve(); });
  }), 10000, 'server_stats from both nodes');
  // A socket that connects to node B is announced to the admin on A.
  const announced = new Promise((resolve) => a.on('socket_connected', (s) => resolve(s)));
  const b = io(B.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  t.after(() => b.disconnect());
  await connected(b, 'client on node B');
  const s = await withTimeout(announced, 10000, 'socket_connected for B\'s client');
  assert.strictEqual(s.id, b.id);
  assert.strictEqual(s.nsp, '/');
});

test('admin auth: a wrong or missing password gets connect_error "invalid credentials"', async (t) => {
  const server = await adminServer(t);
  for (const auth of [{ username: USER, password: 'wrong' }, { username: 'root', password: PASS },
    { username: USER, password: '' }, { username: '', password: '' }, { sessionId: 'deadbeefdeadbeef' }]) {
    const { a } = adminSocket(t, server.url, auth);
    const err = await refused(a, `admin with ${JSON.stringify(auth)}`);
    assert.strictEqual(err.message, 'invalid credentials', `auth ${JSON.stringify(auth)}`);
  }
  // The app on "/" is not affected by the admin's auth.
  await appClient(t, server);
});

test('admin readonly: only AGGREGATED_EVENTS and ALL_EVENTS, commands ignored', async (t) => {
  const server = await adminServer(t, ['--admin-readonly']);
  const c1 = await appClient(t, server, ['r1']);
  // The admin and a probe on "/" share one Engine.IO connection, so the
  // server sees the admin's commands before the probe's ack request and
  // answers in that order: nothing arriving at the probe before its ack
  // means the command was ignored.
  const m = new Manager(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  const a = m.socket('/admin', { auth: { username: USER, password: PASS } });
  const rec = new Recorder(a);
  const probe = m.socket('/');
  t.after(() => { a.disconnect(); probe.disconnect(); });
  await connected(a, 'readonly admin');
  await connected(probe, 'probe');
  const [config] = await rec.wait('config');
  assert.deepStrictEqual([...config.supportedFeatures].sort(), [...READONLY_FEATURES].sort(), 'readonly supportedFeatures');
  const [all] = await rec.wait('all_sockets');
  assert.ok(all.some((s) => s.id === c1.id), 'all_sockets still sent in readonly');

  const unexpected = [];
  probe.onAny((ev) => { if (ev !== 'auth') unexpected.push(ev); }); // echo greets with "auth"
  a.emit('emit', '/', probe.id, 'should-not-arrive');
  a.emit('join', '/', 'r9', probe.id);
  a.emit('_disconnect', '/', false, probe.id);
  const rooms = (await ack(probe, 10000, 'all-rooms'))[0];
  assert.ok(!rooms.includes('r9'), `readonly join ignored, rooms ${rooms}`);
  assert.deepStrictEqual(unexpected, [], 'readonly emit ignored');
  assert.ok(probe.connected, 'readonly _disconnect ignored');
  assert.ok(a.connected, 'the readonly admin is not disconnected for trying');
});

test('admin without an auth file: loopback only', async (t) => {
  const s = scratch(t);
  const ifaces = Object.values(os.networkInterfaces()).flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal);
  const host = ifaces.length ? '0.0.0.0' : '127.0.0.1';
  const server = await startServer(['--app', 'echo', '--root', s.root, '--admin', '--host', host]);
  t.after(() => server.stop());
  const url = `http://127.0.0.1:${server.port}`;
  const { a, rec } = adminSocket(t, url, {});
  await connected(a, 'admin from 127.0.0.1 without credentials');
  const [config] = await rec.wait('config');
  assert.deepStrictEqual([...config.supportedFeatures].sort(), [...ALL_FEATURES].sort());
  if (!ifaces.length) {
    t.diagnostic('no non-loopback IPv4 address here: the refusal is not tested');
    return;
  }
  const far = `http://${ifaces[0].address}:${server.port}`;
  const b = adminSocket(t, far, { username: USER, password: PASS });
  await refused(b.a, `admin from ${ifaces[0].address}`);
  // The app itself still answers on that address.
  await appClient(t, { url: far });
});

// ---- the UI in Chromium ---------------------------------------------------

// A page (its own context, so its own localStorage) wide enough for the
// navigation drawer and the app bar's status (Vuetify "lg", >= 1264 px).
// index.html links Google Fonts and the icon CSS from a CDN: those are
// aborted, so only the server under test is talked to.
async function uiPage(browser, errors) {
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  p.setDefaultTimeout(15000);
  await p.route((u) => u.hostname !== '127.0.0.1', (r) => r.abort());
  p.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: net::ERR_FAILED/.test(m.text())) errors.push(m.text());
  });
  p.on('pageerror', (e) => errors.push(String(e)));
  return p;
}

async function fillConnectionForm(p, url, username, password) {
  await p.goto(url + '/index.html', { waitUntil: 'domcontentloaded' });
  await p.locator('.v-dialog--active').getByText('Connection').waitFor();
  await p.getByLabel('Server URL').fill(url);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Connect' }).click();
}

const statusChip = (p, re) => p.locator('header .d-lg-flex .v-chip', { hasText: re });
const CONNECTED = /^\s*connected\s*$/i;
const DISCONNECTED = /^\s*disconnected\s*$/i;

// Route changes slide: wait until the old page has left the DOM.
async function settled(p, crumb) {
  await p.waitForFunction((c) => {
    const b = document.querySelectorAll('.v-main .v-breadcrumbs');
    return b.length === 1 && b[0].innerText.trim().split('\n').pop().trim() === c;
  }, crumb);
}

async function nav(p, title) {
  await p.locator('nav.v-navigation-drawer a', { hasText: title }).click();
  await settled(p, title);
}

test('Admin UI in Chromium: connects, shows sockets, rooms, clients, and its commands reach clients', { skip }, async (t) => {
  const server = await adminServer(t);
  // The "/" clients connect first: the UI picks the namespace to show from all_sockets.
  const c1 = await appClient(t, server, ['r1']);
  const c2 = await appClient(t, server, ['r1']);
  const browser = await launch();
  t.after(() => browser.close());
  const errors = [];
  const p = await uiPage(browser, errors);

  await fillConnectionForm(p, server.url, USER, PASS);
  await statusChip(p, CONNECTED).waitFor();
  await p.locator('.v-dialog--active').waitFor({ state: 'detached' }).catch(() => {});
  await p.locator('header .d-lg-flex code', { hasText: server.url }).waitFor();

  // Sockets page: both clients, with address and transport.
  await nav(p, 'Sockets');
  for (const c of [c1, c2]) {
    const row = p.locator('tbody tr', { hasText: c.id });
    await row.waitFor();
    assert.match(await row.innerText(), /127\.0\.0\.1/, `address shown for ${c.id}`);
    assert.match(await row.innerText(), /WebSocket|HTTP long-polling/, `transport shown for ${c.id}`);
  }

  // Rooms page: r1 with 2 sockets (private rooms hidden).
  await nav(p, 'Rooms');
  const r1 = p.locator('tbody tr', { hasText: 'r1' });
  await r1.waitFor();
  await p.waitForFunction(() => [...document.querySelectorAll('tbody tr')]
    .some((tr) => { const td = [...tr.querySelectorAll('td')].map((x) => x.innerText.trim()); return td[0] === 'r1' && td[2] === '2'; }));
  assert.match(await r1.innerText(), /public/i);
  assert.strictEqual(await p.locator('tbody tr', { hasText: c1.id }).count(), 0, 'private rooms hidden by default');

  // Clients page: one row per Engine.IO client.
  await nav(p, 'Clients');
  for (const c of [c1, c2]) await p.locator('tbody tr', { hasText: c.io.engine.id.slice(0, 12) }).waitFor();

  // Servers page: this server, healthy.
  await nav(p, 'Servers');
  await p.locator('tbody tr', { hasText: /\bhealthy\b/i }).waitFor();

  // Socket page of c1 (its details and initial request), then its
  // "Join a room" form: the UI sends join(nsp, room, id).
  await nav(p, 'Sockets');
  await p.locator('tbody tr', { hasText: c1.id }).click();
  await settled(p, 'Socket details');
  await p.locator('.v-card', { hasText: 'Initial HTTP request' }).waitFor();
  await p.locator('.v-card', { hasText: 'Details' }).getByText(c1.id).waitFor();
  const roomsCard = p.locator('.v-card', { hasText: 'Join a room' });
  await roomsCard.getByLabel('Join a room').fill('from-ui');
  await roomsCard.locator('button[type=submit]').click();
  await roomsCard.locator('tbody tr', { hasText: 'from-ui' }).waitFor();
  assert.ok((await ack(c1, 10000, 'all-rooms'))[0].includes('from-ui'), 'c1 joined the room the UI asked for');

  // Sockets page: the disconnect button of c2's row sends
  // _disconnect(nsp, false, id); c2 is told, and its row goes away.
  await nav(p, 'Sockets');
  const c2id = c2.id;
  const bye = once(c2, 'disconnect', 15000);
  await p.locator('tbody tr', { hasText: c2id }).locator('button').click();
  assert.strictEqual((await bye)[0], 'io server disconnect');
  // The click also reaches the row, which opens c2's Socket page (the UI
  // does that too): it now says the socket is disconnected.
  await settled(p, 'Socket details');
  await p.locator('.v-card', { hasText: 'Details' }).getByText(c2id).waitFor();
  await p.locator('.v-card', { hasText: 'Details' }).locator('tr', { hasText: 'Status' }).last()
    .locator('.v-chip', { hasText: DISCONNECTED }).waitFor();
  await nav(p, 'Sockets');
  await p.locator('tbody tr', { hasText: c1.id }).waitFor();
  assert.strictEqual(await p.locator('tbody tr', { hasText: c2id }).count(), 0, 'c2 is gone from the Sockets page');

  // A new client shows up live.
  const c3 = await appClient(t, server);
  await p.locator('tbody tr', { hasText: c3.id }).waitFor();

  assert.deepStrictEqual(errors, [], 'no errors in the page');
});

test('Admin UI in Chromium: a wrong password is refused', { skip }, async (t) => {
  const server = await adminServer(t);
  const browser = await launch();
  t.after(() => browser.close());
  const errors = [];
  const p = await uiPage(browser, errors);

  await fillConnectionForm(p, server.url, USER, 'not the password');
  await p.locator('.v-dialog--active .red--text', { hasText: 'Invalid credentials' }).waitFor();
  assert.strictEqual(await statusChip(p, DISCONNECTED).count(), 1, 'status stays disconnected');
  assert.strictEqual(await statusChip(p, CONNECTED).count(), 0);

  // Then the right one, in the same form.
  await p.getByLabel('Password').fill(PASS);
  await p.getByRole('button', { name: 'Connect' }).click();
  await statusChip(p, CONNECTED).waitFor();
  assert.deepStrictEqual(errors, [], 'no errors in the page');
});
