// client-polling.test.js -- HTTP long-polling and the upgrade to WebSocket
// (engine.io-protocol v4, "HTTP long-polling", "Upgrade"), seen from real
// browsers: wshub's chat page in a Chromium without WebSocket, two pages
// on different transports chatting with each other, the served client
// forced to polling against the echo app, a restart while polling, and
// the official socket.io-client bundle upgrading through wshub.
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
const { startServer, REPO } = require('./lib/wshub');
const { chromiumSkip, launch, page, enter, say } = require('./lib/browser');

const skip = chromiumSkip('client-polling tests');

// Heartbeats every 300 ms, so that several pass (over polling, each
// ping ends a held GET) during every test; a pong may take 2 s, so that
// a busy machine does not end a session.
const FAST_PINGS = ['--ping-interval', '300', '--ping-timeout', '2000'];

// The transport the chat page's client is on now ("polling" or "websocket").
const transportOf = (p) => p.evaluate(() => socket.io.engine.transport.name);

// The wire panel's lines: { cls: "in" | "out" | "note", text, via }.
const wireLines = (p) => p.$$eval('#wire-log li', (lis) => lis.map((li) => ({
  cls: li.className,
  text: li.firstChild.textContent,
  via: li.querySelector('.via') ? li.querySelector('.via').textContent : undefined,
})));

// Wait until the page's client has seen n pings ("2") since this call.
const pings = (p, n) => p.evaluate((count) => new Promise((resolve) => {
  let seen = 0;
  socket.io.on('wire', (dir, data) => { if (dir === 'in' && data === '2' && ++seen === count) resolve(); });
}), n);

test('the chat works over polling in a browser without WebSocket', { skip }, async (t) => {
  const server = await startServer(FAST_PINGS);
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors, { noWebSocket: true });
  const bob = await enter(browser, server.url, 'Bob', errors, { noWebSocket: true });
  assert.strictEqual(await alice.evaluate(() => typeof window.WebSocket), 'undefined');

  await say(alice, 'hello over polling');
  await bob.locator('.msg', { hasText: 'hello over polling' }).waitFor({ timeout: 10000 });
  await alice.locator('.msg', { hasText: 'hello over polling' }).locator('.tick').waitFor({ timeout: 10000 });
  await say(bob, 'and back');
  await alice.locator('.msg', { hasText: 'and back' }).waitFor({ timeout: 10000 });
  await alice.type('#text', 'hm');
  await bob.locator('#typing', { hasText: 'Alice is typing…' }).waitFor({ timeout: 10000 });

  // Heartbeats keep the session up; it never upgrades.
  await pings(alice, 3);
  assert.strictEqual(await transportOf(alice), 'polling');
  assert.strictEqual(await transportOf(bob), 'polling');
  assert.strictEqual(await alice.evaluate(() => socket.connected), true);

  // The wire panel says so: the transport, and no upgrade.
  await alice.click('#wire summary');
  assert.strictEqual(await alice.locator('#wire-transport').textContent(), 'polling');
  await alice.locator('#wire-log li.note', { hasText: 'transport: polling' }).first().waitFor({ timeout: 10000 });
  assert.strictEqual(await alice.locator('#wire-log li', { hasText: 'upgrade:' }).count(), 0);
  await alice.locator('#wire-log li.out', { hasText: '"hello over polling"' }).first().waitFor({ timeout: 10000 });
  assert.deepStrictEqual(errors, []);
});

test('a page on polling and a page on websocket chat with each other', { skip }, async (t) => {
  const server = await startServer(FAST_PINGS);
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors, { path: '/?transports=polling' });
  const bob = await enter(browser, server.url, 'Bob', errors, { path: '/?transports=websocket' });
  assert.strictEqual(await transportOf(alice), 'polling');
  assert.strictEqual(await transportOf(bob), 'websocket');

  await say(alice, 'from polling');
  await bob.locator('.msg', { hasText: 'from polling' }).waitFor({ timeout: 10000 });
  await alice.locator('.msg', { hasText: 'from polling' }).locator('.tick').waitFor({ timeout: 10000 });
  await say(bob, 'from websocket');
  await alice.locator('.msg', { hasText: 'from websocket' }).waitFor({ timeout: 10000 });
  await bob.locator('.msg', { hasText: 'from websocket' }).locator('.tick').waitFor({ timeout: 10000 });

  // A room of their own, across the two transports.
  await bob.fill('#new-room', 'mixed');
  await bob.click('#create');
  await bob.locator('#room-title', { hasText: '#mixed' }).waitFor({ timeout: 10000 });
  await alice.locator('#rooms li[data-room="mixed"] button', { hasText: 'Join' }).click({ timeout: 10000 });
  await bob.locator('.msg.system', { hasText: 'Alice joined' }).waitFor({ timeout: 10000 });
  await say(alice, 'only in mixed');
  await bob.locator('.msg', { hasText: 'only in mixed' }).waitFor({ timeout: 10000 });

  // Several heartbeats later neither has moved: polling was asked for,
  // and a WebSocket has nowhere to go.
  await pings(alice, 2);
  await pings(bob, 2);
  assert.strictEqual(await transportOf(alice), 'polling');
  assert.strictEqual(await transportOf(bob), 'websocket');
  assert.strictEqual(await alice.locator('#wire-log li', { hasText: 'upgrade:' }).count(), 0);
  assert.deepStrictEqual(errors, []);
});

