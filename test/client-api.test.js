// client-api.test.js -- wshub's served /socket.io/socket.io.js against the
// official socket.io-client 4.8.1 bundle, API row by API row: one page
// (test/pages/client-api.html) runs each scenario once with each client,
// in Chromium, against `--app echo`, and both must observe the same
// things: onAny and onAnyOutgoing, volatile, emitWithAck and timeouts,
// the socket's and the Manager's properties, the Manager's "ping", and
// its reconnection events across a server restart and a dead server.
// SPDX-License-Identifier: MIT
//
// Skipped, with a message saying so, when /usr/bin/chromium is missing.
// Nothing here sleeps: every wait is for something on a page, with a
// timeout that fails the test.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, withTimeout } = require('./lib/wshub');
const { chromiumSkip, launch } = require('./lib/browser');

const skip = chromiumSkip('client-api tests');

const CLIENTS = ['official', 'wshub'];

// Heartbeats every 300 ms, so that the ping scenario sees several soon;
// a pong may take 2 s, so that a busy machine does not end a session.
const ECHO = ['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '2000'];

// A --root of its own: the page, its scenarios, and the official bundle
// as /socket.io.min.js (wshub's own client is served whatever the root).
function makeRoot() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-client-api-'));
  for (const f of ['client-api.html', 'client-api.js']) {
    fs.copyFileSync(path.join(__dirname, 'pages', f), path.join(root, f));
  }
  fs.copyFileSync(path.join(__dirname, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js'),
    path.join(root, 'socket.io.min.js'));
  return root;
}

// While a server is down Chromium logs each refused connection itself;
// those are expected, anything else on the console is a failure.
const REFUSED = /WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_REFUSED/;

// The scenario page with one client loaded; its console errors and
// uncaught exceptions are collected into errors.
async function open(browser, url, client, errors) {
  const p = await browser.newPage();
  p.on('console', (m) => { if (m.type() === 'error' && !REFUSED.test(m.text())) errors.push(`${client}: ${m.text()}`); });
  p.on('pageerror', (e) => errors.push(`${client}: ${e}`));
  await p.goto(`${url}/client-api.html?client=${client}`);
  return p;
}

// Run scenarios[name](...args) once with each client, each in a page of
// its own; resolves to { official, wshub }, what each one returned.
async function both(browser, url, name, ...args) {
  const out = {};
  const errors = [];
  for (const client of CLIENTS) {
    const p = await open(browser, url, client, errors);
    out[client] = await withTimeout(p.evaluate(([n, a]) => window.scenarios[n](...a), [name, args]),
      15000, `${client}: scenario ${name}`);
    await p.close();
  }
  assert.deepStrictEqual(errors, []);
  return out;
}

// One browser and one echo server for the scenarios that need no restart.
let shared;
async function setup() {
  if (!shared) {
    const root = makeRoot();
    shared = { root, browser: await launch(), server: await startServer([...ECHO, '--root', root]) };
  }
  return shared;
}
test.after(async () => {
  if (!shared) return;
  await shared.browser.close();
  await shared.server.stop();
  fs.rmSync(shared.root, { recursive: true, force: true });
});

for (const transports of [['polling', 'websocket'], ['websocket']]) {
  test(`onAny, prependAny, offAny and the Outgoing ones match the official client (${transports})`, { skip }, async () => {
    const { browser, server } = await setup();
    const r = await both(browser, server.url, 'any', transports);
    assert.deepStrictEqual(r.wshub, r.official);
    // What the official client does, spelled out: a buffered emit is
    // heard by the outgoing listeners when it is sent, before "connect";
    // prepended listeners come first; the any-listeners get a server
    // event's ack callback, the outgoing ones never an emit's.
    assert.deepStrictEqual(r.official.listeners, [2, true, true, 2, true]);
    assert.deepStrictEqual(r.official.offOne, [true, 1, true, 1]);
    assert.deepStrictEqual(r.official.offAll, [0, 0]);
    assert.deepStrictEqual(r.official.events, [
      ['emitted buffered'],
      ['out-b', 'message', 'buffered'], ['out-a', 'message', 'buffered'],
      ['connect'],
      ['any-b', 'auth', {}], ['any-a', 'auth', {}],
      ['any-b', 'message-back', 'buffered'], ['any-a', 'message-back', 'buffered'],
      ['out-b', 'ask-me', 'q1'], ['out-a', 'ask-me', 'q1'],
      ['any-b', 'ask', 'q1', '<function>'], ['any-a', 'ask', 'q1', '<function>'],
      ['any-b', 'answer', 'q1'], ['any-a', 'answer', 'q1'],
      ['out-b', 'message-with-ack', 'w', { x: [1] }], ['out-a', 'message-with-ack', 'w', { x: [1] }],
      // offAny(a), offAnyOutgoing(oa): b and ob remain; then offAny() and
      // offAnyOutgoing(): nothing more is heard.
      ['out-b', 'message', 'after-off-one'], ['any-b', 'message-back', 'after-off-one'],
    ]);
  });
}

test('volatile emits are dropped when the transport cannot take them, as in the official client', { skip }, async () => {
  const { browser, server } = await setup();
  const r = await both(browser, server.url, 'volatile', ['websocket']);
  assert.deepStrictEqual(r.wshub, r.official);
  assert.deepStrictEqual(r.official.connected, ['volatile-1', 'marker-1']);
  assert.deepStrictEqual(r.official.reconnected, ['plain-offline']);
  assert.deepStrictEqual(r.official.after, ['marker-2']);
  assert.deepStrictEqual(r.official.compress, [true, true]);
  assert.strictEqual(r.official.compressed, 'c');
});

test('volatile before the handshake and while offline on polling, as in the official client', { skip }, async () => {
  const { browser, server } = await setup();
  const r = await both(browser, server.url, 'volatile', ['polling']);
  // Over polling the second volatile emit may find a POST in flight or
  // not (a pong may be on its way); only the rest is deterministic.
  for (const c of CLIENTS) assert.strictEqual(r[c].connected.includes('before-open'), false, c);
  for (const c of CLIENTS) assert.deepStrictEqual(r[c].reconnected, ['plain-offline'], c);
  for (const c of CLIENTS) assert.deepStrictEqual(r[c].after, ['marker-2'], c);
  assert.deepStrictEqual(r.wshub.compressed, r.official.compressed);
});

test('emitWithAck, timeout(ms), ackTimeout and acks across a disconnect match the official client', { skip }, async () => {
  const { browser, server } = await setup();
  const r = await both(browser, server.url, 'acks', ['polling', 'websocket']);
  assert.deepStrictEqual(r.wshub, r.official);
  assert.deepStrictEqual(r.official.withAck, ['resolved', 5]);
  assert.deepStrictEqual(r.official.timedOut, ['rejected', true, 'operation has timed out']);
  assert.deepStrictEqual(r.official.callback, [null, 'x', 'y']);
  assert.strictEqual(r.official.bufferedTimedOut, 'operation has timed out');
  assert.deepStrictEqual(r.official.echoesAfter, ['marker']);
  assert.strictEqual(r.official.kicked, 'io server disconnect');
  assert.deepStrictEqual(r.official.pending, [['rejected', true, 'socket has been disconnected'],
    ['rejected', true, 'socket has been disconnected'], 'socket has been disconnected', 0]);
  assert.deepStrictEqual(r.official.ackTimeout, [true, 'operation has timed out']);
  assert.deepStrictEqual(r.official.ackTimeoutReply, [null, 'z']);
});

for (const transports of [['polling', 'websocket'], ['websocket']]) {
  test(`socket and Manager properties match the official client (${transports})`, { skip }, async () => {
    const { browser, server } = await setup();
    const r = await both(browser, server.url, 'properties', transports);
    assert.deepStrictEqual(r.wshub, r.official);
    assert.deepStrictEqual(r.official.opts, { path: '/socket.io', autoConnect: false, reconnectionAttempts: 7, reconnectionDelay: undefined });
    assert.deepStrictEqual(r.official.managerOptions, [true, 7, 1000, 5000, 0.5, 20000]);
    assert.deepStrictEqual(r.official.sharing, [true, true, true, true, false]);
    assert.deepStrictEqual(r.official.before, [false, false, true, false, undefined]);
    assert.deepStrictEqual(r.official.after, [true, true, false, false, 'string']);
    assert.strictEqual(r.official.firstTransport, transports[0]);
    if (transports.length === 2) assert.deepStrictEqual([r.official.upgrade, r.official.transport], ['websocket', 'websocket']);
    assert.deepStrictEqual(r.official.kicked, ['io server disconnect', false, false, true]);
  });
}

test('socket.io emits "ping" for every heartbeat, as the official client does', { skip }, async () => {
  const { browser, server } = await setup();
  const r = await both(browser, server.url, 'ping', ['websocket']);
  assert.deepStrictEqual(r.wshub, r.official);
  assert.deepStrictEqual(r.official, { pings: [0, 0], connected: false });
});

// Wait until the page's event log has an entry for which fn(entry) holds
// (the function's text runs in the page).
function waitEvent(p, fn, what, ms = 10000) {
  return withTimeout(p.waitForFunction(`window.events.some(${fn})`, null, { timeout: ms, polling: 20 }),
    ms + 1000, what);
}

// A log of reconnection events in a comparable form: attempt numbers
// checked (1, 2, ... in order; "reconnect" names the last) and dropped,
// and a block repeated back to back (one failed attempt after another,
// as many as the timing made) kept once.
function shape(events) {
  let attempt = 0;
  const out = [];
  for (const e of events) {
    if (e[0] === 'reconnect_attempt') {
      assert.strictEqual(e[1], ++attempt, `attempts count up: ${JSON.stringify(events)}`);
      out.push('reconnect_attempt');
    } else if (e[0] === 'reconnect') {
      assert.strictEqual(e[1], attempt, `"reconnect" names the attempt that worked: ${JSON.stringify(events)}`);
      attempt = 0;
      out.push('reconnect');
    } else {
      out.push(e.join(' '));
    }
  }
  for (let len = 1; len <= 6; len++) {
    for (let i = len; i + len <= out.length;) {
      const same = out.slice(i, i + len).every((x, k) => x === out[i - len + k]);
      if (same) out.splice(i, len);
      else i++;
    }
  }
  return out;
}

for (const transports of [['polling', 'websocket'], ['websocket'], ['polling']]) {
  test(`reconnect_attempt, reconnect_error and reconnect across a restart match the official client (${transports})`, { skip }, async (t) => {
    const root = makeRoot();
    const browser = await launch();
    let server = await startServer(['--app', 'echo', '--root', root]);
    const port = server.port;
    t.after(async () => {
      await browser.close();
      await server.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });
    const errors = [];
    const logs = {};
    for (const client of CLIENTS) {
      const p = await open(browser, server.url, client, errors);
      await p.evaluate((tr) => window.scenarios.watch(tr, { reconnectionDelay: 100, reconnectionDelayMax: 200 }), transports);
      await waitEvent(p, "(e) => e[0] === 'connect'", `${client}: connect`);
      if (transports.length === 2) {
        await withTimeout(p.waitForFunction(() => window.socket.io.engine.transport.name === 'websocket', null, { timeout: 10000 }),
          11000, `${client}: the upgrade`);
      }
      await server.stop();
      await waitEvent(p, "(e) => e[0] === 'reconnect_error'", `${client}: a failed reconnection attempt`);
      server = await startServer(['--app', 'echo', '--root', root, '--port', String(port)]);
      await waitEvent(p, "(e, i, all) => e[0] === 'connect' && all.slice(0, i).some((x) => x[0] === 'reconnect')",
        `${client}: reconnect, then connect`, 15000);
      logs[client] = await p.evaluate(() => window.events);
      await p.close();
    }
    assert.deepStrictEqual(errors, []);
    assert.deepStrictEqual(shape(logs.wshub), shape(logs.official),
      `official: ${JSON.stringify(logs.official)}\nwshub: ${JSON.stringify(logs.wshub)}`);
    const s = shape(logs.official);
    assert.strictEqual(s[0], 'open');
    assert.ok(s.includes('reconnect_attempt') && s.includes('reconnect'), JSON.stringify(s));
  });
}

test('reconnectionAttempts: 2 ends in reconnect_failed, as in the official client, after a drop and on a first connection', { skip }, async (t) => {
  const root = makeRoot();
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const errors = [];
  const logs = {};
  const firstLogs = {};
  const opts = { reconnectionAttempts: 2, reconnectionDelay: 50, reconnectionDelayMax: 100 };
  for (const client of CLIENTS) {
    const server = await startServer(['--app', 'echo', '--root', root]);
    const p = await open(browser, server.url, client, errors);
    await p.evaluate(([o]) => window.scenarios.watch(['websocket'], o), [opts]);
    await waitEvent(p, "(e) => e[0] === 'connect'", `${client}: connect`);
    await server.stop();
    await waitEvent(p, "(e) => e[0] === 'reconnect_failed'", `${client}: reconnect_failed`);
    logs[client] = await p.evaluate(() => window.events);
    // A first connection to the dead server: the same loop, from the start.
    await p.evaluate(([o]) => {
      window.events = [];
      window.scenarios.watch(['websocket'], { ...o, forceNew: true });
    }, [opts]);
    await waitEvent(p, "(e) => e[0] === 'reconnect_failed'", `${client}: reconnect_failed on a first connection`);
    firstLogs[client] = await p.evaluate(() => [window.events, window.socket.active, window.socket.connected]);
    await p.close();
  }
  assert.deepStrictEqual(errors, []);
  assert.deepStrictEqual(logs.wshub, logs.official);
  assert.deepStrictEqual(firstLogs.wshub, firstLogs.official);
  const failed = [['connect_error', 'websocket error', true], ['error', 'websocket error']];
  assert.deepStrictEqual(firstLogs.official, [[...failed,
    ['reconnect_attempt', 1], ...failed, ['reconnect_error', 'websocket error'],
    ['reconnect_attempt', 2], ...failed, ['reconnect_failed'], ['reconnect_error', 'websocket error']],
  true, false]);
});
