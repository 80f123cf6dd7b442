// polling.test.js -- Engine.IO long-polling and the upgrade, over raw HTTP.
// SPDX-License-Identifier: MIT
//
// Every request a client can get wrong, each with the exact status and
// body wshub answers (engine.io-protocol v4, "Transports / HTTP
// long-polling" and "Upgrade"; RFC 9112 §6 for bodies). Requests are
// written by hand on raw TCP, so nothing between the test and the server
// fixes them up. No sleeps: every wait is for a response, a frame or a
// close, with a timeout.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, RawClient, upgradeRequest, frame, OP } = require('./lib/wshub');

const ECHO = ['--app', 'echo'];
// Plain Engine.IO (--app echo): every message comes back as it was, so
// the payloads here need no Socket.IO inside them.
const Q = '/engine.io/?EIO=4&transport=polling';
const SIO = '/socket.io/?EIO=4&transport=polling';

// One HTTP request on a fresh connection: { status, headers, body }.
async function request(port, method, path, { body = null, headers = {} } = {}) {
  const c = new RawClient(port);
  await c.connected;
  let req = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  const bytes = body === null ? null : Buffer.from(body);
  if (bytes && headers['Content-Length'] === undefined) req += `Content-Length: ${bytes.length}\r\n`;
  c.write(Buffer.concat([Buffer.from(req + '\r\n'), bytes || Buffer.alloc(0)]));
  const res = await c.response(5000);
  c.destroy();
  return res;
}

// A new polling session on path (default: /socket.io/); resolves to its sid.
async function handshake(port, q = Q) {
  const res = await request(port, 'GET', q);
  assert.strictEqual(res.status, 200);
  assert.strictEqual(res.body[0], '0');
  return JSON.parse(res.body.slice(1)).sid;
}

