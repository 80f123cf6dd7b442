// redis.test.js -- wshub in a Socket.IO cluster on Redis: with other wshub
// nodes, with Node socket.io servers running @socket.io/redis-adapter, and
// with @socket.io/redis-emitter, all on one real redis-server.
// SPDX-License-Identifier: MIT
//
// The contract under test is the classic adapter's wire protocol
// (/work/shared/specs/socket.io-redis-adapter.md): broadcasts as msgpack
// on socket.io#NSP#[ROOM#], requests and responses on socket.io-request#
// and socket.io-response#. wshub's echo app (--app echo) gains events that
// drive the cluster from a client: join, leave, broadcast,
// broadcast-others, fetch-sockets, all-rooms, set-data, server-side-emit.
//
// Nothing sleeps to wait. A positive check waits for the event, with a
// timeout. A negative check ("this socket did not get it") sends a fence
// afterwards on the same path and waits for the fence: Redis hands each
// subscriber its messages in publish order, so once the fence is in,
// anything sent before it is in too.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const net = require('node:net');
const http = require('node:http');
const { io: ioc } = require('socket.io-client');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { Emitter } = require('@socket.io/redis-emitter');
const msgpack = require('notepack.io');
const { startServer, withTimeout } = require('./lib/wshub');
const { startRedis, redisClient } = require('./lib/redis');

// ASan and valgrind builds are several times slower.
const SLOW = process.env.WSHUB_SANITIZED ? 3 : 1;
const ms = (n) => n * SLOW;
// What "well under the adapter's 5 s requestsTimeout" means: a cluster
// call that waits out a silent node takes 5 s; one that works takes ms.
const PROMPT = Math.min(4000, ms(2000));

// ---- clients ---------------------------------------------------------------

const clients = new Set(); // every socket.io-client made here, closed at the end

// Connect and wait for 'connect'. Reconnection is off unless asked for.
async function connect(url, nsp = '/', opts = {}) {
  const socket = ioc(`${url}${nsp}`, {
    transports: ['websocket'], reconnection: false, forceNew: true, ...opts,
  });
  clients.add(socket);
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), ms(5000), `connect to ${url}${nsp}`);
  return socket;
}

function closeAll() {
  for (const s of clients) s.close();
  clients.clear();
}

// Wait for one event; resolves to its arguments.
function once(emitter, event, wait = ms(5000)) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), wait, `event ${event}`);
}

// Emit with an ack and resolve to the (first) answer.
function ask(socket, event, ...args) {
  return askWithin(ms(5000), socket, event, ...args);
}

function askWithin(wait, socket, event, ...args) {
  return socket.timeout(wait).emitWithAck(event, ...args);
}

// Record every event a socket gets, as [event, ...args] (but the echo
// app's "auth", which may land just after 'connect').
function record(socket) {
  const got = [];
  socket.onAny((event, ...args) => { if (event !== 'auth') got.push([event, ...args]); });
  return got;
}

// Wait for an event whose arguments pass test; resolves to them.
function waitFor(socket, event, test, what = event) {
  let fn;
  const p = new Promise((resolve) => {
    fn = (...args) => { if (test(...args)) resolve(args); };
    socket.on(event, fn);
  });
  return withTimeout(p, ms(5000), what).finally(() => socket.off(event, fn));
}

const named = (got, event) => got.filter((e) => e[0] === event);

// Join a room through the echo app and check its ack.
async function join(socket, room) {
  assert.strictEqual(await ask(socket, 'join', room), true, `join ${room} acked true`);
}

// Fence: `sender` (a wshub client) broadcasts `event` to the whole
// namespace, and every socket in `waiters` waits for it.
async function fence(sender, waiters, event = `fence-${Math.random().toString(36).slice(2)}`) {
  const arrivals = waiters.map((w) => once(w, event, ms(5000)));
  assert.strictEqual(await ask(sender, 'broadcast', { event }), true, 'fence broadcast acked');
  await Promise.all(arrivals);
  return event;
}

// ---- cluster members -------------------------------------------------------

// Lines wshub prints on stderr when its Redis link comes up or goes down.
const upLine = (port) => new RegExp(`^wshub: redis \\S*:${port} up\\b`);
const downLine = (port) => new RegExp(`^wshub: redis \\S*:${port} down\\b`);

const servers = new Set(); // wshub and Node peers started here

// Start wshub on redis and wait until it says its Redis link is up.
// app: 'echo' or null for the default (chat).
async function startHub(redis, { app = 'echo', url = redis.url, args = [], waitUp = true } = {}) {
  const hub = await startServer(['--redis', url, ...(app ? ['--app', app] : []), ...args]);
  hub.kind = 'wshub';
  servers.add(hub);
  if (waitUp) await hub.stderr.wait(upLine(redis.port), ms(5000));
  return hub;
}

// A Node socket.io server on the same Redis, speaking the same echo
// contract (join/leave by event; rooms and data from the query string).
async function startNodePeer(redis, { key, namespaces = ['/'] } = {}) {
  const pub = await redisClient(redis.url);
  const sub = pub.duplicate();
  sub.on('error', () => {});
  await sub.connect();
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: createAdapter(pub, sub, key ? { key } : {}) });
  for (const name of namespaces) {
    io.of(name).on('connection', (socket) => {
      const q = socket.handshake.query;
      if (q.rooms) socket.join(String(q.rooms).split(','));
      socket.data = q.data ? JSON.parse(q.data) : { from: 'node' };
      socket.on('join', (room, cb) => { socket.join(room); if (cb) cb(true); });
      socket.on('leave', (room, cb) => { socket.leave(room); if (cb) cb(true); });
    });
  }
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = httpServer.address().port;
  const peer = {
    kind: 'node', io, pub, sub, port, url: `http://127.0.0.1:${port}`,
    // The server-side socket of a client connected here.
    socketOf(client, nsp = '/') { return io.of(nsp).sockets.get(client.id); },
    async stop() {
      await withTimeout(io.close(), ms(5000), 'Node socket.io to close').catch(() => {});
      // QUIT goes out after the adapter's UNSUBSCRIBEs, so they settle;
      // with Redis gone, QUIT never comes back and disconnect() ends it.
      for (const c of [sub, pub]) {
        await withTimeout(c.quit(), ms(2000), 'QUIT').catch(() => c.disconnect().catch(() => {}));
      }
    },
  };
  servers.add(peer);
  return peer;
}

async function stopAll() {
  closeAll();
  const errors = [];
  for (const s of servers) {
    try { await s.stop(); } catch (e) { errors.push(e); }
  }
  servers.clear();
  if (errors.length) throw errors[0];
}

