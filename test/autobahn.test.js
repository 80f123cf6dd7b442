// autobahn.test.js -- the large and chopped-up Autobahn cases (1.1.8, 6.2.3,
// 9.x, 10.1.1) replayed over raw TCP against /echo with --max-message
// 16777216, as the conformance run is configured. The small cases of
// sections 1-7 are rows in raw.test.js.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, rawWebSocket, frame, OP } = require('./lib/wshub');

// Send bytes in chops of n octets.
function chopped(c, bytes, n) {
  for (let i = 0; i < bytes.length; i += n) c.write(bytes.subarray(i, i + n));
}

// Split payload into fragments of n bytes: first with opcode, then CONT.
function fragments(opcode, payload, n) {
  const out = [];
  for (let i = 0; i < payload.length; i += n) {
    const last = i + n >= payload.length;
    out.push(frame(i === 0 ? opcode : OP.CONT, payload.subarray(i, i + n), { fin: last }));
  }
  return Buffer.concat(out);
}

// Read one whole message (possibly fragmented by the server) and return
// { opcode, payload }.
async function message(c, ms = 20000) {
  const parts = [];
  let opcode;
  for (;;) {
    const f = await c.frame(ms);
    assert.ok(f, 'a frame before EOF');
    if (f.opcode === OP.PING || f.opcode === OP.PONG) continue;
    if (opcode === undefined) opcode = f.opcode;
    parts.push(f.payload);
    if (f.fin) return { opcode, payload: Buffer.concat(parts) };
  }
}

async function closeCleanly(c) {
  c.write(frame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
  const { code } = await c.closeFrame(10000);
  assert.strictEqual(code, 1000);
  await c.closed();
}

const pattern = (n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 0x20 + (i % 90); // ASCII: valid text
  return b;
};

test('Autobahn large and chopped cases', async (t) => {
  const server = await startServer(['--max-message', '16777216']);
  t.after(() => server.stop());

  await t.test('1.1.8 text of 65536 sent in chops of 997 octets', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(65536);
    chopped(c, frame(OP.TEXT, p), 997);
    const m = await message(c);
    assert.strictEqual(m.opcode, OP.TEXT);
    assert.ok(m.payload.equals(p));
    await closeCleanly(c);
  });

  await t.test('6.2.3 valid UTF-8 in 1-octet fragments', async () => {
    const c = await rawWebSocket(server.port);
    const p = Buffer.from('48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121', 'hex');
    c.write(fragments(OP.TEXT, p, 1));
    assert.ok((await message(c)).payload.equals(p));
    await closeCleanly(c);
  });

  for (const [kind, opcode] of [['text', OP.TEXT], ['binary', OP.BINARY]]) {
    await t.test(`9.1.6/9.2.6 ${kind} message of 16 MiB`, async () => {
      const c = await rawWebSocket(server.port);
      const p = pattern(16 * 1024 * 1024);
      c.write(frame(opcode, p));
      const m = await message(c, 30000);
      assert.strictEqual(m.opcode, opcode);
      assert.ok(m.payload.equals(p));
      await closeCleanly(c);
    });
  }

  await t.test('9.3.1 4 MiB text in 64-byte fragments', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(4 * 1024 * 1024);
    c.write(fragments(OP.TEXT, p, 64));
    assert.ok((await message(c, 30000)).payload.equals(p));
    await closeCleanly(c);
  });

  await t.test('9.4.1 4 MiB binary in 64-byte fragments', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(4 * 1024 * 1024);
    c.write(fragments(OP.BINARY, p, 64));
    assert.ok((await message(c, 30000)).payload.equals(p));
    await closeCleanly(c);
  });

  await t.test('9.5.1 1 MiB text in chops of 64 octets', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(1024 * 1024);
    chopped(c, frame(OP.TEXT, p), 64);
    assert.ok((await message(c, 30000)).payload.equals(p));
    await closeCleanly(c);
  });

  await t.test('9.7.x/9.8.x 1000 small messages, one at a time', async () => {
    const c = await rawWebSocket(server.port);
    for (let i = 0; i < 1000; i++) {
      const p = Buffer.from(`msg ${i}`);
      c.write(frame(i % 2 ? OP.BINARY : OP.TEXT, p));
      const m = await message(c);
      assert.ok(m.payload.equals(p));
    }
    await closeCleanly(c);
  });

  await t.test('10.1.1 65536 bytes auto-fragmented in 1300-byte frames', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(65536);
    c.write(fragments(OP.TEXT, p, 1300));
    assert.ok((await message(c)).payload.equals(p));
    await closeCleanly(c);
  });

  await t.test('7.1.6 256 KiB message, then close, then ping', async () => {
    const c = await rawWebSocket(server.port);
    const p = pattern(256 * 1024);
    c.write(Buffer.concat([frame(OP.TEXT, p), frame(OP.CLOSE, Buffer.from([0x03, 0xe8])), frame(OP.PING, 'x')]));
    const { code, before } = await c.closeFrame(10000);
    assert.strictEqual(code, 1000);
    assert.strictEqual(before.length, 1);
    assert.ok(before[0].payload.equals(p));
    assert.ok(before.every((f) => f.opcode !== OP.PONG));
    await c.closed();
  });
});