// Send a GET for sid on a connection of its own, and resolve once the
// server has read it (its --trace line), so that it is held before the
// test goes on. The server must run with --trace.
async function holdGet(server, sid, q = Q) {
  const held = new RawClient(server.port);
  await held.connected;
  const from = server.stdout.lines.length;
  held.write(`GET ${q}&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await server.stdout.wait(new RegExp(`<- GET \\S*sid=${sid}`), 5000, from);
  return held;
}

function json(res) {
  assert.strictEqual(res.headers['content-type'], 'application/json');
  return JSON.parse(res.body);
}

const UNKNOWN_SID = { code: 1, message: 'Session ID unknown' };
const BAD_REQUEST = { code: 3, message: 'Bad request' };

test('handshake answers the open packet with exactly the five keys', async (t) => {
  const server = await startServer([...ECHO, '--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const res = await request(server.port, 'GET', Q);
  assert.strictEqual(res.status, 200);
  assert.strictEqual(res.headers['content-type'], 'text/plain; charset=UTF-8');
  const open = JSON.parse(res.body.slice(1));
  assert.deepStrictEqual(Object.keys(open).sort(), ['maxPayload', 'pingInterval', 'pingTimeout', 'sid', 'upgrades']);
  assert.match(open.sid, /^[A-Za-z0-9_-]{20}$/);
  assert.deepStrictEqual(open.upgrades, ['websocket']);
  assert.strictEqual(open.pingInterval, 300);
  assert.strictEqual(open.pingTimeout, 200);
  assert.strictEqual(open.maxPayload, 1000000);
});

test('bad handshakes and unknown sessions get engine.io error codes', async (t) => {
  const server = await startServer(ECHO);
  t.after(() => server.stop());
  const rows = [
    ['POST', SIO, 'x', 400, { code: 2, message: 'Bad handshake method' }],
    ['PUT', Q, null, 400, { code: 2, message: 'Bad handshake method' }],
    ['GET', '/socket.io/?EIO=3&transport=polling', null, 400, { code: 5, message: 'Unsupported protocol version' }],
    ['GET', '/socket.io/?transport=polling', null, 400, { code: 5, message: 'Unsupported protocol version' }],
    ['GET', '/socket.io/?EIO=4', null, 400, { code: 0, message: 'Transport unknown' }],
    ['GET', '/socket.io/?EIO=4&transport=xhr', null, 400, { code: 0, message: 'Transport unknown' }],
    ['GET', `${Q}&sid=AAAAAAAAAAAAAAAAAAAA`, null, 400, UNKNOWN_SID],
    ['POST', `${Q}&sid=AAAAAAAAAAAAAAAAAAAA`, '4x', 400, UNKNOWN_SID],
    ['GET', `${Q}&sid=short`, null, 400, UNKNOWN_SID],
    ['GET', '/socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA', null, 400, UNKNOWN_SID],
    ['GET', '/socket.io/?EIO=4&transport=websocket', null, 400, BAD_REQUEST], // no Upgrade
  ];
  for (const [method, path, body, status, want] of rows) {
    const res = await request(server.port, method, path, { body });
    assert.strictEqual(res.status, status, `${method} ${path}`);
    assert.deepStrictEqual(json(res), want, `${method} ${path}`);
  }
});

test('a session on /socket.io/ is unknown on /engine.io/, and /engine.io/ needs --app echo', async (t) => {
  const server = await startServer(ECHO);
  t.after(() => server.stop());
  const sid = await handshake(server.port, SIO);
  const res = await request(server.port, 'GET', `/engine.io/?EIO=4&transport=polling&sid=${sid}`);
  assert.deepStrictEqual([res.status, json(res)], [400, UNKNOWN_SID]);
  const chat = await startServer([]);
  t.after(() => chat.stop());
  assert.strictEqual((await request(chat.port, 'GET', '/engine.io/?EIO=4&transport=polling')).status, 404);
});

test('plain engine.io at /engine.io/ echoes text and binary packets, in order', async (t) => {
  const server = await startServer(ECHO);
  t.after(() => server.stop());
  const q = '/engine.io/?EIO=4&transport=polling';
  const sid = await handshake(server.port, q);
  const post = await request(server.port, 'POST', `${q}&sid=${sid}`, { body: '4hello\x1ebAQIDBA==\x1e4€uro' });
  assert.deepStrictEqual([post.status, post.body, post.headers['content-type']], [200, 'ok', 'text/plain; charset=UTF-8']);
  const get = await request(server.port, 'GET', `${q}&sid=${sid}`);
  assert.strictEqual(get.body, '4hello\x1ebAQIDBA==\x1e4€uro');
});

test('malformed payloads get 400 and end the session', async (t) => {
  const server = await startServer([...ECHO, '--max-message', '1000']);
  t.after(() => server.stop());
  const rows = [
    ['a malformed payload', 'abc'],
    ['bad base64', 'bAQ='],
    ['base64 with a bad character', 'bAQ*D'],
    ['an unknown packet type', '9'],
    ['an empty packet between two', '4a\x1e\x1e4b'],
    ['a trailing separator', '4a\x1e'],
    ['text that is not UTF-8', Buffer.from([0x34, 0xc3, 0x28])],
    ['a client ping (v4: only the server pings)', '2'],
    ['an open packet from the client', '0'],
  ];
  for (const [what, body] of rows) {
    const sid = await handshake(server.port);
    const res = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body });
    assert.strictEqual(res.status, 400, what);
    assert.deepStrictEqual(json(res), BAD_REQUEST, what);
    const after = await request(server.port, 'GET', `${Q}&sid=${sid}`);
    assert.deepStrictEqual([after.status, json(after)], [400, UNKNOWN_SID], `${what}: the session is gone`);
  }
  // An empty body is no payload at all.
  const sid = await handshake(server.port);
  const res = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '' });
  assert.deepStrictEqual([res.status, json(res)], [400, BAD_REQUEST]);
});

test('a GET while another is held: 400, the held one gets a close packet, the session ends', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const held = await holdGet(server, sid);
  const second = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.deepStrictEqual([second.status, json(second)], [400, BAD_REQUEST]);
  const first = await held.response();
  assert.deepStrictEqual([first.status, first.body], [200, '1']);
  held.destroy();
  const after = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.deepStrictEqual([after.status, json(after)], [400, UNKNOWN_SID]);
});

test('a POST while another is still sending its body: 400, and the session ends', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const slow = new RawClient(server.port);
  await slow.connected;
  const from = server.stdout.lines.length;
  slow.write(`POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n4ab`);
  await server.stdout.wait(/<- POST \S* 7 body bytes still to come/, 5000, from);
  const second = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '4x' });
  assert.deepStrictEqual([second.status, json(second)], [400, BAD_REQUEST]);
  slow.write('cdefghi');
  const first = await slow.response();
  assert.deepStrictEqual([first.status, json(first)], [400, UNKNOWN_SID]);
  slow.destroy();
});

test('a POST body over --max-message gets 413 before it is read; the session lives on', async (t) => {
  const server = await startServer([...ECHO, '--max-message', '1000']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const c = new RawClient(server.port);
  await c.connected;
  c.write(`POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n4`);
  const res = await c.response();
  assert.strictEqual(res.status, 413);
  assert.strictEqual(res.headers.connection, 'close');
  await c.closed();
  // At the edge: exactly 1000 bytes is fine.
  const ok = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '4' + 'x'.repeat(999) });
  assert.deepStrictEqual([ok.status, ok.body], [200, 'ok']);
  const get = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.strictEqual(get.body, '4' + 'x'.repeat(999));
});

test('a body that arrives in pieces is put together; a slow one gets 408', async (t) => {
  const server = await startServer([...ECHO, '--request-timeout', '300']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const c = new RawClient(server.port);
  await c.connected;
  const body = '4' + 'y'.repeat(300000); // larger than one read
  c.write(`POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
  for (let i = 0; i < body.length; i += 65536) c.write(body.slice(i, i + 65536));
  const res = await c.response();
  assert.deepStrictEqual([res.status, res.body], [200, 'ok']);
  const get = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.strictEqual(get.body.length, body.length);
  // Now one that stops halfway: the request timeout answers it.
  c.write(`POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n4abc`);
  const late = await c.response(3000);
  assert.strictEqual(late.status, 408);
  await c.closed();
});

