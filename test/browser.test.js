// browser.test.js -- a real browser (Chromium through playwright-core)
// against the pages wshub serves: the echo page, and the chat with two
// people in it, their rooms, presence, typing, and a server restart.
// SPDX-License-Identifier: MIT
//
// Skipped, with a message saying so, when /usr/bin/chromium is missing.
// .ci/run installs it, so CI never skips.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer } = require('./lib/wshub');
const { chromiumSkip, launch, page, say } = require('./lib/browser');

const skip = chromiumSkip('browser tests');

test('Chromium echoes through /echo', { skip }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const p = await page(browser, errors);

  await p.goto(server.url + '/echo.html');
  await p.waitForSelector('#status.open', { timeout: 10000 });
  await p.fill('#text', 'hello from Chromium ✓');
  await p.click('#go');
  await p.locator('li.in', { hasText: 'hello from Chromium ✓' }).waitFor({ timeout: 10000 });

  // The page at / opens its own WebSocket to /echo: binary and 70 KB text.
  await p.goto(server.url + '/');
  const result = await p.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/echo`);
    ws.binaryType = 'arraybuffer';
    await new Promise((r) => { ws.onopen = r; });
    const next = () => new Promise((r) => { ws.onmessage = (e) => r(e.data); });
    let got = next();
    ws.send(new Uint8Array([1, 2, 3, 250]));
    const bin = Array.from(new Uint8Array(await got));
    got = next();
    ws.send('x'.repeat(70000));
    const big = (await got).length;
    const closed = new Promise((r) => { ws.onclose = (e) => r(e.code); });
    ws.close(1000);
    return { bin, big, code: await closed };
  });
  assert.deepStrictEqual(result.bin, [1, 2, 3, 250]);
  assert.strictEqual(result.big, 70000);
  assert.strictEqual(result.code, 1000);
  assert.deepStrictEqual(errors, []);
});

// Open the chat and set a nickname. Not lib/browser.js's enter(): here
// the name's showing up in the member list is not waited for strictly.
async function enter(browser, url, name, errors) {
  const p = await page(browser, errors);
  await p.goto(url + '/');
  await p.waitForSelector('#banner.connected', { timeout: 10000 });
  await p.locator('#members li.me').waitFor({ timeout: 10000 });
  await p.fill('#nick', name);
  await p.click('#nick-save');
  await p.locator('#members li.me', { hasText: name }).waitFor({ timeout: 10000 }).catch(() => {});
  return p;
}

test('two people chat in general and in a second room', { skip }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors);
  const bob = await enter(browser, server.url, 'Bob', errors);

  // general: Bob sees Alice's message with her name; Alice gets her tick.
  await say(alice, 'hello from Alice');
  const onBob = bob.locator('.msg', { hasText: 'hello from Alice' });
  await onBob.waitFor({ timeout: 10000 });
  assert.strictEqual(await onBob.locator('.who').textContent(), 'Alice');
  assert.match(await onBob.locator('.meta').textContent(), /\d\d:\d\d/);
  await alice.locator('.msg', { hasText: 'hello from Alice' }).locator('.tick').waitFor({ timeout: 10000 });

  // Presence: each sees the other in the member list.
  await bob.locator('#members li', { hasText: 'Alice' }).waitFor({ timeout: 10000 });
  await alice.locator('#members li', { hasText: 'Bob' }).waitFor({ timeout: 10000 });

  // A second room: Alice creates it, Bob joins from the room list.
  await alice.fill('#new-room', 'blue');
  await alice.click('#create');
  await alice.locator('#room-title', { hasText: '#blue' }).waitFor({ timeout: 10000 });
  await bob.locator('#rooms li[data-room="blue"] button', { hasText: 'Join' }).click({ timeout: 10000 });
  await bob.locator('#room-title', { hasText: '#blue' }).waitFor({ timeout: 10000 });
  await alice.locator('.msg.system', { hasText: 'Bob joined' }).waitFor({ timeout: 10000 });

  // Typing shows on the other page.
  await bob.type('#text', 'hm');
  await alice.locator('#typing', { hasText: 'Bob is typing…' }).waitFor({ timeout: 10000 });
  await bob.fill('#text', '');

  await say(alice, 'only in blue');
  await bob.locator('.msg', { hasText: 'only in blue' }).waitFor({ timeout: 10000 });
  // Not in general.
  await bob.locator('#rooms li[data-room="general"] .name').click();
  await bob.locator('#room-title', { hasText: '#general' }).waitFor();
  assert.strictEqual(await bob.locator('.msg', { hasText: 'only in blue' }).count(), 0);

  // Leaving: Alice sees Bob go.
  await bob.locator('#rooms li[data-room="blue"] button', { hasText: 'Leave' }).click();
  await alice.locator('.msg.system', { hasText: 'Bob left' }).waitFor({ timeout: 10000 });

  // The wire panel shows the packets.
  await alice.click('#wire summary');
  await alice.locator('#wire-log li', { hasText: '["room-message",{"room":"blue"' }).first().waitFor({ timeout: 10000 });

  // It still fits a phone.
  await bob.setViewportSize({ width: 375, height: 740 });
  const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone`);

  assert.deepStrictEqual(errors, []);
});

