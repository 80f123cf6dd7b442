// malformed.test.js -- bad input gets a clear answer and nothing breaks.
// One table: each row is an input and the exact outcome expected, an HTTP
// status or a WebSocket close code. After every row a well-behaved client
// must still be served.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, RawClient, rawWebSocket, frame, closePayload, upgradeRequest, OP } = require('./lib/wshub');

const hex = (h) => Buffer.from(h, 'hex');
const SIO = '/socket.io/?EIO=4&transport=websocket';

// ---- HTTP: raw request bytes -> status -------------------------------------

function httpRows(port) {
  const up = (extra) => upgradeRequest(port, extra);
  return [
    ['request line over 4 KiB', `GET /${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['bad method characters', 'G=T / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['unknown method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 405],
    ['bad version', 'GET / HTTQ/1.1\r\nHost: x\r\n\r\n', 400],
    ['HTTP/9.9', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', 505],
    ['header line without a colon', 'GET / HTTP/1.1\r\nHost x\r\n\r\n', 400],
    ['obs-fold continuation line', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\tmore\r\n\r\n', 400],
    ['NUL byte in a header', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n', 400],
    ['100 header lines (the limit)', `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(99)}\r\n`, 200],
    ['101 header lines', `GET / HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(100)}\r\n`, 431],
    ['a head of exactly 8 KiB', `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(8192 - 32)}\r\n\r\n`, 200],
    ['a head of 8 KiB + 1', `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(8192 - 31)}\r\n\r\n`, 431],
    ['one header line of 64 KiB', `GET / HTTP/1.1\r\nX: ${'a'.repeat(65536)}\r\n\r\n`, 431],
    ['duplicate Sec-WebSocket-Key', up({}).replace('\r\n\r\n', '\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n\r\n'), 400],
    ['key of 15 bytes', up({ 'Sec-WebSocket-Key': Buffer.alloc(15, 1).toString('base64') }), 400],
    ['key of 17 bytes', up({ 'Sec-WebSocket-Key': Buffer.alloc(17, 1).toString('base64') }), 400],
    ['key that is not base64', up({ 'Sec-WebSocket-Key': 'not base64 at all, no!!' }), 400],
    ['Sec-WebSocket-Protocol of 10,000 spaces and commas', up({ 'Sec-WebSocket-Protocol': ' ,'.repeat(5000).slice(0, 8000 - 200) }), 101],
    ['Connection list of 4,000 commas before Upgrade', up({ Connection: `${','.repeat(4000)}Upgrade` }), 101],
    ['percent-encoded ../ (%2e%2e%2f)', 'GET /%2e%2e%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['..%2f', 'GET /..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['%2E%2E in upper case', 'GET /sub/%2E%2E/%2E%2E/x HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['a NUL byte in the path (%00)', 'GET /index.html%00.txt HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a bad escape', 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['a directory without its slash', 'GET /sub HTTP/1.1\r\nHost: x\r\n\r\n', 301],
    ['a symlink out of --root', 'GET /leak.txt HTTP/1.1\r\nHost: x\r\n\r\n', 403],
    ['a cross-origin upgrade from a browser', up({ Origin: 'http://evil.example' }), 403],
    ['an upgrade with version 8', up({ 'Sec-WebSocket-Version': '8' }), 426],
    ['Engine.IO 3', upgradeRequest(port, {}, '/socket.io/?EIO=3&transport=websocket'), 400],
  ];
}

// ---- WebSocket on /echo: frames -> close code (or the echo) ------------------

const utf8Splits = [];
{
  // An invalid sequence (a surrogate, ED A0 80) inside valid text, split
  // into two fragments at every byte position.
  const bad = hex('cebae1bdb9cf83cebcceb5eda080656469746564');
  for (let cut = 0; cut <= bad.length; cut++) {
    utf8Splits.push([`invalid UTF-8 split at byte ${cut}`,
      [frame(OP.TEXT, bad.subarray(0, cut), { fin: false }), frame(OP.CONT, bad.subarray(cut))], 1007]);
  }
}

const wsRows = [
  ['length 125', [frame(OP.BINARY, Buffer.alloc(125, 1))], { echo: 125 }],
  ['length 126', [frame(OP.BINARY, Buffer.alloc(126, 1))], { echo: 126 }],
  ['length 65535', [frame(OP.BINARY, Buffer.alloc(65535, 1))], { echo: 65535 }],
  ['length 65536', [frame(OP.BINARY, Buffer.alloc(65536, 1))], { echo: 65536 }],
  ['length 2^63 - 1', [frame(OP.BINARY, '', { len: (1n << 63n) - 1n })], 1009],
  ['length 2^63', [frame(OP.BINARY, '', { len: 1n << 63n })], 1002],
  ['length 2^64 - 1', [frame(OP.BINARY, '', { len: (1n << 64n) - 1n })], 1002],
  ['a length that overflows size_t with what is open',
    [frame(OP.BINARY, 'abc', { fin: false }), frame(OP.CONT, '', { len: (1n << 63n) - 2n })], 1009],
  ['a continuation after FIN', [frame(OP.TEXT, 'done'), frame(OP.CONT, 'more')], 1002],
  ['text inside a fragmented binary message', [frame(OP.BINARY, 'a', { fin: false }), frame(OP.TEXT, 'b')], 1002],
  ['a close with 1 byte of payload', [frame(OP.CLOSE, Buffer.from([0x03]))], 1002],
  ['a close with code 999', [frame(OP.CLOSE, closePayload(999))], 1002],
  ['a close whose reason is not UTF-8', [frame(OP.CLOSE, closePayload(1000, hex('c0af')))], 1007],
  ['an unmasked frame', [frame(OP.TEXT, 'x', { mask: false })], 1002],
  ...utf8Splits,
];

// ---- Socket.IO: packets after CONNECT -> close 1008 (or the echo) ------------

const deep = `42["message",${'['.repeat(10000)}${']'.repeat(10000)}]`;
const placeholders = (n) => Array.from({ length: n }, (_, i) => `{"_placeholder":true,"num":${i}}`).join(',');
const sioRows = [
  ['4abc', ['4abc'], 1008],
  ['42{}', ['42{}'], 1008],
  ['42abc[...]', ['42abc["message"]'], 1008],
  ['a non-array EVENT payload', ['42"message"'], 1008],
  ['an empty event name', ['42[""]'], 1008],
  ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener', 'connection']
    .map((n) => [`reserved event name ${n}`, [`42["${n}"]`], 1008]),
  ['10 attachments (the limit)', [`4510-["message",${placeholders(10)}]`, ...Array(10).fill(Buffer.from('b'))], 'echo'],
  ['11 attachments', [`4511-["message",${placeholders(11)}]`], 1008],
  ['placeholder num out of range', ['451-["message",{"_placeholder":true,"num":1}]', Buffer.from('b')], 1008],
  ['placeholder num negative', ['451-["message",{"_placeholder":true,"num":-1}]', Buffer.from('b')], 1008],
  ['placeholder num not a number', ['451-["message",{"_placeholder":true,"num":"0"}]', Buffer.from('b')], 1008],
  ['_placeholder objects in a plain EVENT', ['42["message",{"_placeholder":true,"num":0}]'], 1008],
  ['JSON nested 10,000 levels deep', [deep], 1008],
  ['a broken \\u escape', ['42["message","\\u12"]'], 1008],
  ['a \\u escape with non-hex digits', ['42["message","\\uzzzz"]'], 1008],
  ['a lone surrogate in the event name', ['42["\\ud800"]'], 1008],
  ['a lone surrogate in an argument is legal JSON text', ['42["message","\\ud800"]'], 'echo'],
  ['an ack id of 2^53 - 1', ['429007199254740991["message-with-ack",1]'], 'ack'],
  ['an ack id of 2^53', ['429007199254740992["message-with-ack",1]'], 1008],
  ['an ack id of 20 digits', ['4299999999999999999999["message-with-ack",1]'], 1008],
  ['a namespace name of 64 KiB', [`40/${'n'.repeat(65536)},`], 1008],
  ['a binary frame nobody announced', [Buffer.from('stray')], 1008],
  ['a ping from the client', ['2'], 1008],
];

// A throw-away --root with a file, a folder and a symlink pointing out.
function makeRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-bad-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-out-'));
  fs.writeFileSync(path.join(dir, 'index.html'), 'ok\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'leak.txt'));
  return { dir, cleanup: () => { fs.rmSync(dir, { recursive: true }); fs.rmSync(outside, { recursive: true }); } };
}

test('bad input: the table', async (t) => {
  const root = makeRoot();
  const http = await startServer(['--root', root.dir]);
  const echo = await startServer(['--app', 'echo']);
  t.after(async () => { await http.stop(); await echo.stop(); root.cleanup(); });

  // After every row: someone well-behaved is still served.
  async function stillServing(server) {
    const c = await rawWebSocket(server.port);
    c.write(frame(OP.TEXT, 'still here'));
    assert.strictEqual((await c.frame()).payload.toString(), 'still here');
    c.destroy();
  }

  for (const [name, request, status] of httpRows(http.port)) {
    await t.test(`HTTP: ${name} -> ${status}`, async () => {
      const c = new RawClient(http.port);
      await c.connected;
      c.write(request);
      const res = await c.response();
      assert.ok(res, 'a response before the close');
      assert.strictEqual(res.status, status, res.body);
      c.destroy();
      await stillServing(http);
    });
  }

  for (const [name, frames, want] of wsRows) {
    await t.test(`WebSocket: ${name} -> ${JSON.stringify(want)}`, async () => {
      const c = await rawWebSocket(http.port);
      c.write(Buffer.concat(frames));
      if (want.echo !== undefined) {
        const f = await c.frame();
        assert.strictEqual(f.payload.length, want.echo);
      } else {
        const { code } = await c.closeFrame();
        assert.strictEqual(code, want);
        await c.closed();
      }
      c.destroy();
      await stillServing(http);
    });
  }

  for (const [name, packets, want] of sioRows) {
    await t.test(`Socket.IO: ${name} -> ${want}`, async () => {
      const c = new RawClient(echo.port);
      await c.connected;
      c.write(upgradeRequest(echo.port, {}, SIO));
      assert.strictEqual((await c.response()).status, 101);
      c.write(frame(OP.TEXT, '40'));
      await c.until((buf) => (buf.includes('42["auth"') ? true : undefined), 5000, 'connected');
      for (const p of packets) c.write(typeof p === 'string' ? frame(OP.TEXT, p) : frame(OP.BINARY, p));
      if (want === 'echo') {
        await c.until((buf) => (buf.includes('"message-back"') ? true : undefined), 5000, 'message-back');
      } else if (want === 'ack') {
        await c.until((buf) => (buf.includes('439007199254740991[1]') ? true : undefined), 5000, 'the ack');
      } else {
        const { code } = await c.closeFrame();
        assert.strictEqual(code, want);
      }
      c.destroy();
      await stillServing(echo);
    });
  }
});