test('Content-Length must be one decimal number; chunked bodies get 411', async (t) => {
  const server = await startServer(ECHO);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const rows = [
    ['Content-Length: -1', 400],
    ['Content-Length: +5', 400],
    ['Content-Length: abc', 400],
    ['Content-Length: 1 0', 400],
    ['Content-Length: 99999999999999999999999', 400],
    ['Content-Length: 2\r\nContent-Length: 3', 400],
    ['Content-Length: 2, 3', 400],
    ['Content-Length: 2\r\nTransfer-Encoding: chunked', 400],
    ['Transfer-Encoding: chunked', 411],
    ['Transfer-Encoding: gzip', 400],
  ];
  for (const method of ['POST', 'GET']) {
    for (const [header, status] of rows) {
      const c = new RawClient(server.port);
      await c.connected;
      c.write(`${method} ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\n${header}\r\n\r\n4x`);
      const res = await c.response();
      assert.strictEqual(res.status, status, `${method} with ${header}`);
      assert.strictEqual(res.headers.connection, 'close', `${method} with ${header}`);
      await c.closed();
      c.destroy();
    }
  }
  // Two equal Content-Lengths are one (RFC 9110 §8.6), and keep-alive works.
  const c = new RawClient(server.port);
  await c.connected;
  c.write(`POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n4x` +
          `POST ${Q}&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n4y`);
  assert.strictEqual((await c.response()).body, 'ok');
  assert.strictEqual((await c.response()).body, 'ok');
  c.destroy();
  assert.strictEqual((await request(server.port, 'GET', `${Q}&sid=${sid}`)).body, '4x\x1e4y');
});

test('the heartbeat runs through the poll: "2" out, "3" back', async (t) => {
  const server = await startServer([...ECHO, '--ping-interval', '300', '--ping-timeout', '200']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  for (let i = 0; i < 3; i++) {
    const get = await request(server.port, 'GET', `${Q}&sid=${sid}`);
    assert.deepStrictEqual([get.status, get.body], [200, '2']);
    const post = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '3' });
    assert.strictEqual(post.body, 'ok');
  }
});

test('a client close ends the held GET with a noop, and the session', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const held = await holdGet(server, sid);
  const post = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '1' });
  assert.strictEqual(post.body, 'ok');
  const res = await held.response();
  assert.deepStrictEqual([res.status, res.body], [200, '6']);
  held.destroy();
  const after = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.deepStrictEqual([after.status, json(after)], [400, UNKNOWN_SID]);
});

// Open a WebSocket on a polling session's sid: the upgrade probe.
async function probe(port, sid) {
  const ws = new RawClient(port);
  await ws.connected;
  ws.write(upgradeRequest(port, {}, `/engine.io/?EIO=4&transport=websocket&sid=${sid}`));
  const res = await ws.response();
  assert.strictEqual(res.status, 101);
  return ws;
}

test('the upgrade: 2probe, 3probe, a noop for the held GET, 5, then frames', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const q = '/engine.io/?EIO=4&transport=polling';
  const sid = await handshake(server.port, q);
  const held = await holdGet(server, sid, q);
  const ws = new RawClient(server.port);
  await ws.connected;
  ws.write(upgradeRequest(server.port, {}, `/engine.io/?EIO=4&transport=websocket&sid=${sid}`));
  assert.strictEqual((await ws.response()).status, 101);
  ws.write(frame(OP.TEXT, '2probe'));
  assert.strictEqual((await ws.frame()).payload.toString(), '3probe');
  const noop = await held.response();
  assert.deepStrictEqual([noop.status, noop.body], [200, '6']);
  // Sent while the upgrade is half done: it must not be lost.
  const post = await request(server.port, 'POST', `${q}&sid=${sid}`, { body: '4during' });
  assert.strictEqual(post.body, 'ok');
  ws.write(frame(OP.TEXT, '5'));
  assert.strictEqual((await ws.frame()).payload.toString(), '4during');
  ws.write(frame(OP.TEXT, '4after'));
  assert.strictEqual((await ws.frame()).payload.toString(), '4after');
  // From now on, polling requests for this sid are refused...
  const get = await request(server.port, 'GET', `${q}&sid=${sid}`);
  assert.deepStrictEqual([get.status, json(get)], [400, BAD_REQUEST]);
  // ...and so is a second WebSocket: it is opened, then closed at once.
  const ws2 = new RawClient(server.port);
  await ws2.connected;
  ws2.write(upgradeRequest(server.port, {}, `/engine.io/?EIO=4&transport=websocket&sid=${sid}`));
  assert.strictEqual((await ws2.response()).status, 101);
  assert.strictEqual((await ws2.closeFrame()).code, 1008);
  // The first one still works.
  ws.write(frame(OP.TEXT, '4still'));
  assert.strictEqual((await ws.frame()).payload.toString(), '4still');
  ws.destroy();
  ws2.destroy();
  held.destroy();
});