// Wait until `n` connections are subscribed to the request channel of
// nsp: that is what a Node peer counts as the number of servers. Polls
// the condition with awaited commands, 10 ms apart, within a deadline.
async function waitServers(admin, n, nsp = '/', key = 'socket.io') {
  const channel = `${key}-request#${nsp}#`;
  const deadline = Date.now() + ms(5000);
  let last;
  for (;;) {
    const reply = await admin.sendCommand(['PUBSUB', 'NUMSUB', channel]);
    last = Number(reply[1]);
    if (last === n) return;
    if (Date.now() > deadline) throw new Error(`PUBSUB NUMSUB ${channel} is ${last}, expected ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Resolve within `limit` ms or fail with what was being waited for.
function promptly(promise, what, limit = PROMPT) {
  return withTimeout(promise, limit, `${what} (a silent or wrong node makes this wait 5 s)`);
}

// A process that has not exited.
function alive(hub) {
  return hub.proc.exitCode === null && hub.proc.signalCode === null;
}

// GET path from a server; resolves to { status, body }.
function get(server, path = '/') {
  return withTimeout(fetch(`${server.url}${path}`).then(async (r) => ({ status: r.status, body: await r.text() })),
    ms(3000), `GET ${path}`);
}

// ============================================================================
// 1. The chat across two wshub nodes
// ============================================================================

describe('chat across two wshub nodes', () => {
  let redis, admin, A, B;

  before(async () => {
    redis = await startRedis();
    admin = await redisClient(redis.url);
    A = await startHub(redis, { app: null });
    B = await startHub(redis, { app: null });
    await waitServers(admin, 2);
  });
  after(async () => {
    await stopAll();
    await admin.disconnect().catch(() => {});
    await redis.stop();
  });

  it('presence, join members, room messages, typing and renames cross nodes', async () => {
    const a = await connect(A.url);
    const aGot = record(a);
    assert.deepStrictEqual(await ask(a, 'nick', 'ada'), { name: 'ada' });

    // b connects on the other node: a hears the lobby presence join.
    const bJoinsGeneral = withTimeout(new Promise((resolve) => {
      a.on('presence', (p) => { if (p.action === 'join' && p.room === 'general' && p.userId !== a.id) resolve(p); });
    }), ms(5000), 'presence join in general from the other node');
    const b = await connect(B.url);
    const pGeneral = await bJoinsGeneral;
    assert.strictEqual(pGeneral.userId, b.id);
    assert.match(pGeneral.name, /^guest-/);

    // A rename on B reaches a in general.
    const renamed = once(a, 'presence');
    assert.deepStrictEqual(await ask(b, 'nick', 'bob'), { name: 'bob' });
    assert.deepStrictEqual((await renamed)[0], { room: 'general', userId: b.id, name: 'bob', action: 'rename' });

    // a joins lounge alone; then b joins on B and a hears it.
    const first = await ask(a, 'join', 'lounge');
    assert.strictEqual(first.room, 'lounge');
    assert.deepStrictEqual(first.members, [{ userId: a.id, name: 'ada' }]);
    const aHearsB = withTimeout(new Promise((resolve) => {
      a.on('presence', (p) => { if (p.room === 'lounge' && p.action === 'join') resolve(p); });
    }), ms(5000), 'presence join in lounge from the other node');
    const second = await ask(b, 'join', 'lounge');
    assert.deepStrictEqual(await aHearsB, { room: 'lounge', userId: b.id, name: 'bob', action: 'join' });
    const byId = (x, y) => (x.userId < y.userId ? -1 : 1);
    assert.deepStrictEqual(second.members.slice().sort(byId),
      [{ userId: a.id, name: 'ada' }, { userId: b.id, name: 'bob' }].sort(byId),
      'the join ack lists the members on both nodes, with their nicknames');

    // A room message from A reaches b on B, as the chat's message shape.
    const bGets = once(b, 'message');
    const ack = await ask(a, 'room-message', { room: 'lounge', text: 'hello across' });
    const [msg] = await bGets;
    assert.strictEqual(typeof ack.id, 'number');
    assert.deepStrictEqual(msg, {
      id: ack.id, text: 'hello across', userId: a.id, name: 'ada', room: 'lounge', timestamp: ack.timestamp,
    });
    assert.match(msg.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    // Typing from b reaches a, not b itself (fence: b's next room message).
    const bGot = record(b);
    const aTyping = once(a, 'typing');
    b.emit('typing', { room: 'lounge', typing: true });
    assert.deepStrictEqual((await aTyping)[0], { room: 'lounge', userId: b.id, name: 'bob', typing: true });
    const bFence = once(b, 'message');
    await ask(b, 'room-message', { room: 'lounge', text: 'fence' });
    await bFence;
    assert.deepStrictEqual(named(bGot, 'typing'), [], 'the typist is not told of her own typing');

    // The rooms ack counts members on every node.
    const rooms = await ask(a, 'rooms');
    const count = (name) => (rooms.find((r) => r.room === name) || {}).members;
    assert.strictEqual(count('lounge'), 2, `lounge in ${JSON.stringify(rooms)}`);
    assert.strictEqual(count('general'), 2, `general in ${JSON.stringify(rooms)}`);

    // b leaves lounge; a hears it.
    const aHearsLeave = withTimeout(new Promise((resolve) => {
      a.on('presence', (p) => { if (p.room === 'lounge' && p.action === 'leave') resolve(p); });
    }), ms(5000), 'presence leave from the other node');
    assert.deepStrictEqual(await ask(b, 'leave', 'lounge'), { room: 'lounge' });
    assert.deepStrictEqual(await aHearsLeave, { room: 'lounge', userId: b.id, name: 'bob', action: 'leave' });

    // A disconnect on B is a presence leave in general on A.
    const aHearsGone = withTimeout(new Promise((resolve) => {
      a.on('presence', (p) => { if (p.room === 'general' && p.action === 'leave') resolve(p); });
    }), ms(5000), 'presence leave on disconnect');
    const bId = b.id;
    b.close();
    assert.strictEqual((await aHearsGone).userId, bId);
    assert.ok(aGot.length > 0);
    a.close();
  });

  it('message ids are unique across nodes, and each message arrives once on each node', async () => {
    const a = await connect(A.url);
    const b = await connect(B.url);
    const aGot = record(a);
    const bGot = record(b);
    const ids = [];
    for (let i = 0; i < 6; i++) {
      const [from, node] = i % 2 ? [b, 'B'] : [a, 'A'];
      const ack = await ask(from, 'message', { text: `m${i} from ${node}` });
      assert.strictEqual(typeof ack.id, 'number', JSON.stringify(ack));
      ids.push(ack.id);
    }
    assert.strictEqual(new Set(ids).size, ids.length, `ids ${ids} are unique across the two nodes`);
    // Fence: one more message from each node, awaited on both sides.
    const text = (t) => (m) => m.text === t;
    const last = [waitFor(a, 'message', text('fence A')), waitFor(b, 'message', text('fence A')),
      waitFor(a, 'message', text('fence B')), waitFor(b, 'message', text('fence B'))];
    await ask(a, 'message', { text: 'fence A' });
    await ask(b, 'message', { text: 'fence B' });
    await Promise.all(last);
    for (const [name, got] of [['a', aGot], ['b', bGot]]) {
      const texts = named(got, 'message').map((e) => e[1].text).filter((t) => /^m\d/.test(t));
      assert.deepStrictEqual(texts.slice().sort(), ['m0 from A', 'm1 from B', 'm2 from A', 'm3 from B', 'm4 from A', 'm5 from B'],
        `${name} got every message once`);
      const got2 = named(got, 'message').filter((e) => /^m\d/.test(e[1].text));
      for (const e of got2) assert.ok(ids.includes(e[1].id), `message id ${e[1].id} is the one acked`);
    }
    a.close();
    b.close();
  });
});

// ============================================================================
// 2-7. wshub with a Node socket.io peer and the emitter
// ============================================================================

describe('wshub and a Node socket.io server on one Redis', () => {
  let redis, admin, sniffer, W1, W2, N;
  const published = []; // [channel, payload] of everything published on socket.io*
  const onPublished = new Set(); // called with each [channel, payload] as it comes

  before(async () => {
    redis = await startRedis();
    admin = await redisClient(redis.url);
    sniffer = admin.duplicate();
    sniffer.on('error', () => {});
    await sniffer.connect();
    await sniffer.pSubscribe('socket.io*', (message, channel) => {
      const m = [channel.toString(), message];
      published.push(m);
      for (const f of onPublished) f(m);
    }, true);
    W1 = await startHub(redis);
    W2 = await startHub(redis);
    N = await startNodePeer(redis, { namespaces: ['/', '/custom'] });
    await waitServers(admin, 3);
  });
  after(async () => {
    await stopAll();
    await sniffer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    await redis.stop();
  });

  it('each node subscribes to each namespace\'s request channel on exactly one connection', async () => {
    await waitServers(admin, 3, '/');
    await waitServers(admin, 3, '/custom');
  });

  it('a wshub broadcast to a room reaches a client of the Node server', async () => {
    const w = await connect(W1.url);
    const n = await connect(N.url, '/', { query: { rooms: 'r2' } });
    const got = once(n, 'from-wshub');
    assert.strictEqual(await ask(w, 'broadcast', { rooms: ['r2'], event: 'from-wshub' }, 'a', { b: 1 }, [null, true, 1.5]), true);
    assert.deepStrictEqual(await got, ['a', { b: 1 }, [null, true, 1.5]]);
    w.close();
    n.close();
  });

  it("Node's io.to(room).emit reaches wshub clients in that room only", async () => {
    const inRoom = await connect(W1.url);
    const other = await connect(W2.url);
    const inRoom2 = await connect(W2.url);
    await join(inRoom, 'r2b');
    await join(inRoom2, 'r2b');
    const otherGot = record(other);
    const got = [once(inRoom, 'from-node'), once(inRoom2, 'from-node')];
    N.io.to('r2b').emit('from-node', 1, 'x', { deep: { er: [70000, -5, 'ü'] } });
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, [1, 'x', { deep: { er: [70000, -5, 'ü'] } }]);
    // Fence from Node to everyone, on the bare channel after the room one.
    const fenced = once(other, 'node-fence');
    N.io.emit('node-fence');
    await fenced;
    assert.deepStrictEqual(named(otherGot, 'from-node'), [], 'a socket outside the room got nothing');
    closeAll();
  });

  it("Node's io.emit reaches every wshub client, on both nodes", async () => {
    const socks = [await connect(W1.url), await connect(W1.url), await connect(W2.url), await connect(N.url)];
    const got = socks.map((s) => once(s, 'to-all'));
    N.io.emit('to-all', 3);
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, [3]);
    closeAll();
  });

  it('a Node socket.to(sid).emit reaches the wshub socket with that id, and no other', async () => {
    const target = await connect(W1.url);
    const bystander = await connect(W1.url);
    const n = await connect(N.url);
    const seen = record(bystander);
    const got = once(target, 'direct');
    N.socketOf(n).to(target.id).emit('direct', 'hi', target.id);
    assert.deepStrictEqual(await got, ['hi', target.id]);
    const got2 = once(target, 'direct-io');
    N.io.to(target.id).emit('direct-io', 2);
    assert.deepStrictEqual(await got2, [2]);
    await fence(target, [bystander]);
    assert.deepStrictEqual(named(seen, 'direct').concat(named(seen, 'direct-io')), []);
    closeAll();
  });

  it('a wshub broadcast with no rooms reaches every socket of the namespace, Node ones included, sender too', async () => {
    const w = await connect(W1.url);
    const all = [w, await connect(W1.url), await connect(W2.url), await connect(N.url)];
    const got = all.map((s) => once(s, 'everyone'));
    assert.strictEqual(await ask(w, 'broadcast', { event: 'everyone' }, 'x'), true);
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, ['x']);
    closeAll();
  });

  it('broadcast-others skips only the sender, across nodes', async () => {
    const w = await connect(W1.url);
    const local = await connect(W1.url);
    const remote = await connect(W2.url);
    const node = await connect(N.url);
    const wGot = record(w);
    const got = [local, remote, node].map((s) => once(s, 'others'));
    assert.strictEqual(await ask(w, 'broadcast-others', { event: 'others' }, 1), true);
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, [1]);
    // With a room: the sender is in it, and still skipped.
    await join(w, 'ro');
    await join(remote, 'ro');
    const inRo = once(remote, 'others-ro');
    assert.strictEqual(await ask(w, 'broadcast-others', { rooms: ['ro'], event: 'others-ro' }, 2), true);
    assert.deepStrictEqual(await inRo, [2]);
    await fence(w, [w]);
    assert.deepStrictEqual(named(wGot, 'others').concat(named(wGot, 'others-ro')), [], 'the sender got neither');
    closeAll();
  });

  // ---- 4. rooms and except -------------------------------------------------

  it('rooms and except are honoured across nodes, and a socket in two targeted rooms gets it once', async () => {
    const sender = await connect(W1.url);
    const both = await connect(W2.url); // in r4a and r4b
    const onlyA = await connect(W1.url); // in r4a
    const excluded = await connect(W2.url); // in r4a and r4x
    const outside = await connect(W2.url); // in no room
    const nBoth = await connect(N.url, '/', { query: { rooms: 'r4a,r4b' } });
    const nExcluded = await connect(N.url, '/', { query: { rooms: 'r4b,r4x' } });
    await join(both, 'r4a');
    await join(both, 'r4b');
    await join(onlyA, 'r4a');
    await join(excluded, 'r4a');
    await join(excluded, 'r4x');
    const socks = { sender, both, onlyA, excluded, outside, nBoth, nExcluded };
    const got = Object.fromEntries(Object.entries(socks).map(([k, s]) => [k, record(s)]));

    // From wshub: two rooms, one except room.
    assert.strictEqual(await ask(sender, 'broadcast', { rooms: ['r4a', 'r4b'], except: ['r4x'], event: 'e4' }, 'w'), true);
    // From Node: the same selection.
    N.io.to(['r4a', 'r4b']).except('r4x').emit('e4', 'n');
    // Except by socket id, from both sides.
    assert.strictEqual(await ask(sender, 'broadcast', { rooms: ['r4a'], except: [both.id], event: 'e4-sid' }), true);
    N.io.to('r4a').except(onlyA.id).emit('e4-sid-n');
    // Two fences, one per publisher: each is ordered only after what went
    // out on its own Redis connection.
    const f1 = `f-${Date.now()}`;
    const fenceAll = Object.values(socks).map((s) => once(s, f1));
    N.io.emit(f1);
    await Promise.all(fenceAll);
    await fence(sender, Object.values(socks));

    const from = (k, ev, arg) => named(got[k], ev).filter((e) => arg === undefined || e[1] === arg).length;
    const expected = { sender: 0, both: 1, onlyA: 1, excluded: 0, outside: 0, nBoth: 1, nExcluded: 0 };
    for (const [k, n] of Object.entries(expected)) {
      assert.strictEqual(from(k, 'e4', 'w'), n, `${k}: e4 from wshub ${n} time(s); got ${JSON.stringify(got[k])}`);
      assert.strictEqual(from(k, 'e4', 'n'), n, `${k}: e4 from Node ${n} time(s); got ${JSON.stringify(got[k])}`);
    }
    const sidExpected = { sender: 0, both: 0, onlyA: 1, excluded: 1, outside: 0, nBoth: 1, nExcluded: 0 };
    for (const [k, n] of Object.entries(sidExpected)) {
      assert.strictEqual(from(k, 'e4-sid'), n, `${k}: e4-sid ${n} time(s); got ${JSON.stringify(got[k])}`);
    }
    const sidNExpected = { sender: 0, both: 1, onlyA: 0, excluded: 1, outside: 0, nBoth: 1, nExcluded: 0 };
    for (const [k, n] of Object.entries(sidNExpected)) {
      assert.strictEqual(from(k, 'e4-sid-n'), n, `${k}: e4-sid-n ${n} time(s); got ${JSON.stringify(got[k])}`);
    }
    closeAll();
  });

  it('a socket that left a room no longer gets its broadcasts from other nodes', async () => {
    const w = await connect(W1.url);
    const leaver = await connect(W2.url);
    await join(leaver, 'r4l');
    const got = record(leaver);
    const first = once(leaver, 'r4l-1');
    N.io.to('r4l').emit('r4l-1');
    await first;
    assert.strictEqual(await ask(leaver, 'leave', 'r4l'), true);
    N.io.to('r4l').emit('r4l-2');
    assert.strictEqual(await ask(w, 'broadcast', { rooms: ['r4l'], event: 'r4l-3' }), true);
    const f = once(leaver, 'r4l-fence');
    N.io.emit('r4l-fence');
    await f;
    await fence(w, [leaver]);
    assert.deepStrictEqual(got.map((e) => e[0]).filter((e) => e.startsWith('r4l-') && e !== 'r4l-fence'), ['r4l-1']);
    closeAll();
  });

  // ---- 5. binary -----------------------------------------------------------

  it('binary arguments cross from wshub to Node and back as Buffers, nested ones included', async () => {
    const w = await connect(W1.url);
    const w2 = await connect(W2.url);
    const n = await connect(N.url, '/', { query: { rooms: 'rb' } });
    await join(w, 'rb');
    await join(w2, 'rb');
    const small = Buffer.from([1, 2, 3]);
    const big = Buffer.alloc(70000, 7);
    const ff = Buffer.from([0xff]);

    // wshub -> Node and wshub -> wshub.
    const atNode = once(n, 'bin');
    const atW2 = once(w2, 'bin');
    assert.strictEqual(await ask(w, 'broadcast', { rooms: ['rb'], event: 'bin' }, small, { nested: [ff, { deeper: big }] }, 'text'), true);
    for (const [where, args] of [['node', await atNode], ['wshub', await atW2]]) {
      const [a, b, c] = args;
      assert.ok(Buffer.isBuffer(a) || a instanceof ArrayBuffer, `${where}: first arg is binary`);
      assert.ok(Buffer.from(a).equals(small), `${where}: first buffer intact`);
      assert.ok(Buffer.from(b.nested[0]).equals(ff), `${where}: nested buffer intact`);
      assert.ok(Buffer.from(b.nested[1].deeper).equals(big), `${where}: deep 70000-byte buffer intact`);
      assert.strictEqual(c, 'text');
    }
    assert.ok(Buffer.isBuffer((await atNode)[0]), 'the Node client gets a Buffer');

    // Node -> wshub.
    const atW = once(w, 'bin-n');
    N.io.to('rb').emit('bin-n', Buffer.from('héllo'), { nested: { deep: Buffer.from([0, 255, 0]) } }, [Buffer.alloc(0)]);
    const [x, y, z] = await atW;
    assert.ok(Buffer.isBuffer(x), 'a Buffer arrives as a Buffer');
    assert.strictEqual(x.toString(), 'héllo');
    assert.ok(Buffer.from(y.nested.deep).equals(Buffer.from([0, 255, 0])));
    assert.strictEqual(Buffer.from(z[0]).length, 0);
    closeAll();
  });

  // ---- 3. the emitter ------------------------------------------------------

  it('the emitter reaches wshub: to(room), emit, of(nsp), binary', async () => {
    const emitter = new Emitter(admin);
    const inRoom = await connect(W1.url);
    const other = await connect(W2.url);
    const custom = await connect(W2.url, '/custom');
    await join(inRoom, 'r3');
    const otherGot = record(other);
    const customGot = record(custom);

    const g1 = once(inRoom, 'em1');
    emitter.to('r3').emit('em1', { b: 2 });
    assert.deepStrictEqual(await g1, [{ b: 2 }]);

    const gAll = [once(inRoom, 'em-all'), once(other, 'em-all')];
    emitter.emit('em-all', 1, 'two');
    for (const g of await Promise.all(gAll)) assert.deepStrictEqual(g, [1, 'two']);

    const gC = once(custom, 'em-custom');
    emitter.of('/custom').emit('em-custom', 'c');
    assert.deepStrictEqual(await gC, ['c']);

    const gB = once(inRoom, 'em-bin');
    emitter.to('r3').emit('em-bin', Buffer.from([9, 8]), { n: Buffer.from('x') });
    const [b1, b2] = await gB;
    assert.ok(Buffer.isBuffer(b1) && b1.equals(Buffer.from([9, 8])));
    assert.strictEqual(Buffer.from(b2.n).toString(), 'x');

    // Fences on both namespaces, from the emitter itself.
    const f = [once(other, 'em-fence'), once(custom, 'em-fence-c')];
    emitter.emit('em-fence');
    emitter.of('/custom').emit('em-fence-c');
    await Promise.all(f);
    assert.deepStrictEqual(named(otherGot, 'em1').concat(named(otherGot, 'em-custom')), [], 'outside r3 and outside /custom');
    assert.deepStrictEqual(customGot.map((e) => e[0]), ['em-custom', 'em-fence-c'], '/custom got only its own');
    closeAll();
  });

  it('the emitter: in(room).socketsJoin(r) then a broadcast to r reaches it', async () => {
    const emitter = new Emitter(admin);
    const w = await connect(W1.url);
    const w2 = await connect(W2.url);
    const n = await connect(N.url, '/', { query: { rooms: 'r3j' } });
    await join(w, 'r3j');
    const w2Got = record(w2);
    emitter.in('r3j').socketsJoin('r9');
    // The same connection publishes the join and then the broadcast, so
    // each node sees them in that order.
    const got = [once(w, 'in-r9'), once(n, 'in-r9')];
    emitter.to('r9').emit('in-r9', 'joined');
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, ['joined']);
    // wshub's own cluster view has the new room.
    const rooms = await promptly(ask(w2, 'all-rooms'), 'all-rooms');
    assert.ok(rooms.includes('r9'), `all-rooms ${JSON.stringify(rooms)} has r9`);
    // socketsLeave undoes it. The fence comes from the emitter too.
    const wGot = record(w);
    emitter.in('r3j').socketsLeave('r9');
    emitter.to('r9').emit('in-r9-after-leave');
    const f = [once(w, 'r9-fence'), once(w2, 'r9-fence')];
    emitter.emit('r9-fence');
    await Promise.all(f);
    assert.deepStrictEqual(named(wGot, 'in-r9-after-leave'), [], 'socketsLeave took w out of r9');
    assert.deepStrictEqual(named(w2Got, 'in-r9'), [], 'w2 was never in r3j');
    closeAll();
  });

  it('the emitter: in(room).disconnectSockets(true) disconnects the wshub clients in it, and only them', async () => {
    const emitter = new Emitter(admin);
    const victim = await connect(W1.url);
    const victim2 = await connect(W2.url);
    const survivor = await connect(W1.url);
    await join(victim, 'r4d');
    await join(victim2, 'r4d');
    const gone = [once(victim, 'disconnect'), once(victim2, 'disconnect')];
    emitter.in('r4d').disconnectSockets(true);
    for (const [reason] of await Promise.all(gone)) {
      assert.ok(['io server disconnect', 'transport close'].includes(reason), `disconnect reason ${reason}`);
    }
    await fence(survivor, [survivor]);
    assert.ok(survivor.connected, 'a socket outside the room stays connected');
    closeAll();
  });

  it("the emitter's serverSideEmit('hello-servers', 1) makes wshub emit server-side", async () => {
    const emitter = new Emitter(admin);
    const a = await connect(W1.url);
    const b = await connect(W2.url);
    const got = [once(a, 'server-side'), once(b, 'server-side')];
    emitter.serverSideEmit('hello-servers', 1);
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, [1]);
    closeAll();
  });

  // ---- 6. cluster calls from Node -------------------------------------------

  it("Node's io.fetchSockets() and io.in(room).fetchSockets() include wshub sockets, promptly", async () => {
    const w = await connect(W1.url);
    const w2 = await connect(W2.url);
    const n = await connect(N.url, '/', { query: { rooms: 'r6' } });
    await join(w, 'r6');
    assert.strictEqual(await ask(w, 'set-data', { user: 'ada', n: 1 }), true);

    const all = await promptly(N.io.fetchSockets(), 'io.fetchSockets()');
    const ids = all.map((s) => s.id);
    for (const s of [w, w2, n]) assert.ok(ids.includes(s.id), `${s.id} in ${ids}`);
    const rw = all.find((s) => s.id === w.id);
    assert.deepStrictEqual([...rw.rooms].sort(), [w.id, 'r6'].sort(), 'rooms of the wshub socket, its own id included');
    assert.deepStrictEqual(rw.data, { user: 'ada', n: 1 }, 'data set with set-data');
    assert.deepStrictEqual(all.find((s) => s.id === w2.id).data, {}, 'data defaults to {}');

    const inR6 = await promptly(N.io.in('r6').fetchSockets(), "io.in('r6').fetchSockets()");
    assert.deepStrictEqual(inR6.map((s) => s.id).sort(), [w.id, n.id].sort());
    closeAll();
  });

  it("a wshub socket fetched by Node carries its real handshake (query, auth, url, address)", async () => {
    const w = await connect(W1.url, '/', { query: { hello: 'q' }, auth: { token: 't1' } });
    const [rw] = await promptly(N.io.in(w.id).fetchSockets(), 'fetchSockets by sid');
    assert.ok(rw, 'found');
    const h = rw.handshake;
    const shown = JSON.stringify(h);
    for (const k of ['headers', 'query', 'auth']) assert.strictEqual(typeof h[k], 'object', `handshake.${k} in ${shown}`);
    for (const k of ['time', 'address', 'url']) assert.strictEqual(typeof h[k], 'string', `handshake.${k} in ${shown}`);
    assert.strictEqual(typeof h.issued, 'number', `handshake.issued in ${shown}`);
    assert.strictEqual(h.query.hello, 'q', `handshake.query has the connection's query: ${shown}`);
    assert.strictEqual(h.query.EIO, '4', `handshake.query has EIO: ${shown}`);
    assert.deepStrictEqual(h.auth, { token: 't1' }, `handshake.auth is the CONNECT payload: ${shown}`);
    assert.match(h.url, /^\/socket\.io\/\?.*hello=q/, `handshake.url is the request's: ${shown}`);
    assert.match(h.address, /127\.0\.0\.1/, `handshake.address is the peer's: ${shown}`);
    closeAll();
  });

  it("a Node RemoteSocket can make a wshub socket join, leave, emit and disconnect", async () => {
    const w = await connect(W1.url);
    const [rw] = await promptly(N.io.in(w.id).fetchSockets(), 'fetchSockets by sid');
    const got = once(w, 'remote-emit');
    rw.emit('remote-emit', 5);
    assert.deepStrictEqual(await got, [5]);
    rw.join('r6j');
    const inR = once(w, 'to-r6j');
    N.io.to('r6j').emit('to-r6j');
    await inR;
    const gone = once(w, 'disconnect');
    rw.disconnect(true);
    await gone;
    closeAll();
  });

  it("Node's adapter.allRooms() includes wshub rooms and socket ids, promptly", async () => {
    const w = await connect(W2.url);
    await join(w, 'r6rooms');
    const rooms = await promptly(N.io.of('/').adapter.allRooms(), 'adapter.allRooms()');
    assert.ok(rooms.has('r6rooms'), `allRooms has r6rooms: ${[...rooms]}`);
    assert.ok(rooms.has(w.id), 'allRooms has the socket id room');
    // socketsJoin from Node, then allRooms: Node publishes both on its one
    // pub connection, so wshub handles the join before it answers.
    N.io.in('r6rooms').socketsJoin('r6joined');
    const again = await promptly(N.io.of('/').adapter.allRooms(), 'adapter.allRooms()');
    assert.ok(again.has('r6joined'), `socketsJoin from Node reached the wshub socket: ${[...again]}`);
    const inIt = await promptly(N.io.in('r6joined').fetchSockets(), "io.in('r6joined').fetchSockets()");
    assert.deepStrictEqual(inIt.map((s) => s.id), [w.id]);
    closeAll();
  });

  it("Node's io.serverSideEmit('hello-servers', 'x', cb) gets 'wshub' from each wshub node", async () => {
    const a = await connect(W1.url);
    const b = await connect(W2.url);
    const got = [once(a, 'server-side'), once(b, 'server-side')];
    const responses = await promptly(new Promise((resolve, reject) => {
      N.io.serverSideEmit('hello-servers', 'x', (err, res) => (err ? reject(err) : resolve(res)));
    }), 'serverSideEmit with an ack');
    assert.deepStrictEqual(responses, ['wshub', 'wshub']);
    for (const g of await Promise.all(got)) assert.deepStrictEqual(g, ['x']);
    // Without an ack too.
    const again = [once(a, 'server-side'), once(b, 'server-side')];
    N.io.serverSideEmit('hello-servers', { y: 2 }, 3);
    for (const g of await Promise.all(again)) assert.deepStrictEqual(g, [{ y: 2 }, 3]);
    closeAll();
  });

  it("Node's io.timeout().to(room).emit with an ack gets the wshub client's answer", async () => {
    const w = await connect(W1.url);
    const w2 = await connect(W2.url);
    const n = await connect(N.url, '/', { query: { rooms: 'ackroom' } });
    await join(w, 'ackroom');
    await join(w2, 'ackroom');
    w.on('ackme', (q, cb) => cb(`w1-${q}`));
    w2.on('ackme', (q, cb) => cb({ from: 'w2', q }));
    n.on('ackme', (q, cb) => cb(`node-${q}`));
    const responses = await promptly(new Promise((resolve, reject) => {
      N.io.timeout(ms(1500)).to('ackroom').emit('ackme', 'q', (err, res) => (err ? reject(err) : resolve(res)));
    }), 'a broadcast with acks');
    const key = (r) => JSON.stringify(r);
    assert.deepStrictEqual(responses.map(key).sort(), ['w1-q', { from: 'w2', q: 'q' }, 'node-q'].map(key).sort());
    // And an ack broadcast to a room with nobody on wshub.
    const none = await promptly(new Promise((resolve, reject) => {
      N.io.timeout(ms(1500)).to('nobody-here').emit('ackme', 'q', (err, res) => (err ? reject(err) : resolve(res)));
    }), 'an ack broadcast nobody gets');
    assert.deepStrictEqual(none, []);
    closeAll();
  });

  // ---- 7. cluster calls from wshub -----------------------------------------

  it("wshub's fetch-sockets and all-rooms include the Node server's sockets", async () => {
    const w = await connect(W1.url);
    const w2 = await connect(W2.url);
    const n = await connect(N.url, '/', { query: { rooms: 'r7', data: JSON.stringify({ who: 'node-client' }) } });
    await join(w2, 'r7');
    assert.strictEqual(await ask(w2, 'set-data', { who: 'w2' }), true);

    const all = await promptly(ask(w, 'fetch-sockets', {}), 'fetch-sockets');
    assert.ok(Array.isArray(all), JSON.stringify(all));
    const byId = Object.fromEntries(all.map((s) => [s.id, s]));
    for (const s of [w, w2, n]) assert.ok(byId[s.id], `${s.id} in ${JSON.stringify(all)}`);
    assert.deepStrictEqual(byId[n.id].rooms.slice().sort(), [n.id, 'r7'].sort());
    assert.deepStrictEqual(byId[n.id].data, { who: 'node-client' });
    assert.deepStrictEqual(byId[w2.id].rooms.slice().sort(), [w2.id, 'r7'].sort());
    assert.deepStrictEqual(byId[w2.id].data, { who: 'w2' });
    assert.deepStrictEqual(byId[w.id].data, {});
    assert.strictEqual(new Set(all.map((s) => s.id)).size, all.length, 'each socket once');

    const r7 = await promptly(ask(w, 'fetch-sockets', { rooms: ['r7'] }), 'fetch-sockets in r7');
    assert.deepStrictEqual(r7.map((s) => s.id).sort(), [w2.id, n.id].sort());

    const rooms = await promptly(ask(w, 'all-rooms'), 'all-rooms');
    for (const r of ['r7', n.id, w.id, w2.id]) assert.ok(rooms.includes(r), `${r} in all-rooms ${JSON.stringify(rooms)}`);
    assert.strictEqual(new Set(rooms).size, rooms.length, 'each room once');
    closeAll();
  });

  it("wshub's server-side-emit reaches Node's serverSideEmit listeners", async () => {
    const w = await connect(W1.url);
    const heard = withTimeout(new Promise((resolve) => N.io.once('from-wshub-server', (...args) => resolve(args))),
      ms(5000), "Node's serverSideEmit listener");
    assert.strictEqual(await ask(w, 'server-side-emit', 'from-wshub-server', 1, { two: 2 }), true);
    assert.deepStrictEqual(await heard, [1, { two: 2 }]);
    closeAll();
  });

  // ---- 9. long-polling ------------------------------------------------------

  it('a long-polling client on one wshub node gets a broadcast from the other', async () => {
    const poller = await connect(W1.url, '/', { transports: ['polling'] });
    assert.strictEqual(poller.io.engine.transport.name, 'polling');
    const w = await connect(W2.url);
    const got = once(poller, 'to-poller');
    assert.strictEqual(await ask(w, 'broadcast', { rooms: [poller.id], event: 'to-poller' }, 'over polling', Buffer.from([1])), true);
    const [text, bin] = await got;
    assert.strictEqual(text, 'over polling');
    assert.ok(Buffer.from(bin).equals(Buffer.from([1])));
    const got2 = once(poller, 'from-node');
    N.io.emit('from-node', 'to all');
    assert.deepStrictEqual(await got2, ['to all']);
    closeAll();
  });

  // Runs last in this block: everything wshub published above must be
  // what a Node peer can take (a bad broadcast kills a Node server).
  it('everything published on the broadcast channels is a well-formed msgpack [uid, packet, opts]', async () => {
    // Our own fence, so the sniffer has seen everything sent before it.
    const w = await connect(W1.url);
    let hook;
    const seen = withTimeout(new Promise((resolve) => {
      hook = ([, m]) => { if (m.includes(Buffer.from('sniffer-fence'))) resolve(); };
      onPublished.add(hook);
    }), ms(5000), 'the sniffer to see the fence').finally(() => onPublished.delete(hook));
    assert.strictEqual(await ask(w, 'broadcast', { event: 'sniffer-fence' }), true);
    await seen;
    const bad = [];
    let broadcasts = 0;
    const strings = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
    for (const [channel, m] of published) {
      if (!/^socket\.io#\/[^#]*#/.test(channel)) {
        // Requests and responses: JSON if it starts with {, msgpack otherwise.
        try { if (m[0] === 0x7b) JSON.parse(m.toString()); else msgpack.decode(m); } catch (e) { bad.push([channel, m.toString('hex'), e.message]); }
        continue;
      }
      broadcasts++;
      let v;
      try { v = msgpack.decode(m); } catch (e) { bad.push([channel, m.toString('hex'), e.message]); continue; }
      const [uid, packet, opts] = Array.isArray(v) ? v : [];
      const why = [];
      if (!Array.isArray(v) || v.length !== 3) why.push('not a 3-element array');
      if (typeof uid !== 'string') why.push('uid not a string');
      if (!packet || packet.type !== 2) why.push('packet.type is not 2');
      if (!packet || !Array.isArray(packet.data) || typeof packet.data[0] !== 'string') why.push('packet.data is not [event, ...]');
      if (packet && packet.nsp !== undefined && typeof packet.nsp !== 'string') why.push('packet.nsp not a string');
      if (packet && channel.split('#')[1] !== (packet.nsp || '/')) why.push('packet.nsp differs from the channel\'s');
      if (!opts || !strings(opts.rooms)) why.push('opts.rooms not an array of strings');
      if (opts && opts.except !== undefined && !strings(opts.except)) why.push('opts.except not an array of strings');
      const room = channel.split('#')[2];
      if (room && !(opts && opts.rooms && opts.rooms.length === 1 && opts.rooms[0] === room)) why.push('room channel without exactly that one room');
      if (!room && opts && opts.rooms && opts.rooms.length === 1) why.push('one room, but the bare channel');
      if (why.length) bad.push([channel, JSON.stringify(v), why.join('; ')]);
    }
    assert.ok(broadcasts > 10, `the sniffer saw ${broadcasts} broadcasts`);
    assert.deepStrictEqual(bad, []);
    closeAll();
  });
});

