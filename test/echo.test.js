// echo.test.js -- /echo against Node's `ws` client, a peer nobody here wrote.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const WebSocket = require('ws');
const { startServer, withTimeout } = require('./lib/wshub');

// Open a ws client and wait for 'open'.
async function open(server, opts = {}) {
  const ws = new WebSocket(`${server.wsUrl}/echo`, { perMessageDeflate: false, ...opts });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), 5000, 'the WebSocket to open');
  return ws;
}

function nextMessage(ws, ms = 5000) {
  return withTimeout(new Promise((resolve) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
  }), ms, 'an echoed message');
}

function closed(ws, ms = 5000) {
  return withTimeout(new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  }), ms, 'the close event');
}

test('echo with the ws client', async (t) => {
  // 1 MiB is just over the default --max-message (1,000,000), so allow it.
  const server = await startServer(['--max-message', String(1 << 20)]);
  t.after(() => server.stop());

  await t.test('text, binary and empty messages come back with their opcode', async () => {
    const ws = await open(server);
    ws.send('hello, wshub');
    let m = await nextMessage(ws);
    assert.strictEqual(m.isBinary, false);
    assert.strictEqual(m.data.toString(), 'hello, wshub');
    ws.send(Buffer.from([0, 1, 2, 255]));
    m = await nextMessage(ws);
    assert.strictEqual(m.isBinary, true);
    assert.deepStrictEqual([...m.data], [0, 1, 2, 255]);
    ws.send('');
    m = await nextMessage(ws);
    assert.strictEqual(m.isBinary, false);
    assert.strictEqual(m.data.length, 0);
    ws.send(Buffer.alloc(0));
    m = await nextMessage(ws);
    assert.strictEqual(m.isBinary, true);
    assert.strictEqual(m.data.length, 0);
    ws.close();
    await closed(ws);
  });

  await t.test('payloads at every length boundary, up to 1 MiB', async () => {
    const ws = await open(server);
    for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20]) {
      const payload = Buffer.alloc(n);
      for (let i = 0; i < n; i++) payload[i] = (i * 31 + n) & 0xff;
      ws.send(payload);
      const m = await nextMessage(ws);
      assert.strictEqual(m.data.length, n, `length ${n}`);
      assert.ok(m.data.equals(payload), `payload of ${n} bytes`);
    }
    ws.close(1000);
    await closed(ws);
  });

  await t.test('fragmented sends are reassembled into one message', async () => {
    const ws = await open(server);
    ws.send('Hel', { fin: false });
    ws.send('lo, ', { fin: false });
    ws.send('', { fin: false });
    ws.send('frag', { fin: true });
    const m = await nextMessage(ws);
    assert.strictEqual(m.data.toString(), 'Hello, frag');
    assert.strictEqual(m.isBinary, false);
    ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
    ws.send(Buffer.from([3]), { binary: true, fin: true });
    const b = await nextMessage(ws);
    assert.strictEqual(b.isBinary, true);
    assert.deepStrictEqual([...b.data], [1, 2, 3]);
    ws.close();
    await closed(ws);
  });

  await t.test('a ping gets a pong with the same payload', async () => {
    const ws = await open(server);
    const pong = withTimeout(new Promise((resolve) => ws.once('pong', resolve)), 5000, 'pong');
    ws.ping(Buffer.from('are you there?'));
    assert.strictEqual((await pong).toString(), 'are you there?');
    // An unsolicited pong is accepted silently: the echo still works.
    ws.pong(Buffer.from('unsolicited'));
    ws.send('still here');
    assert.strictEqual((await nextMessage(ws)).data.toString(), 'still here');
    ws.close();
    await closed(ws);
  });

  await t.test('a close is answered with the same code', async () => {
    for (const [code, want] of [[1000, 1000], [1001, 1001], [3000, 3000], [4999, 4999]]) {
      const ws = await open(server);
      const done = closed(ws);
      ws.close(code, 'bye');
      assert.strictEqual((await done).code, want);
    }
  });

  await t.test('a close with no code is answered with 1000', async () => {
    const ws = await open(server);
    const done = closed(ws);
    ws.close(); // ws sends an empty Close payload
    assert.strictEqual((await done).code, 1000);
  });

  await t.test('a message sent just before the close is still echoed', async () => {
    const ws = await open(server);
    const msg = nextMessage(ws);
    const done = closed(ws);
    ws.send('last words');
    ws.close(1000);
    assert.strictEqual((await msg).data.toString(), 'last words');
    assert.strictEqual((await done).code, 1000);
  });
});

test('--max-message is enforced with 1009 at its edge', async (t) => {
  const server = await startServer(['--max-message', '1000']);
  t.after(() => server.stop());
  const ws = await open(server);
  ws.send(Buffer.alloc(1000, 0x61));
  assert.strictEqual((await nextMessage(ws)).data.length, 1000);
  // Fragments count together: 600 + 400 is fine, one byte more is not.
  ws.send(Buffer.alloc(600), { fin: false });
  ws.send(Buffer.alloc(400), { fin: true });
  assert.strictEqual((await nextMessage(ws)).data.length, 1000);
  const done = closed(ws);
  ws.send(Buffer.alloc(1001, 0x61));
  assert.strictEqual((await done).code, 1009);
  await server.stderr.wait(/close \/echo 1009/);
});

test('server pings every --ping-interval and the connection stays up', async (t) => {
  const server = await startServer(['--ping-interval', '150', '--ping-timeout', '500']);
  t.after(() => server.stop());
  const ws = await open(server);
  let pings = 0;
  await withTimeout(new Promise((resolve) => {
    ws.on('ping', () => { if (++pings === 3) resolve(); }); // ws answers each with a pong
  }), 5000, 'three pings');
  ws.send('after pings');
  assert.strictEqual((await nextMessage(ws)).data.toString(), 'after pings');
  ws.close();
  await closed(ws);
});

test('SIGTERM sends every WebSocket a 1001 close and exits 0', async () => {
  const server = await startServer();
  const a = await open(server);
  const b = await open(server);
  const ca = closed(a);
  const cb = closed(b);
  const stopped = server.stop('SIGTERM');
  assert.strictEqual((await ca).code, 1001);
  assert.strictEqual((await cb).code, 1001);
  assert.strictEqual((await stopped).code, 0);
});