test('a probe that sends something else is closed, and the session stays on polling', async (t) => {
  const server = await startServer(ECHO);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const ws = await probe(server.port, sid);
  ws.write(frame(OP.TEXT, '4hello'));
  assert.strictEqual((await ws.closeFrame()).code, 1008);
  ws.destroy();
  const post = await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '4still polling' });
  assert.strictEqual(post.body, 'ok');
  const get = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.strictEqual(get.body, '4still polling');
});

test('CORS follows --origin: allowed origins are named, others get 403', async (t) => {
  const server = await startServer([...ECHO, '--origin', 'http://app.example']);
  t.after(() => server.stop());
  const ok = await request(server.port, 'GET', Q, { headers: { Origin: 'http://app.example' } });
  assert.strictEqual(ok.status, 200);
  assert.strictEqual(ok.headers['access-control-allow-origin'], 'http://app.example');
  assert.strictEqual(ok.headers['access-control-allow-credentials'], 'true');
  const same = await request(server.port, 'GET', Q, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
  assert.strictEqual(same.status, 200);
  const bad = await request(server.port, 'GET', Q, { headers: { Origin: 'http://evil.example' } });
  assert.deepStrictEqual([bad.status, json(bad)], [403, { code: 4, message: 'Forbidden' }]);
  assert.strictEqual(bad.headers['access-control-allow-origin'], undefined);
  const pre = await request(server.port, 'OPTIONS', Q, {
    headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  assert.strictEqual(pre.status, 204);
  assert.strictEqual(pre.headers['access-control-allow-origin'], 'http://app.example');
  assert.match(pre.headers['access-control-allow-methods'], /POST/);
  assert.strictEqual(pre.headers['access-control-allow-headers'], 'content-type');
  const preBad = await request(server.port, 'OPTIONS', Q, { headers: { Origin: 'http://evil.example' } });
  assert.strictEqual(preBad.status, 403);
  const dup = await request(server.port, 'GET', Q, { headers: { Origin: 'http://app.example\r\nOrigin: http://app.example' } });
  assert.deepStrictEqual([dup.status, json(dup)], [400, BAD_REQUEST]);
  // Nothing gets "*" unless --origin '*' says so.
  const star = await startServer([...ECHO, '--origin', '*']);
  t.after(() => star.stop());
  const any = await request(star.port, 'GET', Q, { headers: { Origin: 'http://anyone.example' } });
  assert.strictEqual(any.headers['access-control-allow-origin'], '*');
  assert.strictEqual(any.headers['access-control-allow-credentials'], undefined);
});

test('a held GET that the client drops frees its place; the session carries on', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const held = await holdGet(server, sid);
  held.destroy();
  await server.stderr.wait(/close .*sid=.* peer closed/);
  await request(server.port, 'POST', `${Q}&sid=${sid}`, { body: '4x' });
  const get = await request(server.port, 'GET', `${Q}&sid=${sid}`);
  assert.deepStrictEqual([get.status, get.body], [200, '4x']);
});

test('2probe and 5 in one segment still end the held GET, and nothing is lost', async (t) => {
  const server = await startServer([...ECHO, '--trace']);
  t.after(() => server.stop());
  const sid = await handshake(server.port);
  const held = await holdGet(server, sid);
  const ws = await probe(server.port, sid);
  ws.write(Buffer.concat([frame(OP.TEXT, '2probe'), frame(OP.TEXT, '5'), frame(OP.TEXT, '4first')]));
  assert.strictEqual((await ws.frame()).payload.toString(), '3probe');
  const res = await held.response();
  assert.deepStrictEqual([res.status, res.body], [200, '6']);
  assert.strictEqual((await ws.frame()).payload.toString(), '4first');
  held.destroy();
  ws.destroy();
});