// ============================================================================
// Connection options: password, database, key prefix
// ============================================================================

describe('--redis with a password and a database, and --redis-key', () => {
  let redis, admin;

  before(async () => {
    redis = await startRedis({ args: ['--requirepass', 'sekret'] });
    admin = await redisClient(`redis://:sekret@127.0.0.1:${redis.port}`);
  });
  after(async () => {
    await stopAll();
    await admin.disconnect().catch(() => {});
    await redis.stop();
  });

  it('redis://:password@host:port/db connects and carries broadcasts', async () => {
    const url = `redis://:sekret@127.0.0.1:${redis.port}/3`;
    const A = await startHub(redis, { url });
    const B = await startHub(redis, { url });
    await waitServers(admin, 2);
    const a = await connect(A.url);
    const b = await connect(B.url);
    const got = once(b, 'pw');
    assert.strictEqual(await ask(a, 'broadcast', { event: 'pw' }, 'ok'), true);
    assert.deepStrictEqual(await got, ['ok']);
    closeAll();
    await A.stop();
    await B.stop();
    servers.delete(A);
    servers.delete(B);
  });

  it('--redis-key PREFIX uses that prefix, and keeps apart from the default one', async () => {
    const url = `redis://:sekret@127.0.0.1:${redis.port}`;
    const P = await startHub(redis, { url, args: ['--redis-key', 'myapp'] });
    const D = await startHub(redis, { url });
    await waitServers(admin, 1, '/', 'myapp');
    await waitServers(admin, 1, '/', 'socket.io');
    const p = await connect(P.url);
    const d = await connect(D.url);
    const dGot = record(d);
    const pGot = record(p);
    const emitter = new Emitter(admin, { key: 'myapp' });
    const got = once(p, 'keyed');
    emitter.emit('keyed', 1);
    assert.deepStrictEqual(await got, [1]);
    // A broadcast from the prefixed node stays among its prefix.
    const self = once(p, 'keyed-2');
    assert.strictEqual(await ask(p, 'broadcast', { event: 'keyed-2' }), true);
    await self;
    const df = once(d, 'default-fence');
    new Emitter(admin).emit('default-fence');
    await df;
    assert.deepStrictEqual(named(dGot, 'keyed').concat(named(dGot, 'keyed-2')), [], 'the default-prefix node heard nothing');
    assert.ok(named(pGot, 'keyed').length === 1);
    closeAll();
  });
});