test('after a server restart the page says reconnecting, then works again', { skip }, async (t) => {
  let server = await startServer();
  const port = server.port;
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors);
  await server.stop();
  await alice.locator('#banner.reconnecting').waitFor({ timeout: 10000 });
  await alice.locator('#banner', { hasText: /reconnecting \(attempt \d+\)/ }).waitFor({ timeout: 10000 });

  server = await startServer(['--port', String(port)]);
  await alice.locator('#banner.connected').waitFor({ timeout: 15000 });
  const bob = await enter(browser, server.url, 'Bob', errors);
  await say(alice, 'back online');
  await bob.locator('.msg', { hasText: 'back online' }).waitFor({ timeout: 10000 });
  await alice.locator('.msg', { hasText: 'back online' }).locator('.tick').waitFor({ timeout: 10000 });

  // While the server was down, Chromium itself logs each refused
  // connection: a WebSocket, or a polling request (the client starts on
  // polling). Those are expected; nothing else may appear.
  const unexpected = errors.filter((e) => !/WebSocket connection to .* failed|Failed to load resource: net::ERR_CONNECTION_REFUSED/.test(e));
  assert.deepStrictEqual(unexpected, []);
});

test('the served /socket.io/socket.io.js speaks to the echo app', { skip }, async (t) => {
  // Pings every 300 ms, so that three cycles pass in the test; the pong
  // has a second, since over polling it may wait behind a POST in flight
  // (the deadline's edge is timers.test.js's subject, not this test's).
  const server = await startServer(['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '1000']);
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const p = await page(browser, errors);
  await p.goto(server.url + '/echo.html');
  await p.addScriptTag({ url: '/socket.io/socket.io.js' });
  const r = await p.evaluate(async () => {
    const once = (s, ev) => new Promise((res) => s.once(ev, (...a) => res(a)));
    const socket = io({ auth: { token: 't1' }, reconnectionDelay: 100 });
    const [auth] = await once(socket, 'auth');
    const out = { auth, id: socket.id, connected: socket.connected };
    // An event and its echo, with binary inside.
    socket.emit('message', 'bin', new Uint8Array([5, 6, 7]), { deep: [new Uint8Array([8]).buffer] });
    const [label, bin, obj] = await once(socket, 'message-back');
    out.echo = [label, Array.from(new Uint8Array(bin)), Array.from(new Uint8Array(obj.deep[0]))];
    // Acks: plain, and with timeout(ms) giving (err, ...reply).
    out.ack = await new Promise((res) => socket.emit('message-with-ack', 1, 'two', (...a) => res(a)));
    out.timed = await new Promise((res) => socket.timeout(1000).emit('message-with-ack', 'x', (err, v) => res([err, v])));
    out.timeout = await new Promise((res) => socket.timeout(200).emit('nobody-acks-this', (err) => res(err && err.message)));
    // The server asks, the page answers.
    socket.once('ask', (q, cb) => cb(q + '!'));
    socket.emit('ask-me', 'hey');
    out.answer = (await once(socket, 'answer'))[0];
    // Namespaces: /custom on the same WebSocket, /nope refused.
    const custom = io('/custom');
    out.customAuth = (await once(custom, 'auth'))[0];
    const nope = io('/nope');
    out.refused = (await once(nope, 'connect_error'))[0].message;
    // Several ping cycles pass without a disconnect.
    let pings = 0;
    let dropped = false;
    socket.on('disconnect', () => { dropped = true; });
    await new Promise((res) => socket.io.on('wire', (dir, d) => { if (dir === 'in' && d === '2' && ++pings === 3) res(); }));
    out.afterPings = socket.connected && !dropped;
    // Emits made while disconnected are sent once connected again.
    socket.disconnect();
    out.afterDisconnect = socket.connected;
    socket.emit('message', 'buffered');
    socket.connect();
    out.buffered = (await once(socket, 'message-back'))[0];
    // The server ends the namespace: reason "io server disconnect".
    const why = once(socket, 'disconnect');
    socket.emit('kick-me');
    out.kicked = (await why)[0];
    custom.disconnect();
    return out;
  });
  assert.deepStrictEqual(r.auth, { token: 't1' });
  assert.match(r.id, /^[A-Za-z0-9_-]{20}$/);
  assert.strictEqual(r.connected, true);
  assert.deepStrictEqual(r.echo, ['bin', [5, 6, 7], [8]]);
  assert.deepStrictEqual(r.ack, [1, 'two']);
  assert.deepStrictEqual(r.timed, [null, 'x']);
  assert.strictEqual(r.timeout, 'operation has timed out');
  assert.strictEqual(r.answer, 'hey!');
  assert.deepStrictEqual(r.customAuth, {});
  assert.strictEqual(r.refused, 'Invalid namespace');
  assert.strictEqual(r.afterPings, true);
  assert.strictEqual(r.afterDisconnect, false);
  assert.strictEqual(r.buffered, 'buffered');
  assert.strictEqual(r.kicked, 'io server disconnect');
  assert.deepStrictEqual(errors, []);
});
