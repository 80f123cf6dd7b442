// api.test.js -- the hub's socket.io API beyond on/emit, through the official client
// SPDX-License-Identifier: MIT
//
// Against `wshub --app echo` (echoapp.c says what each event does):
// connection middleware that refuses (connect_error with message and
// data) or answers later, packet middleware that drops an event,
// broadcasts with acks (all answer; one never does; across two nodes on
// a real Redis), volatile packets missed by a client that does not read
// while another keeps them all, dynamic namespaces, and the catch-all
// listeners. Nothing sleeps to wait: every wait is for an event, an ack
// or a line, with a timeout.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { startServer, withTimeout } = require('./lib/wshub');
const { startRedis } = require('./lib/redis');

const SLOW = process.env.WSHUB_SANITIZED ? 3 : 1;
const ms = (n) => n * SLOW;

const clients = new Set();

function connect(server, nsp = '/', opts = {}) {
  const socket = io(`${server.url}${nsp}`, {
    transports: ['websocket'], reconnection: false, forceNew: true, ...opts,
  });
  clients.add(socket);
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  }), ms(5000), `connect to ${nsp}`);
}

function closeAll() {
  for (const s of clients) s.close();
  clients.clear();
}

function once(emitter, event, wait = ms(5000)) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), wait, `event ${event}`);
}

const ask = (socket, ...args) => socket.timeout(ms(5000)).emitWithAck(...args);