// ============================================================================
// 8. Faults
// ============================================================================

describe('when Redis goes away and comes back', () => {
  let redis, A, B;

  before(async () => {
    redis = await startRedis();
    A = await startHub(redis);
    B = await startHub(redis);
    const admin = await redisClient(redis.url);
    await waitServers(admin, 2);
    await admin.disconnect();
  });
  after(async () => {
    await stopAll();
    await redis.stop();
  });

  it('local delivery goes on while Redis is down, and cross-node delivery resumes once it is back', async () => {
    const a1 = await connect(A.url);
    const a2 = await connect(A.url);
    const b1 = await connect(B.url);
    const b2 = await connect(B.url);

    // Cross-node works to begin with.
    const before1 = once(b1, 'x0');
    assert.strictEqual(await ask(a1, 'broadcast', { event: 'x0' }), true);
    await before1;

    // Kill Redis in the middle of a stream of broadcasts.
    const markA = A.stderr.lines.length;
    const markB = B.stderr.lines.length;
    const burst = [];
    for (let i = 0; i < 50; i++) burst.push(ask(a1, 'broadcast', { event: 'burst' }, i, Buffer.alloc(1000, i)));
    for (let i = 0; i < 50; i++) burst.push(ask(b1, 'broadcast', { event: 'burst' }, i));
    await redis.stop();
    await A.stderr.wait(downLine(redis.port), ms(5000), markA);
    await B.stderr.wait(downLine(redis.port), ms(5000), markB);
    await withTimeout(Promise.allSettled(burst), ms(10000), 'acks of the broadcasts sent around the outage');
    assert.ok(alive(A) && alive(B), 'both nodes are still running');

    // Local delivery on each node, while Redis is down.
    for (const [from, to, node] of [[a1, a2, 'A'], [b1, b2, 'B']]) {
      const got = once(to, 'local');
      const self = once(from, 'local');
      assert.strictEqual(await ask(from, 'broadcast', { event: 'local' }, node), true, `broadcast acked on ${node} during the outage`);
      assert.deepStrictEqual(await got, [node], `local delivery on ${node}`);
      await self;
    }
    const got2 = once(a2, 'local-room');
    await join(a2, 'lr');
    assert.strictEqual(await ask(a1, 'broadcast', { rooms: ['lr'], event: 'local-room' }), true);
    await got2;
    // The chat's HTTP side is untouched.
    assert.strictEqual((await get(A)).status, 200);

    // Redis comes back on the same port; each node says so, once.
    await redis.restart();
    await A.stderr.wait(upLine(redis.port), ms(15000), markA);
    await B.stderr.wait(upLine(redis.port), ms(15000), markB);
    for (const [hub, mark, name] of [[A, markA, 'A'], [B, markB, 'B']]) {
      const downs = hub.stderr.lines.slice(mark).filter((l) => downLine(redis.port).test(l));
      assert.strictEqual(downs.length, 1, `${name} said "down" once per outage: ${JSON.stringify(downs)}`);
    }
    const admin = await redisClient(redis.url);
    await waitServers(admin, 2);
    await admin.disconnect();

    for (const [from, to, dir] of [[a1, b1, 'A to B'], [b2, a2, 'B to A']]) {
      const got = once(to, 'again');
      assert.strictEqual(await ask(from, 'broadcast', { event: 'again' }, dir), true);
      assert.deepStrictEqual(await got, [dir], `cross-node delivery ${dir} after the restart`);
    }
    // Rooms joined during the outage are honoured after it.
    const inLr = once(a2, 'lr-again');
    assert.strictEqual(await ask(b1, 'broadcast', { rooms: ['lr'], event: 'lr-again' }), true);
    await inLr;
    closeAll();
  });
});