test('the default chat page starts on polling and upgrades to websocket', { skip }, async (t) => {
  const server = await startServer(FAST_PINGS);
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors);
  await alice.click('#wire summary');
  await alice.locator('#wire-log li.note', { hasText: 'upgrade: polling -> websocket' }).waitFor({ timeout: 10000 });
  assert.strictEqual(await transportOf(alice), 'websocket');
  assert.strictEqual(await alice.locator('#wire-transport').textContent(), 'websocket');

  // On the wire, in order: the handshake over polling, the probe on the
  // WebSocket, then "5" once polling has gone quiet.
  const lines = await wireLines(alice);
  const shown = JSON.stringify(lines, null, 1);
  const at = (text, via) => lines.findIndex((l) => l.text === text && l.via === via);
  const open = lines.findIndex((l) => l.text.startsWith('← 0{"sid":') && l.via === 'polling');
  assert.ok(at('transport: polling', undefined) >= 0, shown);
  assert.ok(open > at('transport: polling', undefined), shown);
  assert.ok(at('→ 2probe', 'websocket') > open, shown);
  assert.ok(at('← 3probe', 'websocket') > at('→ 2probe', 'websocket'), shown);
  const five = at('→ 5', 'websocket');
  assert.ok(five > at('← 3probe', 'websocket'), shown);
  assert.ok(lines.slice(five).every((l) => l.via !== 'polling'), shown);
  assert.ok(at('upgrade: polling -> websocket', undefined) > five, shown);

  // And the chat goes on over the WebSocket.
  const bob = await enter(browser, server.url, 'Bob', errors);
  await say(alice, 'after the upgrade');
  await bob.locator('.msg', { hasText: 'after the upgrade' }).waitFor({ timeout: 10000 });
  await alice.locator('#wire-log li.out', { hasText: '"after the upgrade"' }).locator('.via', { hasText: 'websocket' }).first().waitFor({ timeout: 10000 });
  assert.deepStrictEqual(errors, []);
});

test('the served client, forced to polling, does events, acks and binary with the echo app', { skip }, async (t) => {
  const server = await startServer(['--app', 'echo', ...FAST_PINGS]);
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const p = await page(browser, errors);
  await p.goto(server.url + '/echo.html');
  await p.addScriptTag({ url: '/socket.io/socket.io.js' });
  const r = await p.evaluate(async () => {
    const once = (s, ev) => new Promise((res) => s.once(ev, (...a) => res(a)));
    const bytes = (b) => Array.from(new Uint8Array(b));
    const socket = io({ transports: ['polling'], auth: { token: 't1' } });
    const seen = new Set();
    socket.io.on('wire', (dir, data, transport) => seen.add(transport));
    const out = { auth: (await once(socket, 'auth'))[0] };
    // Binary both ways: base64 "b..." packets inside the HTTP bodies.
    socket.emit('message', 'bin', new Uint8Array([0, 1, 2, 253, 254, 255]), { deep: [new Uint8Array([8]).buffer] });
    const [label, bin, obj] = await once(socket, 'message-back');
    out.echo = [label, bytes(bin), bytes(obj.deep[0])];
    out.ack = await new Promise((res) => socket.emit('message-with-ack', 1, 'two', (...a) => res(a)));
    const binAck = await new Promise((res) => socket.emit('message-with-ack', new Uint8Array([7, 7]), res));
    out.binAck = bytes(binAck);
    // The server asks, the page answers.
    socket.once('ask', (q, cb) => cb(q + '!'));
    socket.emit('ask-me', 'hey');
    out.answer = (await once(socket, 'answer'))[0];
    // A burst: the client batches what waits behind a POST in flight;
    // the server answers the held GET with several packets at once.
    const got = [];
    const all = new Promise((res) => socket.on('message-back', (i) => { got.push(i); if (got.length === 100) res(); }));
    for (let i = 0; i < 100; i++) socket.emit('message', i);
    await all;
    out.inOrder = got.every((v, i) => v === i);
    // A second namespace shares the session.
    const custom = io('/custom', { transports: ['polling'] });
    out.customAuth = (await once(custom, 'auth'))[0];
    // Several heartbeats pass without a disconnect.
    let pings = 0;
    let dropped = false;
    socket.on('disconnect', () => { dropped = true; });
    await new Promise((res) => socket.io.on('wire', (dir, d) => { if (dir === 'in' && d === '2' && ++pings === 3) res(); }));
    out.afterPings = socket.connected && !dropped;
    out.transport = socket.io.engine.transport.name;
    out.seen = [...seen];
    // The server ends the namespace: reason "io server disconnect".
    const why = once(socket, 'disconnect');
    socket.emit('kick-me');
    out.kicked = (await why)[0];
    custom.disconnect();
    return out;
  });
  assert.deepStrictEqual(r.auth, { token: 't1' });
  assert.deepStrictEqual(r.echo, ['bin', [0, 1, 2, 253, 254, 255], [8]]);
  assert.deepStrictEqual(r.ack, [1, 'two']);
  assert.deepStrictEqual(r.binAck, [7, 7]);
  assert.strictEqual(r.answer, 'hey!');
  assert.strictEqual(r.inOrder, true);
  assert.deepStrictEqual(r.customAuth, {});
  assert.strictEqual(r.afterPings, true);
  assert.strictEqual(r.transport, 'polling');
  assert.deepStrictEqual(r.seen, ['polling']);
  assert.strictEqual(r.kicked, 'io server disconnect');
  assert.deepStrictEqual(errors, []);
});

