// socketio.test.js -- the hub against the official socket.io-client (v4),
// over the WebSocket transport, as a course page or a Node program uses it.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { io } = require('socket.io-client');
const { startServer, RawClient, withTimeout, upgradeRequest, frame, OP } = require('./lib/wshub');

// Connect and wait for 'connect'. Reconnection is off unless asked for.
async function connect(server, nsp = '/', opts = {}) {
  const socket = io(`${server.url}${nsp}`, {
    transports: ['websocket'], reconnection: false, forceNew: true, ...opts,
  });
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), 5000, `connect to ${nsp}`);
  return socket;
}

// Wait for one event on an emitter; resolves to its arguments.
function once(emitter, event, ms = 5000) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `event ${event}`);
}

test('the protocol test app (--app echo)', async (t) => {
  const server = await startServer(['--app', 'echo']);
  t.after(() => server.stop());

  await t.test('connect sends auth back, and socket.id is set', async () => {
    const socket = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token: 'abc' } });
    const [auth] = await once(socket, 'auth');
    assert.deepStrictEqual(auth, { token: 'abc' });
    assert.match(socket.id, /^[A-Za-z0-9_-]{20}$/);
    socket.disconnect();
  });

  await t.test('events come back with the same arguments', async () => {
    const socket = await connect(server);
    socket.emit('message', 1, '2', { 3: [true] }, null, 'ünïcödé ✓');
    assert.deepStrictEqual(await once(socket, 'message-back'), [1, '2', { 3: [true] }, null, 'ünïcödé ✓']);
    socket.disconnect();
  });

  await t.test('acks both ways', async () => {
    const socket = await connect(server);
    // Client asks, server answers.
    const reply = await withTimeout(new Promise((r) => socket.emit('message-with-ack', 'x', { y: 2 }, (...a) => r(a))), 5000, 'ack');
    assert.deepStrictEqual(reply, ['x', { y: 2 }]);
    const viaTimeout = await socket.timeout(2000).emitWithAck('message-with-ack', 7);
    assert.strictEqual(viaTimeout, 7);
    // Server asks, client answers.
    socket.once('ask', (q, cb) => cb(`answer to ${q}`, 42));
    socket.emit('ask-me', 'life');
    assert.deepStrictEqual(await once(socket, 'answer'), ['answer to life', 42]);
    socket.disconnect();
  });

  await t.test('a server ack nobody answers times out', async () => {
    const socket = await connect(server);
    socket.once('ask', () => { /* no callback called */ });
    socket.emit('ask-me', 'anyone?');
    await once(socket, 'ask-timeout', 5000);
    socket.disconnect();
  });

  await t.test('binary attachments, in events and acks', async () => {
    const socket = await connect(server);
    const a = Buffer.from([1, 2, 3]);
    const b = Buffer.alloc(70000, 7);
    socket.emit('message', 'files', a, { nested: [b] });
    const [label, ra, rest] = await once(socket, 'message-back');
    assert.strictEqual(label, 'files');
    assert.ok(Buffer.from(ra).equals(a));
    assert.ok(Buffer.from(rest.nested[0]).equals(b));
    const [acked] = await socket.timeout(2000).emitWithAck('message-with-ack', Buffer.from('bin')).then((r) => [r]);
    assert.strictEqual(Buffer.from(acked).toString(), 'bin');
    socket.disconnect();
  });

  await t.test('namespaces, and the refusal of unknown ones', async () => {
    const custom = io(`${server.url}/custom`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { ns: 'custom' } });
    const [auth] = await once(custom, 'auth'); // sent right after the CONNECT reply
    assert.deepStrictEqual(auth, { ns: 'custom' });
    custom.emit('message', 'in custom');
    assert.deepStrictEqual(await once(custom, 'message-back'), ['in custom']);
    const nope = io(`${server.url}/nope`, { transports: ['websocket'], forceNew: true, reconnection: false });
    const [err] = await once(nope, 'connect_error');
    assert.strictEqual(err.message, 'Invalid namespace');
    custom.disconnect();
    nope.close();
  });

  await t.test('two namespaces share one WebSocket', async () => {
    const root = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
    const custom = root.io.socket('/custom');
    custom.connect();
    await Promise.all([once(root, 'connect'), once(custom, 'connect')]);
    assert.notStrictEqual(root.id, custom.id);
    root.emit('message', 'root');
    custom.emit('message', 'custom');
    assert.deepStrictEqual(await once(custom, 'message-back'), ['custom']);
    root.disconnect();
    custom.disconnect();
  });

  await t.test('disconnect reasons: client, server, transport', async () => {
    const a = await connect(server);
    const aGone = once(a, 'disconnect');
    a.disconnect();
    assert.strictEqual((await aGone)[0], 'io client disconnect');
    const b = await connect(server);
    const bGone = once(b, 'disconnect');
    b.emit('kick-me');
    assert.strictEqual((await bGone)[0], 'io server disconnect');
    // "transport close" is checked by the restart test below.
  });
});