describe('a Redis that stops reading', () => {
  let redis, A;

  before(async () => {
    redis = await startRedis();
    A = await startHub(redis);
  });
  after(async () => {
    process.kill(redis.pid, 'SIGCONT');
    await stopAll();
    await redis.stop();
  });

  it('caps what wshub queues for it, drops past the cap with a count, and serves locally meanwhile', async () => {
    const a1 = await connect(A.url);
    const a2 = await connect(A.url);
    const mark = A.stderr.lines.length;
    process.kill(redis.pid, 'SIGSTOP'); // it stops reading; the kernel's buffers fill, then ours
    // Broadcasts to a room nobody here is in: each is published, none
    // delivered locally. 40 x 400 KB is well past --max-buffered (4 MiB)
    // plus the sockets' own buffers.
    const big = Buffer.alloc(400000, 7);
    for (let i = 0; i < 40; i++) a1.emit('broadcast', { rooms: ['elsewhere'], event: 'big' }, big);
    await A.stderr.wait(/^wshub: redis pub: over 4194304 bytes of output queued; dropping/, ms(10000), mark);
    // The loop is not blocked: local delivery goes on.
    const got = once(a2, 'still-local');
    assert.strictEqual(await ask(a1, 'broadcast', { event: 'still-local' }, 1), true);
    assert.deepStrictEqual(await got, [1]);
    process.kill(redis.pid, 'SIGCONT');
    // Either the queue drains, or the stall timeout had already dropped
    // the connection and it reconnects; both end with the link up.
    await A.stderr.wait(/^wshub: redis pub: output drained; \d+ commands were dropped|^wshub: redis \S+ up/, ms(15000), mark);
    assert.ok(alive(A));
    closeAll();
  });
});

