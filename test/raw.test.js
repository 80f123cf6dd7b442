// raw.test.js -- malformed frames and handshakes over raw TCP, each with the
// exact close code or HTTP status RFC 6455 asks for. Many rows are the
// Autobahn|Testsuite cases (../shared/specs/autobahn-cases.md) by number.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const {
  startServer, RawClient, rawWebSocket, frame, closePayload, upgradeRequest, OP,
} = require('./lib/wshub');

const hex = (h) => Buffer.from(h, 'hex');

// Each row: the frames to send after the handshake, the close code the
// server must answer with, and what must come back before the Close.
const frameCases = [
  { name: 'rejects_unmasked_client_frame', send: [frame(OP.TEXT, 'hi', { mask: false })], code: 1002 },
  { name: '3.1 RSV1 set', send: [frame(OP.TEXT, 'hi', { rsv: 1 })], code: 1002 },
  { name: '3.2 RSV2 after a good message, then ping', send: [frame(OP.TEXT, 'ok'), frame(OP.TEXT, 'x', { rsv: 2 }), frame(OP.PING)], code: 1002, before: ['1:ok'] },
  { name: '3.7 RSV on a Close', send: [frame(OP.CLOSE, closePayload(1000), { rsv: 7 })], code: 1002 },
  { name: '4.1.1 reserved opcode 3', send: [frame(3)], code: 1002 },
  { name: '4.1.3 reserved opcode 5 after a good message', send: [frame(OP.TEXT, 'ok'), frame(5, 'x'), frame(OP.PING)], code: 1002, before: ['1:ok'] },
  { name: '4.2.1 reserved control opcode 11', send: [frame(11)], code: 1002 },
  { name: '4.2.5 reserved control opcode 15', send: [frame(15, 'x')], code: 1002 },
  { name: '2.5 ping with 126 bytes', send: [frame(OP.PING, Buffer.alloc(126))], code: 1002 },
  { name: '5.1 fragmented ping', send: [frame(OP.PING, 'a', { fin: false }), frame(OP.CONT, 'b')], code: 1002 },
  { name: '5.2 fragmented pong', send: [frame(OP.PONG, 'a', { fin: false }), frame(OP.CONT, 'b')], code: 1002 },
  { name: '5.9 continuation with nothing to continue', send: [frame(OP.CONT, 'x'), frame(OP.TEXT, 'y')], code: 1002 },
  { name: '5.12 unfinished continuation first', send: [frame(OP.CONT, 'x', { fin: false })], code: 1002 },
  { name: '5.18 two text frames in one message', send: [frame(OP.TEXT, 'a', { fin: false }), frame(OP.TEXT, 'b')], code: 1002 },
  { name: 'continuation after FIN', send: [frame(OP.TEXT, 'a'), frame(OP.CONT, 'b')], code: 1002, before: ['1:a'] },
  { name: 'text inside a fragmented binary message', send: [frame(OP.BINARY, 'a', { fin: false }), frame(OP.TEXT, 'b')], code: 1002 },
  { name: '64-bit length with the top bit set', send: [frame(OP.BINARY, '', { len: 1n << 63n })], code: 1002 },
  { name: 'length 2^63-1 is over --max-message', send: [frame(OP.BINARY, '', { len: (1n << 63n) - 1n })], code: 1009 },
  { name: '6.3.1 invalid UTF-8 (surrogate)', send: [frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5eda080656469746564'))], code: 1007 },
  { name: '6.6.1 truncated sequence', send: [frame(OP.TEXT, hex('ce'))], code: 1007 },
  { name: '6.11.5 above U+10FFFF', send: [frame(OP.TEXT, hex('f4908080'))], code: 1007 },
  { name: '6.14.2 overlong', send: [frame(OP.TEXT, hex('e080'))], code: 1007 },
  { name: '6.16.1 0xFE', send: [frame(OP.TEXT, hex('fe'))], code: 1007 },
  { name: 'invalid UTF-8 split across fragments', send: [frame(OP.TEXT, hex('ceba'), { fin: false }), frame(OP.CONT, hex('e1'), { fin: false }), frame(OP.CONT, hex('41'))], code: 1007 },
  { name: '7.3.1 empty close', send: [frame(OP.CLOSE)], code: 1000 },
  { name: '7.3.2 close with 1 byte', send: [frame(OP.CLOSE, Buffer.from([3]))], code: 1002 },
  { name: '7.3.4 close with code and reason', send: [frame(OP.CLOSE, closePayload(1000, 'done'))], code: 1000 },
  { name: '7.3.5 close reason of 123 bytes', send: [frame(OP.CLOSE, closePayload(1000, 'x'.repeat(123)))], code: 1000 },
  { name: '7.3.6 close payload of 126 bytes', send: [frame(OP.CLOSE, closePayload(1000, 'x'.repeat(124)))], code: 1002 },
  { name: '7.5.1 close reason not UTF-8', send: [frame(OP.CLOSE, closePayload(1000, hex('cebae1bdb9cf83cebcceb5eda080656469746564')))], code: 1007 },
  { name: '7.7.3 close 1002 is echoed', send: [frame(OP.CLOSE, closePayload(1002))], code: 1002 },
  { name: '7.7.10 close 3000 is echoed', send: [frame(OP.CLOSE, closePayload(3000))], code: 3000 },
  { name: '7.7.13 close 4999 is echoed', send: [frame(OP.CLOSE, closePayload(4999))], code: 4999 },
  { name: '7.9.1 close code 0', send: [frame(OP.CLOSE, closePayload(0))], code: 1002 },
  { name: '7.9.2 close code 999', send: [frame(OP.CLOSE, closePayload(999))], code: 1002 },
  { name: '7.9.3 close code 1004', send: [frame(OP.CLOSE, closePayload(1004))], code: 1002 },
  { name: '7.9.4 close code 1005', send: [frame(OP.CLOSE, closePayload(1005))], code: 1002 },
  { name: '7.9.5 close code 1006', send: [frame(OP.CLOSE, closePayload(1006))], code: 1002 },
  { name: 'close code 1015', send: [frame(OP.CLOSE, closePayload(1015))], code: 1002 },
  { name: '7.9.6 close code 1016', send: [frame(OP.CLOSE, closePayload(1016))], code: 1002 },
  { name: '7.9.9 close code 2999', send: [frame(OP.CLOSE, closePayload(2999))], code: 1002 },
  { name: '7.13.1 close code 5000', send: [frame(OP.CLOSE, closePayload(5000))], code: 1002 },
  { name: '7.13.2 close code 65535', send: [frame(OP.CLOSE, closePayload(65535))], code: 1002 },
  { name: '7.1.1 message then close', send: [frame(OP.TEXT, 'Hello World!'), frame(OP.CLOSE, closePayload(1000))], code: 1000, before: ['1:Hello World!'] },
  { name: '7.1.2 two closes: the second is ignored', send: [frame(OP.CLOSE, closePayload(1000)), frame(OP.CLOSE, closePayload(1000))], code: 1000 },
  { name: '7.1.3 ping after close gets no pong', send: [frame(OP.CLOSE, closePayload(1000)), frame(OP.PING, 'x')], code: 1000 },
  { name: '7.1.4 text after close is ignored', send: [frame(OP.CLOSE, closePayload(1000)), frame(OP.TEXT, 'x')], code: 1000 },
  { name: '7.1.5 fragment, close, fragment', send: [frame(OP.TEXT, 'a', { fin: false }), frame(OP.CLOSE, closePayload(1000)), frame(OP.CONT, 'b')], code: 1000 },
  { name: '5.6 ping between fragments is answered first', send: [frame(OP.TEXT, 'frag', { fin: false }), frame(OP.PING, 'ping payload'), frame(OP.CONT, 'ment'), frame(OP.CLOSE, closePayload(1000))], code: 1000, before: ['10:ping payload', '1:fragment'] },
  { name: '2.10 ten pings, ten pongs', send: [...Array.from({ length: 10 }, (_, i) => frame(OP.PING, `p${i}`)), frame(OP.CLOSE)], code: 1000, before: Array.from({ length: 10 }, (_, i) => `10:p${i}`) },
  { name: '2.7 unsolicited pong gets nothing', send: [frame(OP.PONG, 'x'), frame(OP.CLOSE)], code: 1000 },
];

// Send bytes in chunks of `chop` (Infinity: all at once).
function sendChopped(c, bytes, chop) {
  if (chop === Infinity) return c.write(bytes);
  for (let i = 0; i < bytes.length; i += chop) c.write(bytes.subarray(i, i + chop));
}

test('malformed and edge-case frames get the right close code', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  for (const row of frameCases) {
    for (const chop of [Infinity, 1]) {
      await t.test(`${row.name}${chop === 1 ? ' (octet-wise)' : ''}`, async () => {
        const c = await rawWebSocket(server.port);
        sendChopped(c, Buffer.concat(row.send), chop);
        const { code, before } = await c.closeFrame();
        assert.strictEqual(code, row.code);
        const got = before.map((f) => `${f.opcode}:${f.payload.toString('latin1')}`);
        assert.deepStrictEqual(got, row.before || []);
        await c.closed(); // §7.1.1: then the server closes TCP
      });
    }
  }
});

test('invalid UTF-8 fails fast, before the frame is finished (6.4.3)', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = await rawWebSocket(server.port);
  const whole = frame(OP.TEXT, hex('cebae1bdb9cf83cebcceb5f4908080656469746564'));
  const header = whole.length - 21;
  c.write(whole.subarray(0, header + 11)); // valid so far
  c.write(whole.subarray(header + 11, header + 15)); // f4 90 80 80: never valid
  const { code } = await c.closeFrame(); // arrives without the last 6 bytes
  assert.strictEqual(code, 1007);
  c.destroy();
});

