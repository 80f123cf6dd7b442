// polling-client.test.js -- the official socket.io-client (v4) over Engine.IO
// v4 HTTP long-polling, and its upgrade to WebSocket, against the hub.
// SPDX-License-Identifier: MIT
//
// socketio.test.js pins every client to `transports: ["websocket"]`. Here
// the client runs as a page runs it by default: it opens the session with
// a polling GET, sends with POSTs, probes a WebSocket ("2probe", "3probe"),
// pauses polling and sends "5" (engine.io-protocol v4, "Upgrade"). Some
// tests pin it to polling instead, or forbid the upgrade, so that every
// Socket.IO feature is seen to work on the HTTP transport alone.
//
// A note on what "on polling" means here. socket.io-client hands Engine.IO
// packets to its sockets a process.nextTick later, so a socket's
// 'connect' or 'message' may fire after the engine's 'upgrade' even though
// the packet came in on a polling response. Where it matters which
// transport carried a packet, the tests read the engine's own 'packet'
// event, which fires as the transport delivers it.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const net = require('node:net');
const { io } = require('socket.io-client');
const { startServer, withTimeout } = require('./lib/wshub');

// ---- helpers ---------------------------------------------------------------

// A client with the official defaults (polling first, then the upgrade),
// except that reconnection is off unless asked for. Every engine event
// that says the transport changed is recorded in socket.transports, so a
// test can assert the upgrade happened, or never did.
function client(server, nsp = '/', opts = {}) {
  const socket = io(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
  watchEngine(socket);
  return socket;
}

// Record the transport history of each engine the socket's Manager opens
// (one per connection, a new one on each reconnection): [{ event,
// transport }], where event is 'open' (the handshake is done), 'upgrading'
// (the probe was answered) or 'upgrade' (the client sent "5" and switched).
function watchEngine(socket) {
  socket.transports = [];
  socket.io.on('open', () => {
    const engine = socket.io.engine;
    socket.transports.push({ event: 'open', transport: engine.transport.name });
    engine.on('upgrading', (t) => socket.transports.push({ event: 'upgrading', transport: t.name }));
    engine.on('upgrade', (t) => socket.transports.push({ event: 'upgrade', transport: t.name }));
  });
}

// Assert that the socket's session never probed a WebSocket.
function assertOnlyPolling(socket) {
  assert.deepStrictEqual(socket.transports, [{ event: 'open', transport: 'polling' }], 'never probed, never upgraded');
  assert.strictEqual(transportOf(socket), 'polling');
}

// Connect and wait for 'connect'.
async function connect(server, nsp = '/', opts = {}) {
  const socket = client(server, nsp, opts);
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

// Wait for the first event whose arguments pass test; resolves to them.
function waitFor(emitter, event, test, ms = 5000, what = event) {
  return withTimeout(new Promise((resolve) => {
    const on = (...args) => {
      if (!test(...args)) return;
      emitter.off(event, on);
      resolve(args);
    };
    emitter.on(event, on);
  }), ms, what);
}

// Resolve once the socket's engine has upgraded to WebSocket.
function upgraded(socket, ms = 5000) {
  if (socket.io.engine.transport.name === 'websocket') return Promise.resolve();
  return once(socket.io.engine, 'upgrade', ms);
}

function transportOf(socket) {
  return socket.io.engine.transport.name;
}

// Bytes 0..255 repeated to n: every byte value, so that a base64 slip
// anywhere (the '+' and '/' characters, the padding) changes the result.
function everyByte(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  return b;
}

// ---- 1. the default client -----------------------------------------------

test('a default client starts on polling, upgrades to websocket, and chats', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  // "Starts on polling" is read at the engine's open, not at 'connect':
  // 'connect' comes a tick after its packet, by when the switch may be done.
  const alice = client(server);
  const handshake = once(alice.io.engine, 'handshake');
  const aliceUp = upgraded(alice);
  await once(alice, 'connect');
  const [open] = await handshake;
  assert.deepStrictEqual(open.upgrades, ['websocket'], 'a polling session is offered the upgrade');
  await aliceUp;
  assert.deepStrictEqual(alice.transports, [
    { event: 'open', transport: 'polling' },
    { event: 'upgrading', transport: 'websocket' },
    { event: 'upgrade', transport: 'websocket' },
  ]);
  assert.strictEqual(transportOf(alice), 'websocket');
  await server.stderr.wait(new RegExp(`engine\\.io upgraded ${open.sid} to websocket$`));

  const bob = await connect(server);
  await upgraded(bob);
  assert.strictEqual(transportOf(bob), 'websocket');
  assert.deepStrictEqual(await alice.timeout(2000).emitWithAck('nick', 'alice'), { name: 'alice' });
  const joined = await alice.timeout(2000).emitWithAck('join', 'blue');
  assert.deepStrictEqual(joined.members.map((m) => m.name), ['alice']);
  const aliceSeesBob = waitFor(alice, 'presence', (p) => p.userId === bob.id && p.action === 'join');
  const bobJoined = await bob.timeout(2000).emitWithAck('join', 'blue');
  assert.deepStrictEqual(bobJoined.members.map((m) => m.userId).sort(), [alice.id, bob.id].sort());
  assert.strictEqual((await aliceSeesBob)[0].room, 'blue');

  const bobGets = waitFor(bob, 'message', (m) => m.room === 'blue');
  const ack = await alice.timeout(2000).emitWithAck('room-message', { room: 'blue', text: 'hi bob' });
  const [m] = await bobGets;
  assert.deepStrictEqual(m, { id: ack.id, text: 'hi bob', userId: alice.id, name: 'alice', room: 'blue', timestamp: ack.timestamp });
  const aliceGets = waitFor(alice, 'message', (x) => x.room === 'blue');
  await bob.timeout(2000).emitWithAck('room-message', { room: 'blue', text: 'hi alice' });
  assert.strictEqual((await aliceGets)[0].text, 'hi alice');
  alice.disconnect();
  bob.disconnect();
});

// ---- 2. polling only, the whole protocol --------------------------------

test('polling only (--app echo, ping 300/200 ms): the whole protocol over HTTP', async (t) => {
  const server = await startServer(['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const polling = { transports: ['polling'] };

  await t.test('the CONNECT is answered, and its auth payload comes back', async () => {
    const s = client(server, '/', { ...polling, auth: { token: 'abc' } });
    const [open] = await once(s.io.engine, 'handshake');
    assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
    assert.strictEqual(open.pingInterval, 300);
    assert.strictEqual(open.pingTimeout, 200);
    assert.deepStrictEqual((await once(s, 'auth'))[0], { token: 'abc' });
    assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
    assert.notStrictEqual(s.id, open.sid, 'the Socket.IO id is not the Engine.IO sid');
    assertOnlyPolling(s);
    s.disconnect();
  });

  await t.test('events go both ways with their arguments intact', async () => {
    const s = await connect(server, '/', polling);
    s.emit('message', 1, '2', { 3: [true] }, null, 'ünïcödé ✓ \u{1F600}');
    assert.deepStrictEqual(await once(s, 'message-back'), [1, '2', { 3: [true] }, null, 'ünïcödé ✓ \u{1F600}']);
    // Emits made in one turn of the loop share a POST, joined by \x1e, and
    // the answers share GETs; they must stay apart and in order.
    const got = [];
    const all = withTimeout(new Promise((resolve) => {
      s.on('message-back', (n) => { got.push(n); if (got.length === 50) resolve(); });
    }), 5000, '50 answers');
    for (let i = 0; i < 50; i++) s.emit('message', i);
    await all;
    assert.deepStrictEqual(got, [...Array(50).keys()]);
    assertOnlyPolling(s);
    s.disconnect();
  });

  await t.test('acks both ways', async () => {
    const s = await connect(server, '/', polling);
    const reply = await withTimeout(new Promise((r) => s.emit('message-with-ack', 'x', { y: 2 }, (...a) => r(a))), 5000, 'ack');
    assert.deepStrictEqual(reply, ['x', { y: 2 }]);
    assert.strictEqual(await s.timeout(2000).emitWithAck('message-with-ack', 7), 7);
    // The server asks, the client's callback answers.
    s.once('ask', (q, cb) => cb(`answer to ${q}`, 42));
    s.emit('ask-me', 'life');
    assert.deepStrictEqual(await once(s, 'answer'), ['answer to life', 42]);
    assertOnlyPolling(s);
    s.disconnect();
  });

  await t.test('binary attachments round-trip byte-exact, as base64 both ways', async () => {
    const s = await connect(server, '/', polling);
    // Lengths 1, 2 and 0 mod 3 give every base64 padding case.
    const a = everyByte(256);
    const b = everyByte(70001);
    const c = Buffer.from([0xff, 0xfe, 0xfb]);
    s.emit('message', 'files', a, { nested: [b, { deeper: c }] });
    const [label, ra, rest] = await once(s, 'message-back');
    assert.strictEqual(label, 'files');
    assert.ok(Buffer.from(ra).equals(a), 'top-level attachment');
    assert.ok(Buffer.from(rest.nested[0]).equals(b), 'nested attachment');
    assert.ok(Buffer.from(rest.nested[1].deeper).equals(c), 'deeply nested attachment');
    const acked = await s.timeout(2000).emitWithAck('message-with-ack', Buffer.from('bin'));
    assert.strictEqual(Buffer.from(acked).toString(), 'bin');
    // The server asks with an attachment, and the client answers with one.
    s.once('ask', (q, cb) => cb(Buffer.concat([Buffer.from(q), Buffer.from([0])])));
    s.emit('ask-me', Buffer.from([1, 2, 3]));
    const [answer] = await once(s, 'answer');
    assert.ok(Buffer.from(answer).equals(Buffer.from([1, 2, 3, 0])));
    assertOnlyPolling(s);
    s.disconnect();
  });

  await t.test('namespaces: /custom, two namespaces on one polling session, refusal', async () => {
    const custom = client(server, '/custom', { ...polling, auth: { ns: 'custom' } });
    assert.deepStrictEqual((await once(custom, 'auth'))[0], { ns: 'custom' });
    custom.emit('message', 'in custom');
    assert.deepStrictEqual(await once(custom, 'message-back'), ['in custom']);
    assertOnlyPolling(custom);
    custom.disconnect();

    const root = client(server, '/', polling);
    const second = root.io.socket('/custom');
    second.connect();
    await Promise.all([once(root, 'connect'), once(second, 'connect')]);
    assert.notStrictEqual(root.id, second.id);
    const rootBack = once(root, 'message-back');
    const secondBack = once(second, 'message-back');
    root.emit('message', 'root');
    second.emit('message', 'custom');
    assert.deepStrictEqual(await rootBack, ['root']);
    assert.deepStrictEqual(await secondBack, ['custom']);
    assertOnlyPolling(root);
    second.disconnect();
    root.disconnect();

    const nope = client(server, '/nope', polling);
    const [err] = await once(nope, 'connect_error');
    assert.strictEqual(err.message, 'Invalid namespace');
    nope.close();
  });

  await t.test('connected across three heartbeat cycles', async () => {
    const s = await connect(server, '/', polling);
    let disconnected = false;
    s.on('disconnect', () => { disconnected = true; });
    let pings = 0;
    await withTimeout(new Promise((resolve) => {
      s.io.engine.on('ping', () => { if (++pings === 3) resolve(); });
    }), 5000, 'three pings');
    assert.strictEqual(disconnected, false);
    assert.strictEqual(s.connected, true);
    s.emit('message', 'still here');
    assert.deepStrictEqual(await once(s, 'message-back'), ['still here']);
    assertOnlyPolling(s);
    s.disconnect();
  });

  await t.test('the server disconnects a socket (kick-me): "io server disconnect"', async () => {
    const s = await connect(server, '/', polling);
    const gone = once(s, 'disconnect');
    s.emit('kick-me');
    assert.strictEqual((await gone)[0], 'io server disconnect');
    assertOnlyPolling(s);
  });
});

// ---- 3. upgrade: false -----------------------------------------------------

test('upgrade: false keeps a client on polling through round-trips and a heartbeat', async (t) => {
  const server = await startServer(['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const s = client(server, '/', { upgrade: false });
  const [open] = await once(s.io.engine, 'handshake');
  assert.deepStrictEqual(open.upgrades, ['websocket'], 'offered, but not taken');
  await once(s, 'connect');
  for (let i = 0; i < 5; i++) assert.strictEqual(await s.timeout(2000).emitWithAck('message-with-ack', i), i);
  await once(s.io.engine, 'ping', 2000);
  assert.strictEqual(await s.timeout(2000).emitWithAck('message-with-ack', 'after the ping'), 'after the ping');
  assertOnlyPolling(s);
  assert.ok(!server.stderr.lines.some((l) => /websocket open/.test(l)), 'no WebSocket was ever opened');
  s.disconnect();
});

// ---- 4. the upgrade under load ----------------------------------------------

// An http.Agent (the client's documented `agent` option, which it hands to
// both its XHR and its WebSocket) that holds back the connection of the
// WebSocket probe until release() is called; polling requests pass.
function probeGate() {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const agent = new http.Agent();
  agent.createConnection = (options, done) => {
    const upgrade = options.headers && options.headers.Upgrade;
    if (upgrade !== 'websocket') return net.createConnection(options);
    released.then(() => done(null, net.createConnection(options)));
    return undefined;
  };
  return { agent, release };
}

test('the upgrade under load: every message once and in order, both ways, across the switch', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const PER_PHASE = 30; // messages each way before the switch, and after it
  const WINDOW = 40;    // messages a sender may have in flight

  // bob is on WebSocket from the start; alice is a default client whose
  // probe is held back until PER_PHASE messages have crossed each way on
  // polling. Both are in "general", so each hears the other (and herself).
  const bob = await connect(server, '/', { transports: ['websocket'] });
  const gate = probeGate();
  const alice = await connect(server, '/', { agent: gate.agent });
  assert.strictEqual(transportOf(alice), 'polling');

  let aliceSent = 0;
  let bobSent = 0;
  const fromAlice = []; // the numbers bob received from alice, in order
  const fromBob = [];   // the numbers alice received from bob
  const own = [];       // the numbers alice received of her own
  // Which transport delivered each of bob's messages to alice, read off
  // alice's engine as the packet arrives (see the note at the top).
  const carriedBy = { polling: 0, websocket: 0 };
  alice.io.engine.on('packet', (p) => {
    if (p.type !== 'message' || !p.data.startsWith('2[')) return;
    const [event, m] = JSON.parse(p.data.slice(1));
    if (event === 'message' && m.userId === bob.id) carriedBy[transportOf(alice)]++;
  });
  // At the switch: how far each stream had got. Nothing goes over the
  // WebSocket before the client sends "5", so what bob had from alice by
  // then went by polling, and what alice sends after it goes by WebSocket.
  let atSwitch = null;
  alice.io.engine.on('upgrade', () => { atSwitch = { aliceSent, bobHad: fromAlice.length }; });

  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  let stopping = false;
  const check = () => {
    if (atSwitch === null) {
      if (fromAlice.length >= PER_PHASE && carriedBy.polling >= PER_PHASE) gate.release();
      return;
    }
    if (aliceSent - atSwitch.aliceSent >= PER_PHASE && carriedBy.websocket >= PER_PHASE) stopping = true;
    if (stopping && fromAlice.length === aliceSent && own.length === aliceSent && fromBob.length === bobSent) finished();
  };
  const number = (m) => Number(m.text.slice(2));
  bob.on('message', (m) => { if (m.userId === alice.id) fromAlice.push(number(m)); check(); });
  alice.on('message', (m) => {
    if (m.userId === bob.id) fromBob.push(number(m));
    else if (m.userId === alice.id) own.push(number(m));
    check();
  });

  // Both send on every turn of the event loop that their window allows,
  // through the probe, the pause and the switch.
  const pump = () => {
    if (stopping) return;
    if (aliceSent - fromAlice.length < WINDOW) alice.emit('message', { text: `a:${aliceSent++}` });
    if (bobSent - fromBob.length < WINDOW) bob.emit('message', { text: `b:${bobSent++}` });
    setImmediate(pump);
  };
  pump();
  await withTimeout(done, 10000, 'the streams to finish: ' +
    `alice sent ${aliceSent}, bob got ${fromAlice.length}; bob sent ${bobSent}, alice got ${fromBob.length}`);

  assert.deepStrictEqual(alice.transports.map((x) => x.event), ['open', 'upgrading', 'upgrade']);
  assert.strictEqual(transportOf(alice), 'websocket');
  assert.deepStrictEqual(fromAlice, [...Array(aliceSent).keys()], 'alice to bob: each once, in order');
  assert.deepStrictEqual(own, [...Array(aliceSent).keys()], 'alice to herself: each once, in order');
  assert.deepStrictEqual(fromBob, [...Array(bobSent).keys()], 'bob to alice: each once, in order');
  // The switch fell in the middle of both streams.
  assert.ok(atSwitch.bobHad >= PER_PHASE, `bob had ${atSwitch.bobHad} of alice's messages by polling at the switch`);
  assert.ok(aliceSent - atSwitch.aliceSent >= PER_PHASE, 'alice sent more after the switch');
  assert.ok(carriedBy.polling >= PER_PHASE, `${carriedBy.polling} of bob's messages reached alice by polling`);
  assert.ok(carriedBy.websocket >= PER_PHASE, `${carriedBy.websocket} of bob's messages reached alice by WebSocket`);
  assert.strictEqual(carriedBy.polling + carriedBy.websocket, bobSent);
  t.diagnostic(`alice sent ${aliceSent} (${atSwitch.aliceSent} before the switch); ` +
    `bob sent ${bobSent} (${carriedBy.polling} delivered by polling)`);
  alice.disconnect();
  bob.disconnect();
});

// Binary packets travel on polling as "b" + base64, and on the WebSocket
// as binary frames; the stream must not notice the change. (The echo app
// only answers, and the paused client sends nothing, so unlike the chat
// test above this one seldom has a packet waiting in the queue at "5".)
test('binary attachments cross the upgrade byte-exact and in order (--app echo)', async (t) => {
  const server = await startServer(['--app', 'echo']);
  t.after(() => server.stop());
  const BEFORE = 40; // answers on polling before the probe may connect
  const AFTER = 60;  // answers after the switch
  const WINDOW = 30;
  const gate = probeGate();
  const s = await connect(server, '/', { agent: gate.agent });
  // Attachment i: i+1 bytes of everyByte, rotated by i, so each differs.
  const attachment = (i) => Buffer.concat([everyByte(256).subarray(i % 256), everyByte(256)]).subarray(0, i + 1);
  let sent = 0;
  const got = [];
  const wrong = [];
  let atSwitch = null;
  s.io.engine.on('upgrade', () => { atSwitch = got.length; });
  let finished;
  const done = new Promise((resolve) => { finished = resolve; });
  s.on('message-back', (i, { bytes }) => {
    got.push(i);
    if (!Buffer.from(bytes).equals(attachment(i))) wrong.push(i);
    if (got.length >= BEFORE) gate.release();
    if (atSwitch !== null && got.length - atSwitch >= AFTER && got.length === sent) finished();
  });
  const pump = () => {
    if (atSwitch !== null && sent - atSwitch >= AFTER) return;
    if (sent - got.length < WINDOW) { s.emit('message', sent, { bytes: attachment(sent) }); sent++; }
    setImmediate(pump);
  };
  pump();
  await withTimeout(done, 10000, `the answers (sent ${sent}, got ${got.length})`);
  assert.deepStrictEqual(s.transports.map((x) => x.event), ['open', 'upgrading', 'upgrade']);
  assert.deepStrictEqual(got, [...Array(sent).keys()], 'each answer once, in order');
  assert.deepStrictEqual(wrong, [], 'every attachment byte-exact');
  assert.ok(atSwitch >= BEFORE, `${atSwitch} answers came before the switch`);
  s.disconnect();
});

// ---- 5. a polling session that stops polling -------------------------------

test('a polling session that never answers a ping is closed at --ping-timeout', async (t) => {
  const server = await startServer(['--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const watcher = await connect(server, '/', { transports: ['websocket'] });
  const joins = waitFor(watcher, 'presence', (p) => p.action === 'join' && p.userId !== watcher.id);

  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const started = performance.now();
  const hello = await fetch(base);
  assert.strictEqual(hello.status, 200);
  const body = await hello.text();
  assert.strictEqual(body[0], '0', 'the open packet');
  const open = JSON.parse(body.slice(1));
  assert.deepStrictEqual(open.upgrades, ['websocket']);
  assert.strictEqual(open.pingInterval, 300);
  assert.strictEqual(open.pingTimeout, 200);
  const sessionUrl = `${base}&sid=${open.sid}`;
  const posted = await fetch(sessionUrl, { method: 'POST', body: '40' });
  assert.strictEqual(posted.status, 200);
  assert.strictEqual(await posted.text(), 'ok');
  const [joined] = await joins;

  // No GET ever fetches the ping, so no pong comes back: the session ends
  // pingInterval + pingTimeout after the handshake, and the chat's
  // disconnect handler tells the room.
  const [left] = await waitFor(watcher, 'presence', (p) => p.action === 'leave' && p.userId === joined.userId,
    3000, 'the leave of the timed-out user');
  const elapsed = performance.now() - started;
  assert.deepStrictEqual(left, { ...joined, action: 'leave' });
  assert.ok(elapsed >= 300 + 200 - 5, `closed after ${elapsed.toFixed(0)} ms, not before the ping timed out`);

  const late = await fetch(sessionUrl);
  assert.strictEqual(late.status, 400);
  assert.strictEqual(late.headers.get('content-type'), 'application/json');
  assert.deepStrictEqual(await late.json(), { code: 1, message: 'Session ID unknown' });
  const latePost = await fetch(sessionUrl, { method: 'POST', body: '3' });
  assert.strictEqual(latePost.status, 400);
  assert.deepStrictEqual(await latePost.json(), { code: 1, message: 'Session ID unknown' });
  assert.strictEqual(watcher.connected, true, 'the WebSocket client is unaffected');
  watcher.disconnect();
});

// ---- 6. across transports ---------------------------------------------------

test('a polling client and a websocket client chat through rooms', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const paula = await connect(server, '/', { transports: ['polling'] });
  const walt = await connect(server, '/', { transports: ['websocket'] });
  const carol = await connect(server, '/', { transports: ['polling'] }); // stays out of "blue"
  assert.strictEqual(transportOf(paula), 'polling');
  assert.strictEqual(transportOf(walt), 'websocket');

  const paulaSeesRename = waitFor(paula, 'presence', (p) => p.action === 'rename' && p.userId === walt.id);
  assert.deepStrictEqual(await walt.timeout(2000).emitWithAck('nick', 'walt'), { name: 'walt' });
  assert.strictEqual((await paulaSeesRename)[0].name, 'walt');
  assert.deepStrictEqual(await paula.timeout(2000).emitWithAck('nick', 'paula'), { name: 'paula' });

  // The lobby: each hears the other.
  const waltGets = waitFor(walt, 'message', (m) => m.userId === paula.id);
  const ack = await paula.timeout(2000).emitWithAck('message', { text: 'from polling' });
  assert.deepStrictEqual((await waltGets)[0],
    { id: ack.id, text: 'from polling', userId: paula.id, name: 'paula', room: 'general', timestamp: ack.timestamp });
  const paulaGets = waitFor(paula, 'message', (m) => m.userId === walt.id);
  await walt.timeout(2000).emitWithAck('message', { text: 'from websocket' });
  assert.strictEqual((await paulaGets)[0].text, 'from websocket');

  // A room: both join, the history crosses too, and carol hears nothing.
  await paula.timeout(2000).emitWithAck('join', 'blue');
  await paula.timeout(2000).emitWithAck('room-message', { room: 'blue', text: 'before walt came' });
  const paulaSeesJoin = waitFor(paula, 'presence', (p) => p.room === 'blue' && p.action === 'join' && p.userId === walt.id);
  const waltJoined = await walt.timeout(2000).emitWithAck('join', 'blue');
  assert.deepStrictEqual(waltJoined.history.map((m) => m.text), ['before walt came']);
  await paulaSeesJoin;
  let carolGotBlue = false;
  carol.on('message', (m) => { if (m.room === 'blue') carolGotBlue = true; });
  const paulaGetsBlue = waitFor(paula, 'message', (m) => m.room === 'blue' && m.userId === walt.id);
  await walt.timeout(2000).emitWithAck('room-message', { room: 'blue', text: 'blue only' });
  assert.strictEqual((await paulaGetsBlue)[0].text, 'blue only');
  // A lobby message reaches carol after the blue one would have.
  const carolGets = waitFor(carol, 'message', (m) => m.text === 'lobby again');
  await walt.timeout(2000).emitWithAck('message', { text: 'lobby again' });
  await carolGets;
  assert.strictEqual(carolGotBlue, false);

  // Typing goes to the others in the room, from polling to WebSocket.
  const waltSeesTyping = once(walt, 'typing');
  paula.emit('typing', { room: 'blue', typing: true });
  assert.deepStrictEqual((await waltSeesTyping)[0], { room: 'blue', userId: paula.id, name: 'paula', typing: true });

  // The polling client leaves: the WebSocket one is told.
  const paulaId = paula.id;
  const waltSeesLeave = waitFor(walt, 'presence', (p) => p.room === 'blue' && p.action === 'leave');
  paula.disconnect();
  assert.strictEqual((await waltSeesLeave)[0].userId, paulaId);
  assert.deepStrictEqual(paula.transports, [{ event: 'open', transport: 'polling' }]);
  walt.disconnect();
  carol.disconnect();
});

// ---- 7. restart --------------------------------------------------------------

// Resolve once the server holds a polling GET of the client's session:
// its --trace shows a GET for the sid after the answer that carried
// `text` (nothing is queued after that, so the GET waits).
async function heldGet(server, socket, text) {
  const answer = await server.stdout.wait(new RegExp(`->   engine\\.io message "2\\[\\\\"message-back\\\\",\\\\"${text}`));
  const from = server.stdout.lines.lastIndexOf(answer);
  await server.stdout.wait(new RegExp(`<- GET /socket\\.io/\\?EIO=4&transport=polling&.*sid=${socket.io.engine.id} `), 5000, from);
}

// Stop the server under a connected client, start it again on the same
// port, and check that the client comes back by itself and works.
async function survivesRestart(opts) {
  let server = await startServer(['--app', 'echo', '--trace']);
  const port = server.port;
  const socket = client(server, '/', { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, ...opts });
  const upgrades = !opts.transports;
  try {
    await once(socket, 'connect');
    socket.emit('message', 'before the restart');
    assert.deepStrictEqual(await once(socket, 'message-back'), ['before the restart']);
    if (upgrades) await upgraded(socket);
    else await heldGet(server, socket, 'before the restart');
    const firstId = socket.id;
    const gone = once(socket, 'disconnect');
    await server.stop();
    assert.strictEqual((await gone)[0], 'transport close');
    server = await startServer(['--app', 'echo', '--port', String(port)]);
    await once(socket, 'connect', 10000);
    if (upgrades) await upgraded(socket);
    assert.notStrictEqual(socket.id, firstId);
    socket.emit('message', 'back again');
    assert.deepStrictEqual(await once(socket, 'message-back'), ['back again']);
    return socket;
  } finally {
    socket.disconnect();
    await server.stop();
  }
}

test('a default client reconnects after the server restarts on the same port, and upgrades again', async () => {
  const socket = await survivesRestart({});
  const session = [
    { event: 'open', transport: 'polling' },
    { event: 'upgrading', transport: 'websocket' },
    { event: 'upgrade', transport: 'websocket' },
  ];
  assert.deepStrictEqual(socket.transports, [...session, ...session]);
});

// At shutdown the held GET is answered with a close packet ("1"), so the
// client's reason is "transport close", not a failed request.
test('a polling-only client hears the shutdown on its held GET, and reconnects', async () => {
  const socket = await survivesRestart({ transports: ['polling'] });
  assert.deepStrictEqual(socket.transports, [
    { event: 'open', transport: 'polling' },
    { event: 'open', transport: 'polling' },
  ]);
});