describe('garbage on the cluster channels is ignored', () => {
  // No Node peer here: a Node server dies on a garbage broadcast.
  let redis, admin, A, B;

  before(async () => {
    redis = await startRedis();
    admin = await redisClient(redis.url);
    // A short --redis-timeout: the forged-answers test makes wshub wait it out.
    A = await startHub(redis, { args: ['--redis-timeout', String(ms(1500))] });
    B = await startHub(redis, { args: ['--redis-timeout', String(ms(1500))] });
    await waitServers(admin, 2);
  });
  after(async () => {
    await stopAll();
    await admin.disconnect().catch(() => {});
    await redis.stop();
  });

  const valid = msgpack.encode(['abcdef', { type: 2, data: ['hello', { a: 1 }], nsp: '/' }, { rooms: ['room1'], except: [], flags: {} }]);
  const junk = [
    Buffer.alloc(0),
    Buffer.from('not msgpack at all'),
    Buffer.from('{"a":1}'),
    Buffer.from('{'),
    Buffer.from([0xc1]),
    Buffer.from([0xff, 0xff, 0xff]),
    Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff]), // array32 claiming 4 G elements
    Buffer.from([0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x61]), // map32 claiming 2 G pairs
    Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]), // str32 longer than the message
    Buffer.from([0xc6, 0xff, 0xff, 0xff, 0xff]), // bin32 longer than the message
    Buffer.concat([Buffer.alloc(100000, 0x91), Buffer.from([0xc0])]), // 100000 nested arrays
    Buffer.concat([Buffer.alloc(100000, 0x81), Buffer.from([0xc0])]), // maps with nil keys, nested
    msgpack.encode([1, 2, 3]),
    msgpack.encode(['uid']),
    msgpack.encode('just a string'),
    msgpack.encode(['x', 'packet?', 'opts?']),
    msgpack.encode(['x', { type: 2, data: 'not an array', nsp: '/' }, {}]),
    msgpack.encode(['x', { type: 2, data: [], nsp: '/' }, {}]),
    msgpack.encode(['x', { type: 2, data: [42], nsp: '/' }, {}]),
    msgpack.encode(['x', { type: 2, data: [null], nsp: '/' }, { rooms: 'r' }]),
    msgpack.encode(['x', { type: 2, data: ['g-rooms'], nsp: '/' }, { rooms: [42, null, {}] }]),
    msgpack.encode(['x', { type: 2, data: ['g-except'], nsp: '/' }, { rooms: ['nobody'], except: 7 }]),
    msgpack.encode(['x', { type: 2, data: ['g-nsp'], nsp: 5 }, { rooms: ['nobody'] }]),
    msgpack.encode(['x', null, null]),
    Buffer.from([0x93, 0xa1, 0x78, 0xd6, 0xff, 0, 0, 0, 0, 0xc7, 0xff, 0x05]), // timestamp, then a lying ext
    Buffer.from([0x93, 0xa1, 0x78, 0x82, 0x01, 0x02, 0xc3, 0xc2, 0x80]), // int and bool map keys
  ];
  // Every truncation of a well-formed broadcast.
  const truncations = [];
  for (let i = 1; i < valid.length; i++) truncations.push(valid.subarray(0, i));

  const requestJunk = [
    '{', '{}', 'null', '[]', '"str"', '{"type":"5"}', '{"type":99,"requestId":"g1"}',
    '{"type":1}', '{"type":5,"requestId":"g2","opts":null}', '{"type":5,"requestId":"g3","opts":{"rooms":"x","except":5}}',
    '{"type":2,"opts":{"rooms":["nobody-room"],"except":[]},"rooms":"notalist"}',
    '{"type":2,"opts":{"rooms":["nobody-room"]},"rooms":[1,null,{}]}',
    '{"type":3,"opts":"x","rooms":["nobody-room"]}',
    '{"type":4,"opts":{"rooms":["nobody-room"],"except":[]},"close":"maybe"}',
    '{"type":6,"data":"notalist","uid":"x"}', '{"type":6,"data":[],"uid":"x"}', '{"type":6,"data":[5],"uid":"x","requestId":7}',
    '{"type":7,"requestId":"g4","packet":null,"opts":null}',
    '{"uid":"x","requestId":"g5","type":1' /* truncated */,
    '{"a":' + '['.repeat(100000),
    '{"s":"\\ud800"}', '{"s":"\u0000"}',
  ].map((s) => Buffer.from(s));
  // Every truncation of well-formed requests, JSON and msgpack.
  for (const whole of [
    Buffer.from('{"uid":"tRunc8","requestId":"g8","type":5,"opts":{"rooms":["r"],"except":[]}}'),
    Buffer.from('{"type":4,"opts":{"rooms":["nobody-room"],"except":[]},"close":true}'),
    msgpack.encode({ uid: 'tRunc9', requestId: 'g9', type: 7, packet: { type: 2, data: ['t', Buffer.from([1])], nsp: '/' }, opts: { rooms: ['nobody-room'], except: [], flags: { timeout: 100 } } }),
  ]) for (let i = 1; i < whole.length; i++) requestJunk.push(whole.subarray(0, i));
  requestJunk.push(
    msgpack.encode({ uid: 'x', requestId: 'g6', type: 7, packet: { type: 2, data: 'x' }, opts: { rooms: 5 } }),
    msgpack.encode({ uid: 'x', requestId: 'g7', type: 7, packet: { type: 2, data: ['g-ack'], nsp: '/' }, opts: { rooms: ['nobody-room'], except: [], flags: { timeout: 'soon' } } }),
    Buffer.from([0x81, 0xa4]), Buffer.from([0xde, 0xff, 0xff]),
  );
  const responseJunk = [
    '{', '{}', '{"requestId":"none-such","sockets":[]}', '{"requestId":5,"rooms":"x"}',
    '{"type":8,"requestId":"none","clientCount":"many"}', '{"type":9,"requestId":"none"}',
    '{"type":6,"requestId":null,"data":1}',
  ].map((s) => Buffer.from(s));
  responseJunk.push(msgpack.encode({ type: 9, requestId: 'none', packet: Buffer.alloc(10) }), Buffer.from([0xc1, 0xc1]));

  async function checkStillWorks(a, b, label) {
    assert.ok(alive(A) && alive(B), `both nodes still run after ${label}`);
    const got = once(b, 'after-garbage');
    assert.strictEqual(await ask(a, 'broadcast', { event: 'after-garbage' }, label), true);
    assert.deepStrictEqual(await got, [label], `cross-node delivery after ${label}`);
    assert.strictEqual((await get(B)).status, 200, `HTTP on B after ${label}`);
  }

  it('on the broadcast channels, bare and room-suffixed', async () => {
    const a = await connect(A.url);
    const b = await connect(B.url);
    await join(b, 'room1');
    await join(a, 'room1');
    const aGot = record(a);
    const bGot = record(b);
    for (const channel of ['socket.io#/#', 'socket.io#/#room1#', 'socket.io#/custom#', 'socket.io#/#nobody#']) {
      for (const m of junk.concat(truncations)) await admin.publish(channel, m);
    }
    await checkStillWorks(a, b, 'broadcast-channel garbage');
    const events = (got) => got.map((e) => e[0]).filter((e) => e !== 'after-garbage');
    assert.deepStrictEqual(events(bGot), [], 'nothing from the garbage reached B\'s client');
    assert.deepStrictEqual(events(aGot), [], 'nothing from the garbage reached A\'s client');
    closeAll();
  });

  it('on the request and response channels', async () => {
    const a = await connect(A.url);
    const b = await connect(B.url);
    await join(a, 'keep-me');
    for (const channel of ['socket.io-request#/#', 'socket.io-request#/custom#']) {
      for (const m of requestJunk.concat(junk)) await admin.publish(channel, m);
    }
    for (const channel of ['socket.io-response#/#', 'socket.io-response#/custom#']) {
      for (const m of responseJunk.concat(junk, truncations)) await admin.publish(channel, m);
    }
    await checkStillWorks(a, b, 'request/response garbage');
    // The cluster calls still work and nothing was joined, left or dropped.
    const rooms = await promptly(ask(b, 'all-rooms'), 'all-rooms after garbage');
    assert.ok(rooms.includes('keep-me'), JSON.stringify(rooms));
    assert.ok(!rooms.includes('nobody-room'), JSON.stringify(rooms));
    assert.ok(a.connected && b.connected, 'no socket was disconnected');
    closeAll();
  });

  it('forged, ill-shaped answers to a real request neither crash a node nor keep its ack from coming', async () => {
    const a = await connect(A.url);
    const b = await connect(B.url);
    const sniffer = admin.duplicate();
    sniffer.on('error', () => {});
    await sniffer.connect();
    const forged = [];
    await sniffer.subscribe('socket.io-request#/#', (message) => {
      let req;
      try { req = message[0] === 0x7b ? JSON.parse(message.toString()) : msgpack.decode(message); } catch { return; }
      if (!req || !req.requestId) return;
      const R = req.requestId;
      const answers = [
        { requestId: R, sockets: 'nope' }, { requestId: R, sockets: [5, null, { id: 7, rooms: 'x', data: 1 }] },
        { requestId: R, rooms: [1, null, { a: 1 }] }, { requestId: R, rooms: 'x' }, { requestId: R },
      ];
      for (const ans of answers) forged.push(admin.publish('socket.io-response#/#', JSON.stringify(ans)));
      forged.push(admin.publish('socket.io-response#/#', msgpack.encode({ requestId: R, sockets: [{ id: Buffer.alloc(3) }] })));
    }, true);
    try {
      // What the acks hold is not the point (the forged answers are
      // nonsense, and the sniffer counts as a node that never answers
      // for real); that they come, and the node survives, is.
      await askWithin(ms(8000), a, 'fetch-sockets', {});
      await askWithin(ms(8000), a, 'all-rooms');
      await Promise.all(forged);
    } finally {
      await sniffer.disconnect().catch(() => {});
    }
    await checkStillWorks(a, b, 'forged answers');
    closeAll();
  });
});