test('a server that starts the close drops TCP if the peer never answers', async (t) => {
  const server = await startServer(['--close-timeout', '300']);
  t.after(() => server.stop());
  const c = await rawWebSocket(server.port);
  server.proc.kill('SIGTERM'); // the server sends 1001 and waits for our reply
  const { code } = await c.closeFrame();
  assert.strictEqual(code, 1001);
  await c.closed(3000);
});

test('a peer that stops answering pings is closed at --ping-timeout', async (t) => {
  const server = await startServer(['--ping-interval', '100', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const c = await rawWebSocket(server.port);
  const ping = await c.frame();
  assert.strictEqual(ping.opcode, OP.PING);
  await c.closed(3000); // we never send the pong
  await server.stderr.wait(/close \/echo 1006 ping timeout/);
});

test('a peer that answers pings stays open', async (t) => {
  const server = await startServer(['--ping-interval', '100', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const c = await rawWebSocket(server.port);
  for (let i = 0; i < 4; i++) {
    const ping = await c.frame();
    assert.strictEqual(ping.opcode, OP.PING);
    c.write(frame(OP.PONG, ping.payload));
  }
  c.write(frame(OP.TEXT, 'alive'));
  const echo = await c.frame();
  assert.strictEqual(echo.payload.toString(), 'alive');
  c.destroy();
});

// Handshakes: each row is the request and the status it must get.
function handshakeCases(port) {
  const up = (extra, path) => upgradeRequest(port, extra, path);
  return [
    { name: 'valid upgrade', req: up({}), status: 101 },
    { name: 'header names and tokens in any case', req: up({ Upgrade: 'WebSocket', Connection: 'keep-alive, upgrade' }), status: 101 },
    { name: 'missing Sec-WebSocket-Key', req: up({ 'Sec-WebSocket-Key': null }), status: 400 },
    { name: 'key of 15 bytes', req: up({ 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), status: 400 },
    { name: 'key of 17 bytes', req: up({ 'Sec-WebSocket-Key': Buffer.alloc(17).toString('base64') }), status: 400 },
    { name: 'key that is not base64', req: up({ 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }), status: 400 },
    { name: 'duplicate key', req: up({}).replace('\r\n\r\n', '\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n'), status: 400 },
    { name: 'missing Host', req: up({ Host: null }), status: 400 },
    { name: 'missing Upgrade', req: up({ Upgrade: null }), status: 400 },
    { name: 'missing Connection: Upgrade', req: up({ Connection: 'keep-alive' }), status: 400 },
    { name: 'version 8', req: up({ 'Sec-WebSocket-Version': '8' }), status: 426, header: ['sec-websocket-version', '13'] },
    { name: 'missing version', req: up({ 'Sec-WebSocket-Version': null }), status: 400 },
    { name: 'HTTP/1.0 upgrade', req: up({}).replace('HTTP/1.1', 'HTTP/1.0'), status: 400 },
    { name: 'POST upgrade', req: up({}).replace('GET', 'POST'), status: 405, header: ['allow', 'GET, HEAD'] },
    { name: 'upgrade on another path', req: up({}, '/chat'), status: 404 },
    { name: 'foreign Origin', req: up({ Origin: 'http://evil.example' }), status: 403 },
    { name: 'same-host Origin', req: up({ Origin: `http://127.0.0.1:${port}` }), status: 101 },
    { name: 'Sec-WebSocket-Protocol of 10,000 spaces and commas', req: up({ 'Sec-WebSocket-Protocol': ' ,'.repeat(3000) }), status: 101 },
    { name: 'permessage-deflate offer is ignored', req: up({ 'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits' }), status: 101, noHeader: 'sec-websocket-extensions' },
    { name: 'malformed request line', req: 'GET /echo\r\n\r\n', status: 400 },
    { name: 'header without a colon', req: up({}).replace('Upgrade: websocket', 'Upgrade websocket'), status: 400 },
    { name: 'obs-fold', req: up({}).replace('\r\n\r\n', '\r\n  folded\r\n\r\n'), status: 400 },
    { name: '101 header lines', req: `GET /echo HTTP/1.1\r\n${'X-A: b\r\n'.repeat(101)}\r\n`, status: 431 },
    { name: 'head of 8 KiB + 1', req: `GET /echo HTTP/1.1\r\nX: ${'a'.repeat(8192 - 23 + 1)}\r\n\r\n`, status: 431 },
    { name: 'HTTP/2 version', req: 'GET /echo HTTP/2.0\r\n\r\n', status: 505 },
  ];
}

test('handshakes get the status RFC 6455 §4.2 asks for', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  for (const row of handshakeCases(server.port)) {
    await t.test(row.name, async () => {
      const c = new RawClient(server.port);
      await c.connected;
      c.write(row.req);
      const res = await c.response();
      assert.ok(res, 'a response');
      assert.strictEqual(res.status, row.status, res.body);
      if (row.header) assert.strictEqual(res.headers[row.header[0]], row.header[1]);
      if (row.noHeader) assert.strictEqual(res.headers[row.noHeader], undefined);
      if (row.status === 101) {
        assert.strictEqual(res.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
      } else {
        assert.match(res.body, new RegExp(`^${row.status} `), 'a one-line reason');
      }
      c.destroy();
    });
  }
});

test('--origin lists extra origins, and * allows all', async (t) => {
  const listed = await startServer(['--origin', 'http://a.example,http://b.example']);
  const any = await startServer(['--origin', '*']);
  t.after(async () => { await listed.stop(); await any.stop(); });
  const status = async (server, origin) => {
    const c = new RawClient(server.port);
    await c.connected;
    c.write(upgradeRequest(server.port, { Origin: origin }));
    const res = await c.response();
    c.destroy();
    return res.status;
  };
  assert.strictEqual(await status(listed, 'http://b.example'), 101);
  assert.strictEqual(await status(listed, 'http://c.example'), 403);
  assert.strictEqual(await status(any, 'http://c.example'), 101);
});

test('frames sent right behind the handshake are not lost', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const c = new RawClient(server.port);
  await c.connected;
  c.write(Buffer.concat([Buffer.from(upgradeRequest(server.port)), frame(OP.TEXT, 'eager')]));
  assert.strictEqual((await c.response()).status, 101);
  assert.strictEqual((await c.frame()).payload.toString(), 'eager');
  c.destroy();
});

test('bad input is logged in one line and other clients are unharmed', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const good = await rawWebSocket(server.port);
  const bad = await rawWebSocket(server.port);
  bad.write(Buffer.from([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])); // unmasked
  assert.strictEqual((await bad.closeFrame()).code, 1002);
  await server.stderr.wait(/close \/echo 1002 unmasked client frame/);
  good.write(frame(OP.TEXT, 'fine'));
  assert.strictEqual((await good.frame()).payload.toString(), 'fine');
  good.destroy();
});