test('a page on polling reconnects after a server restart', { skip }, async (t) => {
  let server = await startServer();
  const port = server.port;
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const errors = [];
  const alice = await enter(browser, server.url, 'Alice', errors, { path: '/?transports=polling' });
  await server.stop();
  await alice.locator('#banner.reconnecting').waitFor({ timeout: 10000 });
  await alice.locator('#banner', { hasText: /reconnecting \(attempt \d+\)/ }).waitFor({ timeout: 10000 });

  server = await startServer(['--port', String(port)]);
  await alice.locator('#banner.connected').waitFor({ timeout: 15000 });
  const bob = await enter(browser, server.url, 'Bob', errors, { path: '/?transports=polling' });
  await say(alice, 'back on polling');
  await bob.locator('.msg', { hasText: 'back on polling' }).waitFor({ timeout: 10000 });
  await alice.locator('.msg', { hasText: 'back on polling' }).locator('.tick').waitFor({ timeout: 10000 });
  assert.strictEqual(await transportOf(alice), 'polling');

  // While the server was down, Chromium logs each failed request (the
  // held GET cut off, then each refused connection); those are
  // expected. Nothing else may appear.
  const unexpected = errors.filter((e) => !/Failed to load resource: net::ERR_(CONNECTION_REFUSED|EMPTY_RESPONSE|CONNECTION_RESET|CONNECTION_CLOSED)/.test(e));
  assert.deepStrictEqual(unexpected, []);
});

test('the official socket.io-client bundle chats through wshub and upgrades', { skip }, async (t) => {
  // A --root of its own: the chat's files, the official bundle, and a
  // page that loads it.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-official-'));
  for (const f of fs.readdirSync(path.join(REPO, 'www'))) fs.copyFileSync(path.join(REPO, 'www', f), path.join(root, f));
  fs.copyFileSync(path.join(__dirname, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js'),
    path.join(root, 'socket.io.min.js'));
  fs.writeFileSync(path.join(root, 'official.html'),
    '<!doctype html><meta charset="utf-8"><title>official</title><link rel="icon" href="data:,">\n' +
    '<script src="/socket.io.min.js"></script>\n');
  const server = await startServer(['--root', root, ...FAST_PINGS]);
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const errors = [];
  const bob = await enter(browser, server.url, 'Bob', errors);
  const p = await page(browser, errors);
  await p.goto(server.url + '/official.html');
  const r = await p.evaluate(() => new Promise((resolve, reject) => {
    const out = {};
    const socket = io(); // the official defaults: polling first, then upgrade
    window.officialSocket = socket;
    window.heard = [];
    socket.on('message', (m) => heard.push(m));
    out.first = socket.io.engine.transport.name;
    socket.io.engine.once('upgrade', (transport) => {
      out.upgradedTo = transport.name;
      out.now = socket.io.engine.transport.name;
      socket.emit('nick', 'Official', (ack) => {
        out.nick = ack;
        socket.emit('message', { text: 'hello from the official client' }, (reply) => {
          out.ack = reply;
          resolve(out);
        });
      });
    });
    socket.on('connect_error', (e) => reject(e));
  }));
  assert.strictEqual(r.first, 'polling');
  assert.strictEqual(r.upgradedTo, 'websocket');
  assert.strictEqual(r.now, 'websocket');
  assert.deepStrictEqual(r.nick, { name: 'Official' });
  assert.strictEqual(typeof r.ack.id, 'number');
  const line = bob.locator('.msg', { hasText: 'hello from the official client' });
  await line.waitFor({ timeout: 10000 });
  assert.strictEqual(await line.locator('.who').textContent(), 'Official');

  // Bob answers; the official client hears it over its WebSocket.
  await say(bob, 'hi, official');
  const from = await p.waitForFunction(() => {
    const m = heard.find((x) => x.text === 'hi, official');
    return m && m.name;
  }, null, { timeout: 10000 });
  assert.strictEqual(await from.jsonValue(), 'Bob');
  assert.strictEqual(await p.evaluate(() => officialSocket.io.engine.transport.name), 'websocket');
  assert.deepStrictEqual(errors, []);
});
