// hostile.test.js -- hostile and broken clients must not hurt anyone else.
// Each test pairs the attack with a well-behaved client that must still be
// served, its round trip within a generous bound, while the attack runs.
// SPDX-License-Identifier: MIT
//
// Memory is read from /proc/PID/status. Under a sanitizer or valgrind the
// process's memory is not the server's alone (ASan keeps freed memory in
// quarantine), so those runs check the behaviour and skip the RSS bounds,
// and say so.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const { startServer, RawClient, rawWebSocket, frame, upgradeRequest, withTimeout, OP } = require('./lib/wshub');

const SANITIZED = Boolean(process.env.WSHUB_SANITIZED);

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]);
}

function fdCount(pid) {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

// Resolve once test() is true, checking whenever the server logs a line
// (every open and close is logged) and at most every 50 ms otherwise.
async function until(server, test, ms, what) {
  return withTimeout(new Promise((resolve) => {
    const check = () => {
      if (!test()) return false;
      clearInterval(timer);
      server.stderr.waiters = server.stderr.waiters.filter((w) => w !== onLine);
      resolve();
      return true;
    };
    const onLine = () => { check(); return false; };
    const timer = setInterval(check, 50);
    server.stderr.waiters.push(onLine);
    check();
  }), ms, what);
}

// A well-behaved /echo client that measures each round trip.
async function goodClient(server) {
  const ws = new WebSocket(`${server.wsUrl}/echo`);
  await withTimeout(new Promise((r, j) => { ws.once('open', r); ws.once('error', j); }), 5000, 'good client open');
  let n = 0;
  return {
    async roundTrip() {
      const text = `ping ${n++}`;
      const start = process.hrtime.bigint();
      const back = new Promise((r) => ws.once('message', (d) => r(d.toString())));
      ws.send(text);
      assert.strictEqual(await withTimeout(back, 5000, 'good client echo'), text);
      return Number(process.hrtime.bigint() - start) / 1e6;
    },
    close() { ws.close(); },
  };
}

test('slowloris: 500 slow handshakes are each cut off at --request-timeout', async (t) => {
  const server = await startServer(['--request-timeout', '1500', '--max-conns', '600']);
  t.after(() => server.stop());
  const good = await goodClient(server);
  const slow = [];
  for (let i = 0; i < 500; i++) {
    const c = new RawClient(server.port);
    slow.push(c);
  }
  await Promise.all(slow.map((c) => c.connected));
  const request = 'GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n';
  let sent = 0;
  const drip = setInterval(() => {
    for (const c of slow) if (!c.ended) c.write(request[sent % request.length]);
    sent++;
  }, 300);
  let worst = 0;
  let maxFds = 0;
  try {
    // Until every slow connection has been closed, keep measuring.
    while (slow.some((c) => !c.ended)) {
      worst = Math.max(worst, await good.roundTrip());
      maxFds = Math.max(maxFds, fdCount(server.proc.pid));
      await withTimeout(new Promise((r) => setTimeout(r, 50)), 1000, 'a pause between round trips');
      if (sent > 40) break; // 12 s: far past the 1.5 s timeout
    }
  } finally {
    clearInterval(drip);
  }
  assert.ok(slow.every((c) => c.ended), `${slow.filter((c) => !c.ended).length} slow connections still open`);
  const answered = slow.filter((c) => c.buf.toString().startsWith('HTTP/1.1 408 ')).length;
  assert.strictEqual(answered, 500, 'each got 408 Request Timeout');
  assert.ok(worst < 1000, `good client's worst round trip: ${worst.toFixed(1)} ms`);
  assert.ok(maxFds <= 600 + 16, `descriptors held: ${maxFds}`);
  assert.ok((await good.roundTrip()) < 1000);
  good.close();
  for (const c of slow) c.destroy();
});

test('a client that never reads is closed at --max-buffered; the room goes on', async (t) => {
  const server = await startServer(['--max-buffered', '262144']);
  t.after(() => server.stop());
  const opts = { transports: ['websocket'], forceNew: true, reconnection: false };
  const speaker = io(server.url, opts);
  const listener = io(server.url, opts);
  await Promise.all([speaker, listener].map((s) => withTimeout(new Promise((r) => s.once('connect', r)), 5000, 'connect')));

  // The sleeper joins general, then stops reading: its socket is paused.
  const sleeper = new RawClient(server.port);
  await sleeper.connected;
  sleeper.write(upgradeRequest(server.port, {}, '/socket.io/?EIO=4&transport=websocket'));
  assert.strictEqual((await sleeper.response()).status, 101);
  sleeper.write(frame(OP.TEXT, '40'));
  await sleeper.until((buf) => (buf.includes('40{"sid"') ? true : undefined), 5000, 'the sleeper to connect');
  sleeper.sock.pause();

  // The speaker talks in batches, waiting for each batch's last ack, so
  // the listener (who reads) never falls far behind; the sleeper's
  // backlog grows until the kernel's buffers and then the cap are full.
  const ids = [];
  listener.on('message', (m) => ids.push(m.id));
  const kicked = server.stderr.wait(/close \/socket\.io\/\S* 1008 output over --max-buffered/, 60000);
  let isKicked = false;
  kicked.then(() => { isKicked = true; }, () => {});
  const text = 'x'.repeat(1900);
  let sent = 0;
  while (!isKicked && sent < 20000) {
    for (let i = 0; i < 19; i++) speaker.emit('message', { text });
    await speaker.timeout(5000).emitWithAck('message', { text });
    sent += 20;
  }
  await kicked;
  await withTimeout(new Promise((r) => {
    const check = () => (ids.length >= sent ? r() : setTimeout(check, 20));
    check();
  }), 10000, 'the listener to catch up');
  assert.strictEqual(ids.length, sent, 'the listener got every message');
  for (let i = 1; i < ids.length; i++) assert.strictEqual(ids[i], ids[i - 1] + 1, 'in order');
  assert.strictEqual(listener.connected, true);

  // Once it reads again, the sleeper finds the Close 1008 after what fit.
  sleeper.sock.resume();
  const { code } = await sleeper.closeFrame(10000);
  assert.ok(code === 1008 || code === null, `close code ${code}`);
  speaker.disconnect();
  listener.disconnect();
  sleeper.destroy();
});

test('a flood of tiny fragments stays within --max-message plus a constant', async (t) => {
  const server = await startServer(['--max-message', '262144']);
  t.after(() => server.stop());
  const good = await goodClient(server);
  const before = rssKiB(server.proc.pid);
  const c = await rawWebSocket(server.port);
  // 250,000 one-byte fragments of one message (under the limit), then
  // 100,000 empty ones, which add nothing but work.
  const chunk = [];
  chunk.push(frame(OP.TEXT, 'a', { fin: false }));
  for (let i = 0; i < 250000; i++) chunk.push(frame(OP.CONT, 'b', { fin: false }));
  for (let i = 0; i < 100000; i++) chunk.push(frame(OP.CONT, '', { fin: false }));
  c.write(Buffer.concat(chunk));
  // The 250,002nd byte would pass 256 KiB + ... : finish past the limit.
  c.write(frame(OP.CONT, Buffer.alloc(20000, 0x63), { fin: true }));
  const { code } = await c.closeFrame(30000);
  assert.strictEqual(code, 1009);
  assert.ok((await good.roundTrip()) < 1000);
  const grown = rssKiB(server.proc.pid) - before;
  if (!SANITIZED) assert.ok(grown < 256 + 2048, `RSS grew ${grown} KiB`);
  else console.log(`# sanitized run: RSS bound not checked (grew ${grown} KiB)`);
  good.close();
  c.destroy();
});

test('a ping flood from a client that never reads is bounded', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const good = await goodClient(server);
  const before = rssKiB(server.proc.pid);
  const c = await rawWebSocket(server.port);
  c.sock.pause(); // never read a pong
  const ping = frame(OP.PING, Buffer.alloc(125, 0x70));
  const burst = Buffer.concat(Array.from({ length: 1000 }, () => ping));
  // 100,000 pings of 125 bytes: 13 MB of pongs if all were queued.
  for (let i = 0; i < 100; i++) c.write(burst);
  let worst = 0;
  for (let i = 0; i < 10; i++) worst = Math.max(worst, await good.roundTrip());
  assert.ok(worst < 1000, `good client's worst round trip: ${worst.toFixed(1)} ms`);
  const grown = rssKiB(server.proc.pid) - before;
  if (!SANITIZED) assert.ok(grown < 4096, `RSS grew ${grown} KiB for the pong backlog`);
  else console.log(`# sanitized run: RSS bound not checked (grew ${grown} KiB)`);
  c.destroy();
  good.close();
});

