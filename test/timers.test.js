// timers.test.js -- deadlines fire when due; quiet clients are answered at once.
// SPDX-License-Identifier: MIT
//
// wshub keeps every deadline in a heap and sleeps in poll() exactly until
// the earliest (timer.c, server.c "Time"). These tests put a client at a
// deadline's edge: a pong 30 ms inside --ping-timeout keeps the session,
// the same pong 30 ms outside it ends the session. The 30 ms delays are
// the client's behaviour under test, not waits for the server: every
// wait for the server is for a frame, a line or a close, with a timeout.
//
// The poll set (pollset.c) keeps quiet connections in a cold part that
// an epoll instance watches for the loop; --trace says when a connection
// moves, so the last test can wait for "cold" instead of sleeping.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { startServer, rawWebSocket, withTimeout, frame, OP, RawClient, upgradeRequest } = require('./lib/wshub');

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A raw WebSocket on plain Engine.IO (--app echo); resolves after the
// open packet.
async function engineSocket(server) {
  const c = new RawClient(server.port);
  await c.connected;
  c.write(upgradeRequest(server.port, {}, '/engine.io/?EIO=4&transport=websocket'));
  assert.strictEqual((await c.response()).status, 101);
  const open = await c.frame();
  assert.strictEqual(open.payload.toString()[0], '0');
  return c;
}

// Answer `pings` pings, each `lateMs` after it arrives.
async function pong(c, lateMs) {
  const ping = await c.frame(3000);
  assert.strictEqual(ping.payload.toString(), '2');
  await delay(lateMs);
  c.write(frame(OP.TEXT, '3'));
}

test('a pong 30 ms inside --ping-timeout keeps the session; 30 ms outside ends it', async (t) => {
  const server = await startServer(['--app', 'echo', '--ping-interval', '200', '--ping-timeout', '100']);
  t.after(() => server.stop());
  const c = await engineSocket(server);
  for (let i = 0; i < 3; i++) {
    await pong(c, 100 - 30);
    c.write(frame(OP.TEXT, `4alive ${i}`));
    assert.strictEqual((await c.frame()).payload.toString(), `4alive ${i}`);
  }
  await pong(c, 100 + 30);
  const { code, reason } = await c.closeFrame(3000);
  assert.strictEqual(code, 1001);
  assert.strictEqual(reason, 'ping timeout');
  c.destroy();
});

test('with an interval shorter than the timeout, the next ping comes an interval after the pong', async (t) => {
  // 300 ms pings, 3 s to answer: after a prompt pong the next ping is
  // due 300 ms later (on a 4 ms grid), not when the 3 s deadline was.
  const server = await startServer(['--app', 'echo', '--ping-interval', '300', '--ping-timeout', '3000']);
  t.after(() => server.stop());
  const c = await engineSocket(server);
  await pong(c, 0);
  const answered = Date.now();
  const ping = await c.frame(3000);
  assert.strictEqual(ping.payload.toString(), '2');
  const gap = Date.now() - answered;
  assert.ok(gap >= 250 && gap < 1500, `next ping ${gap} ms after the pong; --ping-interval is 300`);
  c.destroy();
});

test('the same edge over long-polling: a late pong finds the session gone', async (t) => {
  // Each pong here is a new HTTP request, whose own set-up eats into the
  // margin, so the pong in time comes 100 ms inside the timeout.
  const server = await startServer(['--app', 'echo', '--ping-interval', '200', '--ping-timeout', '300']);
  t.after(() => server.stop());
  const q = `${server.url}/engine.io/?EIO=4&transport=polling`;
  const sid = JSON.parse((await (await fetch(q)).text()).slice(1)).sid;
  for (let i = 0; i < 2; i++) {
    assert.strictEqual(await (await fetch(`${q}&sid=${sid}`)).text(), '2');
    await delay(300 - 100);
    assert.strictEqual(await (await fetch(`${q}&sid=${sid}`, { method: 'POST', body: '3' })).text(), 'ok');
  }
  assert.strictEqual(await (await fetch(`${q}&sid=${sid}`)).text(), '2');
  await delay(300 + 30);
  const late = await fetch(`${q}&sid=${sid}`, { method: 'POST', body: '3' });
  assert.strictEqual(late.status, 400);
  assert.deepStrictEqual(await late.json(), { code: 1, message: 'Session ID unknown' });
});

test('--request-timeout is not cut short', async (t) => {
  const server = await startServer(['--request-timeout', '150']);
  t.after(() => server.stop());
  const c = new RawClient(server.port);
  await c.connected;
  const t0 = Date.now();
  c.write('GET / HTTP/1.1\r\nHost: x\r\n'); // never finished
  const res = await c.response(3000);
  const took = Date.now() - t0;
  assert.strictEqual(res.status, 408);
  // How soon after 150 ms is for make bench to measure, not a test.
  assert.ok(took >= 150, `408 after only ${took} ms`);
  c.destroy();
});

test('a client quiet long enough to go cold is answered while others keep the loop busy', async (t) => {
  const server = await startServer(['--trace']);
  t.after(() => server.stop());
  // The quiet one: say hello, then nothing until the poll set calls it cold.
  const quiet = await rawWebSocket(server.port);
  quiet.write(frame(OP.TEXT, 'hello'));
  assert.strictEqual((await quiet.frame()).payload.toString(), 'hello');
  const from = server.stdout.lines.length;
  await server.stdout.wait(/poll set: cold/, 5000, from);
  // Busy ones: echo as fast as they can.
  let stop = false;
  const busy = [];
  for (let i = 0; i < 4; i++) {
    const ws = new WebSocket(`${server.wsUrl}/echo`);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.on('message', () => { if (!stop) ws.send('x'.repeat(32)); });
    for (let k = 0; k < 4; k++) ws.send('x'.repeat(32));
    busy.push(ws);
  }
  t.after(() => { stop = true; for (const ws of busy) ws.terminate(); });
  // The cold connection's message is answered, and the connection is hot again.
  const at = server.stdout.lines.length;
  quiet.write(frame(OP.TEXT, 'still here'));
  const echo = await withTimeout(quiet.frame(), 2000, 'the quiet client to be answered');
  assert.strictEqual(echo.payload.toString(), 'still here');
  await server.stdout.wait(/poll set: hot/, 2000, at);
  quiet.destroy();
});