describe('a "Redis" that accepts and never answers', () => {
  let fake, hub;
  const held = new Set();

  before(async () => {
    fake = net.createServer((sock) => { held.add(sock); sock.on('error', () => {}); sock.on('close', () => held.delete(sock)); });
    await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
    hub = await startServer(['--app', 'echo', '--redis', `redis://127.0.0.1:${fake.address().port}`]);
    servers.add(hub);
  });
  after(async () => {
    closeAll();
    await stopAll();
    for (const s of held) s.destroy();
    await new Promise((resolve) => fake.close(resolve));
  });

  it('does not stall the loop: HTTP and a Socket.IO echo answer promptly', async () => {
    const t0 = Date.now();
    const res = await get(hub, '/');
    assert.strictEqual(res.status, 200);
    const s = await connect(hub.url);
    const back = once(s, 'message-back', ms(1000));
    s.emit('message', 'still here');
    assert.deepStrictEqual(await back, ['still here']);
    assert.ok(Date.now() - t0 < ms(2000), `took ${Date.now() - t0} ms`);
    assert.ok(!hub.stderr.lines.some((l) => upLine(fake.address().port).test(l)), 'it never claims the link is up');
    s.close();
  });

  it('local broadcasts still reach local sockets', async () => {
    const a = await connect(hub.url);
    const b = await connect(hub.url);
    await join(b, 'fr');
    const got = once(b, 'fake-local', ms(2000));
    assert.strictEqual(await ask(a, 'broadcast', { rooms: ['fr'], event: 'fake-local' }, 1), true);
    assert.deepStrictEqual(await got, [1]);
    closeAll();
  });

  it('cluster calls answer with what this node has, without hanging', async () => {
    const a = await connect(hub.url);
    const fetched = await askWithin(ms(7000), a, 'fetch-sockets', {});
    assert.ok(fetched.some((s) => s.id === a.id), JSON.stringify(fetched));
    const t0 = Date.now();
    assert.strictEqual((await get(hub, '/')).status, 200);
    assert.ok(Date.now() - t0 < ms(1000));
    a.close();
  });
});

describe('a "Redis" that answers garbage', () => {
  let fake, hub;
  const held = new Set();

  before(async () => {
    fake = net.createServer((sock) => {
      held.add(sock);
      sock.on('error', () => {});
      sock.on('close', () => held.delete(sock));
      // A reply for whatever it is asked, none of it RESP a client can use.
      sock.on('data', () => sock.write(Buffer.from('*-5\r\n$99999999999999999999\r\n:abc\r\n\x00\xff+OK\r\n*3\r\n')));
    });
    await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
    hub = await startServer(['--app', 'echo', '--redis', `redis://127.0.0.1:${fake.address().port}`]);
    servers.add(hub);
  });
  after(async () => {
    closeAll();
    await stopAll();
    for (const s of held) s.destroy();
    await new Promise((resolve) => fake.close(resolve));
  });

  it('stays up and keeps serving', async () => {
    const s = await connect(hub.url);
    const back = once(s, 'message-back', ms(1000));
    s.emit('message', 'ok');
    assert.deepStrictEqual(await back, ['ok']);
    assert.strictEqual((await get(hub, '/')).status, 200);
    assert.ok(alive(hub));
    s.close();
  });
});