test('heartbeat: connected across 3 ping cycles at 300/200 ms', async (t) => {
  const server = await startServer(['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const socket = await connect(server);
  let disconnected = false;
  socket.on('disconnect', () => { disconnected = true; });
  let pings = 0;
  await withTimeout(new Promise((resolve) => {
    socket.io.on('ping', () => { if (++pings === 4) resolve(); });
  }), 5000, 'four pings');
  assert.strictEqual(disconnected, false);
  assert.strictEqual(socket.connected, true);
  socket.emit('message', 'still here');
  assert.deepStrictEqual(await once(socket, 'message-back'), ['still here']);
  socket.disconnect();
});

test('a session that stops answering pings is closed at --ping-timeout', async (t) => {
  const server = await startServer(['--app', 'echo', '--ping-interval', '100', '--ping-timeout', '100']);
  t.after(() => server.stop());
  const c = new RawClient(server.port);
  await c.connected;
  c.write(upgradeRequest(server.port, {}, '/socket.io/?EIO=4&transport=websocket'));
  assert.strictEqual((await c.response()).status, 101);
  c.write(frame(OP.TEXT, '40'));
  const frames = [];
  const { code, reason } = await (async () => {
    for (;;) {
      const f = await c.frame(3000);
      if (f.opcode === OP.CLOSE) return { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() };
      frames.push(f.payload.toString());
    }
  })();
  assert.ok(frames.includes('2'), 'a ping was sent');
  assert.strictEqual(code, 1001);
  assert.strictEqual(reason, 'ping timeout');
  c.destroy();
});

test('a session that never sends CONNECT is closed at --connect-timeout', async (t) => {
  const server = await startServer(['--app', 'echo', '--connect-timeout', '200']);
  t.after(() => server.stop());
  const c = new RawClient(server.port);
  await c.connected;
  c.write(upgradeRequest(server.port, {}, '/socket.io/?EIO=4&transport=websocket'));
  assert.strictEqual((await c.response()).status, 101);
  const open = await c.frame();
  assert.match(open.payload.toString(), /^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\[\],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000\}$/);
  const { code } = await c.closeFrame(3000);
  assert.strictEqual(code, 1008);
  c.destroy();
});

test('Engine.IO handshake errors get 400 and a JSON body', async (t) => {
  const server = await startServer(['--app', 'echo']);
  t.after(() => server.stop());
  const rows = [
    ['/socket.io/?EIO=3&transport=websocket', { code: 5, message: 'Unsupported protocol version' }],
    ['/socket.io/?transport=websocket', { code: 5, message: 'Unsupported protocol version' }],
    ['/socket.io/?EIO=4&transport=flashsocket', { code: 0, message: 'Transport unknown' }],
    ['/socket.io/?EIO=4', { code: 0, message: 'Transport unknown' }],
    ['/socket.io/?EIO=4&transport=websocket&sid=abc', { code: 1, message: 'Session ID unknown' }],
  ];
  for (const [path, body] of rows) {
    const res = await fetch(server.url + path);
    assert.strictEqual(res.status, 400, path);
    assert.strictEqual(res.headers.get('content-type'), 'application/json');
    assert.deepStrictEqual(await res.json(), body);
  }
  // Unknown extra parameters are ignored.
  const c = new RawClient(server.port);
  await c.connected;
  c.write(upgradeRequest(server.port, {}, '/socket.io/?EIO=4&transport=websocket&t=N8hyd6w&x=1'));
  assert.strictEqual((await c.response()).status, 101);
  c.destroy();
});

test('malformed packets close the session with 1008', async (t) => {
  const server = await startServer(['--app', 'echo']);
  t.after(() => server.stop());
  for (const bad of ['4abc', '42{}', '42abc["x"]', '42["connect"]', '42[""]', '2', '4511-["x"]']) {
    const c = new RawClient(server.port);
    await c.connected;
    c.write(upgradeRequest(server.port, {}, '/socket.io/?EIO=4&transport=websocket'));
    assert.strictEqual((await c.response()).status, 101);
    c.write(frame(OP.TEXT, '40'));
    c.write(frame(OP.TEXT, bad));
    const { code } = await c.closeFrame();
    assert.strictEqual(code, 1008, bad);
    c.destroy();
  }
});

test('the chat: rooms reach members only', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const alice = await connect(server);
  const bob = await connect(server);
  const carol = await connect(server);
  assert.deepStrictEqual(await alice.timeout(2000).emitWithAck('nick', 'alice'), { name: 'alice' });
  const joinA = await alice.timeout(2000).emitWithAck('join', 'blue');
  assert.strictEqual(joinA.room, 'blue');
  assert.deepStrictEqual(joinA.members.map((m) => m.name), ['alice']);
  const bobSeesJoin = once(alice, 'presence');
  await bob.timeout(2000).emitWithAck('join', 'blue');
  const [presence] = await bobSeesJoin;
  assert.deepStrictEqual({ ...presence, userId: undefined }, { room: 'blue', userId: undefined, name: presence.name, action: 'join' });
  assert.strictEqual(presence.userId, bob.id);

  let carolGotBlue = false;
  carol.on('message', (m) => { if (m.room === 'blue') carolGotBlue = true; });
  const bobGets = once(bob, 'message');
  const ack = await alice.timeout(2000).emitWithAck('room-message', { room: 'blue', text: 'only for blue' });
  assert.strictEqual(typeof ack.id, 'number');
  assert.match(ack.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const [m] = await bobGets;
  assert.deepStrictEqual(m, { id: ack.id, text: 'only for blue', userId: alice.id, name: 'alice', room: 'blue', timestamp: ack.timestamp });
  // A lobby message reaches everyone, carol included, which also proves
  // carol would have had the blue one by now if it were sent to her.
  const carolGets = once(carol, 'message');
  await alice.timeout(2000).emitWithAck('message', { text: 'hello all' });
  assert.strictEqual((await carolGets)[0].text, 'hello all');
  assert.strictEqual(carolGotBlue, false);

  const err = await alice.timeout(2000).emitWithAck('message', { text: '' });
  assert.ok(err.error);
  for (const s of [alice, bob, carol]) s.disconnect();
});

test('reconnection after the server restarts on the same port', async () => {
  let server = await startServer(['--app', 'echo']);
  const port = server.port;
  const socket = io(server.url, {
    transports: ['websocket'], forceNew: true,
    reconnectionDelay: 100, reconnectionDelayMax: 300,
  });
  await once(socket, 'connect');
  const firstId = socket.id;
  const gone = once(socket, 'disconnect');
  await server.stop();
  const [reason] = await gone;
  assert.strictEqual(reason, 'transport close');
  server = await startServer(['--app', 'echo', '--port', String(port)], {});
  try {
    await once(socket, 'connect', 10000);
    assert.notStrictEqual(socket.id, firstId);
    socket.emit('message', 'back again');
    assert.deepStrictEqual(await once(socket, 'message-back'), ['back again']);
  } finally {
    socket.disconnect();
    await server.stop();
  }
});