describe('middleware, acks from many, volatile, dynamic namespaces', () => {
  let server;
  before(async () => { server = await startServer(['--app', 'echo']); });
  after(async () => { closeAll(); await server.stop(); });

  it('a refusing middleware reaches the client as connect_error with message and data', async () => {
    const err = await connect(server, '/', { auth: { token: 'bad' } }).then(
      () => assert.fail('connected with a bad token'), (e) => e);
    assert.strictEqual(err.message, 'unauthorized');
    assert.deepStrictEqual(err.data, { reason: 'bad token' });
    // The session stays: the same client may try another namespace.
    const ok = await connect(server, '/custom');
    assert.ok(ok.connected);
  });

  it('a middleware that answers after it returned lets the socket in then', async () => {
    const s = await connect(server, '/', { auth: { token: 'slow' } });
    assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
    assert.deepStrictEqual(await ask(s, 'message-with-ack', 'in'), 'in');
  });

  it('packet middleware drops one event, answering its ack with an error, and lets others by', async () => {
    const s = await connect(server);
    assert.deepStrictEqual(await ask(s, 'forbidden', 1), { error: 'forbidden' });
    assert.strictEqual(await ask(s, 'message-with-ack', 2), 2);
  });

  it('a broadcast with acks gets every answer, or the timeout and those that came', async () => {
    const room = `acks-${Date.now()}`;
    const members = await Promise.all([0, 1, 2, 3].map(() => connect(server)));
    for (const m of members) await ask(m, 'join', room);
    members.slice(0, 3).forEach((m, i) => m.on('q', (x, cb) => cb(`m${i}:${x}`)));
    const silent = members[3];
    silent.on('q', () => {}); // hears it, never answers

    const asker = await connect(server);
    const all = await ask(asker, 'ask-all', { rooms: [room], event: 'q', timeout: ms(500) }, 'x');
    assert.strictEqual(all.timedOut, true);
    assert.strictEqual(all.missing, 1);
    assert.deepStrictEqual(all.replies.sort(), ['m0:x', 'm1:x', 'm2:x']);

    assert.strictEqual(await ask(silent, 'leave', room), true); // acked: the server knows
    const three = await ask(asker, 'ask-all', { rooms: [room], event: 'q', timeout: ms(2000) }, 'y');
    assert.deepStrictEqual({ ...three, replies: three.replies.sort() },
      { timedOut: false, replies: ['m0:y', 'm1:y', 'm2:y'], missing: 0 });
  });

  it('a client that does not read misses volatile packets and keeps the others', async () => {
    const reader = await connect(server);
    const asker = await connect(server);
    // A raw client that connects, then stops reading from its socket.
    const raw = new WebSocket(`${server.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    await withTimeout(new Promise((resolve, reject) => {
      raw.on('message', (m) => { if (String(m).startsWith('40')) resolve(); else if (String(m).startsWith('0')) raw.send('40'); });
      raw.on('error', reject);
    }), ms(5000), 'raw client connected');
    raw._socket.pause();
    let got = 0;
    reader.on('v', () => { got++; });
    const big = 'x'.repeat(20000);
    let dropped = 0;
    // Rounds of volatile packets until the raw client's kernel buffers are
    // full and wshub sees it is behind; the reader keeps reading.
    for (let round = 0; round < 200 && dropped === 0; round++) {
      const r = await ask(asker, 'volatile', { event: 'v', count: 20 }, big);
      dropped += r.dropped;
    }
    assert.ok(dropped > 0, 'some volatile packets were dropped for the client that does not read');
    // The reader got every one sent to it: a fence after them all.
    const fence = once(reader, 'fence');
    assert.strictEqual(await ask(asker, 'broadcast', { rooms: [reader.id], event: 'fence' }), true);
    await fence;
    const stats = await ask(asker, 'stats');
    assert.ok(got > 0 && got % 20 === 0, `the reader got whole rounds: ${got}`);
    assert.ok(stats.in > 0);
    raw.terminate();
  });

  it('a dynamic namespace exists on demand; a name the factory refuses does not', async () => {
    const t = await connect(server, '/team-42');
    assert.deepStrictEqual(await ask(t, 'message-with-ack', 'team'), 'team');
    const err = await connect(server, '/team-x').then(() => assert.fail('connected'), (e) => e);
    assert.strictEqual(err.message, 'Invalid namespace');
  });

  it('onAny sees each event from clients, onAnyOutgoing each event to one socket', async () => {
    const s = await connect(server);
    const before = await ask(s, 'stats');
    s.emit('message', 1);
    await once(s, 'message-back');
    const after2 = await ask(s, 'stats');
    // message and the second stats: two in; message-back: one out. (A
    // stats ack is an ack, not an event.)
    assert.strictEqual(after2.in - before.in, 2);
    assert.strictEqual(after2.out - before.out, 1);
  });
});

describe('a broadcast with acks across two nodes on Redis', () => {
  let redis, A, B;
  before(async () => {
    redis = await startRedis();
    A = await startServer(['--app', 'echo', '--redis', redis.url]);
    B = await startServer(['--app', 'echo', '--redis', redis.url]);
    const up = new RegExp(`^wshub: redis \\S*:${redis.port} up\\b`);
    await A.stderr.wait(up, ms(5000));
    await B.stderr.wait(up, ms(5000));
  });
  after(async () => {
    closeAll();
    await A.stop();
    await B.stop();
    await redis.stop();
  });

  it('answers from the other node count', async () => {
    const room = 'xacks';
    const a1 = await connect(A);
    const b1 = await connect(B);
    const b2 = await connect(B);
    for (const m of [a1, b1, b2]) await ask(m, 'join', room);
    a1.on('q', (x, cb) => cb(`a1:${x}`));
    b1.on('q', (x, cb) => cb(`b1:${x}`));
    b2.on('q', (x, cb) => cb(`b2:${x}`));
    const asker = await connect(A);
    const r = await ask(asker, 'ask-all', { rooms: [room], event: 'q', timeout: ms(3000) }, 'z');
    assert.deepStrictEqual({ ...r, replies: r.replies.sort() },
      { timedOut: false, replies: ['a1:z', 'b1:z', 'b2:z'], missing: 0 });

    b2.off('q');
    b2.on('q', () => {}); // now one on node B never answers
    const t = await ask(asker, 'ask-all', { rooms: [room], event: 'q', timeout: ms(800) }, 'w');
    assert.strictEqual(t.timedOut, true);
    assert.strictEqual(t.missing, 1);
    assert.deepStrictEqual(t.replies.sort(), ['a1:w', 'b1:w']);
  });
});