test('10,000 connect/handshake/close cycles leak nothing', async (t) => {
  const server = await startServer(['--app', 'chat', '--max-conns', '2000']);
  t.after(() => server.stop());
  const pid = server.proc.pid;
  // Warm up so allocator pools exist before the baseline.
  const warm = await rawWebSocket(server.port);
  warm.destroy();
  const fds0 = fdCount(pid);
  const rss0 = rssKiB(pid);

  const cycles = Number(process.env.WSHUB_CHURN || 10000);
  const kinds = ['echo-close', 'echo-abort-mid-frame', 'abort-mid-handshake', 'sio-join-abort', 'http-abort'];
  let next = 0;
  async function one(i) {
    const kind = kinds[i % kinds.length];
    const c = new RawClient(server.port);
    await c.connected;
    if (kind === 'abort-mid-handshake') {
      c.write('GET /echo HTTP/1.1\r\nHost: x\r\nUpg');
      c.destroy();
      return;
    }
    if (kind === 'http-abort') {
      c.write('GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
      c.destroy();
      return;
    }
    const sio = kind === 'sio-join-abort';
    c.write(upgradeRequest(server.port, {}, sio ? '/socket.io/?EIO=4&transport=websocket' : '/echo'));
    const res = await c.response();
    assert.strictEqual(res.status, 101);
    if (sio) {
      c.write(Buffer.concat([frame(OP.TEXT, '40'), frame(OP.TEXT, `42["join","churn${i % 7}"]`)]));
      await c.until((buf) => (buf.includes('"action":"join"') ? true : undefined), 5000, 'join');
      c.destroy();
      return;
    }
    if (kind === 'echo-abort-mid-frame') {
      c.write(frame(OP.TEXT, 'half a frame').subarray(0, 9));
      c.destroy();
      return;
    }
    c.write(frame(OP.TEXT, 'hi'));
    await c.frame();
    c.write(frame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
    await c.closed();
    c.destroy();
  }
  async function worker() {
    while (next < cycles) await one(next++);
  }
  await Promise.all(Array.from({ length: 25 }, worker));

  // Every descriptor comes back...
  await until(server, () => fdCount(pid) <= fds0, 20000, `fds back to ${fds0}`);
  // ... no room keeps a member who left ...
  const checker = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  const rooms = await withTimeout(new Promise((r) => checker.on('connect', () => checker.emit('rooms', r))), 5000, 'rooms');
  assert.deepStrictEqual(rooms, [{ room: 'general', members: 1 }]);
  checker.disconnect();
  // ... and memory returns to its baseline, within a small constant.
  const grown = rssKiB(pid) - rss0;
  if (!SANITIZED) assert.ok(grown < 4096, `RSS grew ${grown} KiB over ${cycles} cycles`);
  else console.log(`# sanitized run: RSS bound not checked (grew ${grown} KiB)`);
});
