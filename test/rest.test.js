// rest.test.js -- the REST API under /api/ (issue 11), driven by Node's own
// fetch against a real wshub, with the official socket.io-client in the rooms
// to hear what each write does live.
// SPDX-License-Identifier: MIT
//
// Each row of the API table: its status, its headers (Content-Type, Location,
// ETag, Allow, WWW-Authenticate, CORS under --origin) and its exact JSON body;
// for the writes, the event the room's sockets receive (message, message-edit,
// message-delete, or any event through /api/emit) and that the others do not.
// Then the token rules (a file, the environment, none), the ETag rules, every
// error status, HEAD, the paging query, the sockets' own edit and delete, and
// that a refused request changes nothing.
//
// Nothing sleeps to wait: every wait is for a response, an event, a line or a
// close, with a timeout. That a socket did NOT get an event is shown by a
// later event it does get: events on one socket arrive in order.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chatUser, ask, closeSockets } = require('./lib/chat');
const { startServer, RawClient, withTimeout } = require('./lib/wshub');

const SLOW = process.env.WSHUB_SANITIZED ? 3 : 1;
const ms = (n) => n * SLOW;

const JSON_TYPE = /^application\/json(;\s*charset=utf-8)?$/i;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const OFF_ERROR = 'the write API is off: start wshub with --api-token-file FILE or WSHUB_API_TOKEN';
const MAX_MESSAGE = 8192;

// ---- starting servers --------------------------------------------------------

// startServer's options for a server whose environment has env set (a value
// of null unsets it): the binary runs through env(1), and through
// $WSHUB_WRAP (valgrind) after that, as startServer would run it itself.
function withEnv(env) {
  const args = [];
  for (const [k, v] of Object.entries(env)) args.push(...(v === null ? ['-u', k] : [`${k}=${v}`]));
  const wrap = process.env.WSHUB_WRAP ? process.env.WSHUB_WRAP.split(/\s+/).filter(Boolean) : [];
  return { prefix: ['env', ...args, ...wrap] };
}

function tokenFile(token) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-rest-'));
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { dir, file };
}

// ---- HTTP ----------------------------------------------------------------------

// One request through fetch. body: an object (sent as JSON), a string or a
// Buffer (sent as is). Content-Type is application/json unless headers name
// one (null: none at all). Resolves to { status, headers, text, json }.
async function api(server, method, target, { body, token, headers = {} } = {}) {
  const h = {};
  let type = 'application/json';
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'content-type') type = v;
    else h[k] = v;
  }
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    // A Buffer goes without a Content-Type of fetch's own choosing.
    if (typeof payload === 'string') payload = Buffer.from(payload);
    if (type !== null) h['Content-Type'] = type;
  }
  const res = await withTimeout(fetch(server.url + target, { method, headers: h, body: payload }),
    ms(5000), `${method} ${target}`);
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// A request written by hand on its own connection, read to the server's
// close: for HEAD (is there really no body?), for a body the server should
// refuse before reading it, and for the log line a closed connection leaves.
async function raw(server, method, target, headers = {}, body = '') {
  const c = new RawClient(server.port);
  await c.connected;
  let req = `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  c.write(req + '\r\n' + body);
  await c.closed(ms(5000));
  const buf = c.buf;
  c.destroy();
  const end = buf.indexOf('\r\n\r\n');
  assert.ok(end > 0, `no response head to ${method} ${target}: ${JSON.stringify(buf.toString())}`);
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const out = { status: Number(lines[0].split(' ')[1]), headers: {}, rest: buf.subarray(end + 4) };
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    out.headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return out;
}

function expectJson(r, status) {
  assert.strictEqual(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', JSON_TYPE);
}

// An error answer: this status and exactly {"error": "<something>"}.
function expectError(r, status) {
  expectJson(r, status);
  assert.ok(r.json && typeof r.json === 'object', `not a JSON object: ${r.text}`);
  assert.deepStrictEqual(Object.keys(r.json), ['error'], r.text);
  assert.strictEqual(typeof r.json.error, 'string');
  assert.ok(r.json.error.length > 0);
}

// A message object, fields in the contract's order: id, text, userId, name,
// room, timestamp, then via and edited when present.
function expectMessage(m, want) {
  const keys = ['id', 'text', 'userId', 'name', 'room', 'timestamp'];
  if (want.via) keys.push('via');
  if (want.edited) keys.push('edited');
  assert.deepStrictEqual(Object.keys(m), keys, JSON.stringify(m));
  assert.ok(Number.isInteger(m.id) && m.id > 0, `id ${m.id}`);
  assert.match(m.timestamp, ISO);
  if (want.edited) assert.match(m.edited, ISO);
  for (const k of ['id', 'text', 'userId', 'name', 'room', 'via']) {
    if (want[k] !== undefined) assert.strictEqual(m[k], want[k], k);
  }
}

const allowOf = (r) => (r.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();

// ---- Socket.IO -------------------------------------------------------------------

// The next `event` on socket whose first argument passes pred; resolves to
// the event's arguments.
function next(socket, event, pred = () => true, wait = ms(5000)) {
  let handler;
  const p = new Promise((resolve) => {
    handler = (...args) => { if (pred(...args)) resolve(args); };
    socket.on(event, handler);
  });
  return withTimeout(p, wait, `${event} on a socket`).finally(() => socket.off(event, handler));
}

// Everything socket receives as `event` from now on.
function record(socket, event) {
  const got = [];
  const fn = (...args) => got.push(args);
  socket.on(event, fn);
  Object.defineProperty(got, 'stop', { value: () => socket.off(event, fn) });
  return got;
}

// Post to general through the API and wait until each socket has it: every
// event sent to them before it has arrived by then.
async function barrier(server, token, ...socks) {
  const text = `barrier ${Math.random()}`;
  const heard = socks.map((s) => next(s, 'message', (m) => m.text === text));
  expectJson(await api(server, 'POST', '/api/rooms/general/messages', { token, body: { text } }), 201);
  await Promise.all(heard);
}

// ==================================================================================

describe('the REST API, with its token in --api-token-file', () => {
  const TOKEN = `tok-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  let server, tf, alice, bob, carol;

  before(async () => {
    tf = tokenFile(TOKEN);
    server = await startServer(['--api-token-file', tf.file, '--origin', 'http://allowed.example',
      '--max-message', String(MAX_MESSAGE)], withEnv({ WSHUB_API_TOKEN: null }));
    alice = await chatUser(server, 'alice', ['blue']);
    bob = await chatUser(server, 'bob', ['blue']);
    carol = await chatUser(server, 'carol'); // general only
  });
  after(async () => {
    closeSockets();
    await server.stop();
    fs.rmSync(tf.dir, { recursive: true, force: true });
  });

  const post = (room, body, token = TOKEN) => api(server, 'POST', `/api/rooms/${room}/messages`, { token, body });

  it('GET /api/rooms lists each room with its members and its message count', async () => {
    const r = await api(server, 'GET', '/api/rooms');
    expectJson(r, 200);
    assert.ok(Array.isArray(r.json));
    for (const e of r.json) assert.deepStrictEqual(Object.keys(e), ['room', 'members', 'messages']);
    const byName = Object.fromEntries(r.json.map((e) => [e.room, e]));
    assert.deepStrictEqual(byName.general, { room: 'general', members: 3, messages: 0 });
    assert.deepStrictEqual(byName.blue, { room: 'blue', members: 2, messages: 0 });
    assert.strictEqual(r.json.length, 2);

    await ask(alice, 'room-message', { room: 'blue', text: 'one' });
    await ask(bob, 'room-message', { room: 'blue', text: 'two' });
    const again = await api(server, 'GET', '/api/rooms');
    assert.deepStrictEqual(again.json.find((e) => e.room === 'blue'), { room: 'blue', members: 2, messages: 2 });
  });

  it('GET /api/rooms/{room} gives its members and its history, oldest first; 404 for no such room', async () => {
    const r = await api(server, 'GET', '/api/rooms/blue');
    expectJson(r, 200);
    assert.deepStrictEqual(Object.keys(r.json), ['room', 'members', 'messages']);
    assert.strictEqual(r.json.room, 'blue');
    const members = [...r.json.members].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepStrictEqual(members, [{ userId: alice.id, name: 'alice' }, { userId: bob.id, name: 'bob' }]);
    assert.deepStrictEqual(r.json.messages.map((m) => m.text), ['one', 'two']);
    expectMessage(r.json.messages[0], { text: 'one', userId: alice.id, name: 'alice', room: 'blue' });
    expectMessage(r.json.messages[1], { text: 'two', userId: bob.id, name: 'bob', room: 'blue' });
    assert.ok(r.json.messages[0].id < r.json.messages[1].id);

    expectError(await api(server, 'GET', '/api/rooms/no-such-room'), 404);
  });

  it('POST /api/rooms/{room}/messages answers 201 with Location, ETag and the stored message, and the room hears it', async () => {
    const aliceHears = next(alice, 'message', (m) => m.text === 'from the API');
    const bobHears = next(bob, 'message', (m) => m.text === 'from the API');
    const carolGot = record(carol, 'message');
    const r = await post('blue', { text: 'from the API', name: 'deploy-bot' });
    expectJson(r, 201);
    expectMessage(r.json, { text: 'from the API', userId: 'api', name: 'deploy-bot', room: 'blue', via: 'api' });
    assert.strictEqual(r.headers.get('location'), `/api/rooms/blue/messages/${r.json.id}`);
    assert.strictEqual(r.headers.get('etag'), `"${r.json.id}.0"`);
    // Sockets get the same object the API stored.
    assert.deepStrictEqual((await aliceHears)[0], r.json);
    assert.deepStrictEqual((await bobHears)[0], r.json);
    // The Location answers with it, and the same ETag.
    const got = await api(server, 'GET', r.headers.get('location'));
    expectJson(got, 200);
    assert.deepStrictEqual(got.json, r.json);
    assert.strictEqual(got.headers.get('etag'), `"${r.json.id}.0"`);
    // carol is not in blue.
    await barrier(server, TOKEN, carol);
    assert.ok(!carolGot.some(([m]) => m.room === 'blue'), 'carol heard a message to blue');
    carolGot.stop();
  });

  it('POST without a name is by "api"', async () => {
    const r = await post('general', { text: 'nameless' });
    expectJson(r, 201);
    expectMessage(r.json, { text: 'nameless', userId: 'api', name: 'api', room: 'general', via: 'api' });
  });

  it('PUT changes the text, sets edited, gives a fresh ETag, and the room hears message-edit', async () => {
    const orig = (await post('blue', { text: 'before the edit' })).json;
    const target = `/api/rooms/blue/messages/${orig.id}`;
    const bobHears = next(bob, 'message-edit', (e) => e.id === orig.id);
    const carolGot = record(carol, 'message-edit');
    const r = await api(server, 'PUT', target, { token: TOKEN, body: { text: 'after the edit' } });
    expectJson(r, 200);
    expectMessage(r.json, { ...orig, text: 'after the edit', edited: true, via: 'api' });
    assert.deepStrictEqual({ ...r.json, edited: undefined }, { ...orig, text: 'after the edit', edited: undefined });
    assert.strictEqual(r.headers.get('etag'), `"${orig.id}.1"`);
    const [ev] = await bobHears;
    assert.deepStrictEqual(ev, { room: 'blue', id: orig.id, text: 'after the edit', edited: r.json.edited });

    const got = await api(server, 'GET', target);
    assert.deepStrictEqual(got.json, r.json);
    assert.strictEqual(got.headers.get('etag'), `"${orig.id}.1"`);

    const r2 = await api(server, 'PUT', target, { token: TOKEN, body: { text: 'edited twice' } });
    expectJson(r2, 200);
    assert.strictEqual(r2.headers.get('etag'), `"${orig.id}.2"`);
    assert.strictEqual(r2.json.text, 'edited twice');

    await barrier(server, TOKEN, carol);
    assert.deepStrictEqual(carolGot, [], 'carol heard an edit in blue');
    carolGot.stop();
  });

  it('DELETE answers 204 with no body, the room hears message-delete, and the message is gone', async () => {
    const m = (await post('blue', { text: 'to be deleted' })).json;
    const target = `/api/rooms/blue/messages/${m.id}`;
    const aliceHears = next(alice, 'message-delete', (e) => e.id === m.id);
    const carolGot = record(carol, 'message-delete');
    const r = await api(server, 'DELETE', target, { token: TOKEN });
    assert.strictEqual(r.status, 204, r.text);
    assert.strictEqual(r.text, '');
    assert.deepStrictEqual((await aliceHears)[0], { room: 'blue', id: m.id });
    expectError(await api(server, 'GET', target), 404);
    expectError(await api(server, 'DELETE', target, { token: TOKEN }), 404);
    const room = await api(server, 'GET', '/api/rooms/blue');
    assert.ok(!room.json.messages.some((x) => x.id === m.id), 'still in the history');
    await barrier(server, TOKEN, carol);
    assert.deepStrictEqual(carolGot, [], 'carol heard a delete in blue');
    carolGot.stop();
  });

  it('POST /api/emit sends any event with its args to a room, 202 {"ok":true}', async () => {
    const args = [1, 'two', { three: [3] }, null];
    const aliceHears = next(alice, 'deploy-finished');
    const bobHears = next(bob, 'deploy-finished');
    const carolGot = record(carol, 'deploy-finished');
    const r = await api(server, 'POST', '/api/emit', { token: TOKEN, body: { room: 'blue', event: 'deploy-finished', args } });
    expectJson(r, 202);
    assert.deepStrictEqual(r.json, { ok: true });
    assert.deepStrictEqual(await aliceHears, args);
    assert.deepStrictEqual(await bobHears, args);
    await barrier(server, TOKEN, carol);
    assert.deepStrictEqual(carolGot, [], 'carol heard an event emitted to blue');
    carolGot.stop();
  });

  it('POST /api/emit without a room reaches everyone in /', async () => {
    const heard = [alice, bob, carol].map((s) => next(s, 'announcement'));
    const r = await api(server, 'POST', '/api/emit', { token: TOKEN, body: { event: 'announcement', args: ['hello, everyone'] } });
    expectJson(r, 202);
    assert.deepStrictEqual(r.json, { ok: true });
    for (const got of await Promise.all(heard)) assert.deepStrictEqual(got, ['hello, everyone']);
  });

  it('POST /api/emit: event names of 1 to 64 bytes, none of Socket.IO\'s reserved ones, args an array; else 400', async () => {
    const emit = (body) => api(server, 'POST', '/api/emit', { token: TOKEN, body });
    const e64 = 'e'.repeat(64);
    const hears = next(carol, e64);
    expectJson(await emit({ event: e64, args: [] }), 202);
    assert.deepStrictEqual(await hears, []);
    expectError(await emit({ event: 'e'.repeat(65), args: [] }), 400);
    expectError(await emit({ event: '', args: [] }), 400);
    for (const reserved of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      expectError(await emit({ event: reserved, args: [] }), 400);
    }
    expectError(await emit({ args: [] }), 400);
    expectError(await emit({ event: 7, args: [] }), 400);
    expectError(await emit({ event: 'x', args: 'not an array' }), 400);
    expectError(await emit({ event: 'x', args: { 0: 1 } }), 400);
  });

  it('writes without the right Bearer token get 401 with WWW-Authenticate: Bearer, and change nothing', async () => {
    const m = (await post('blue', { text: 'guarded' })).json;
    const target = `/api/rooms/blue/messages/${m.id}`;
    const before = await api(server, 'GET', '/api/rooms/blue');
    const bad = [
      {},                                              // no Authorization at all
      { Authorization: 'Bearer wrong-token' },
      { Authorization: `Bearer ${TOKEN.slice(0, -1)}` }, // a prefix of it
      { Authorization: `Bearer ${TOKEN}x` },             // longer
      { Authorization: 'Bearer ' },
      { Authorization: `Basic ${Buffer.from(`api:${TOKEN}`).toString('base64')}` },
      { Authorization: TOKEN },
    ];
    const heard = record(bob, 'message');
    const edits = record(bob, 'message-edit');
    const deletes = record(bob, 'message-delete');
    const emits = record(bob, 'sneaky');
    for (const headers of bad) {
      const what = JSON.stringify(headers);
      for (const [method, t, body] of [
        ['POST', '/api/rooms/blue/messages', { text: 'sneaky' }],
        ['PUT', target, { text: 'sneaky' }],
        ['DELETE', target, undefined],
        ['POST', '/api/emit', { room: 'blue', event: 'sneaky', args: [] }],
      ]) {
        const r = await api(server, method, t, { headers, body });
        expectError(r, 401);
        assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/, `${method} ${t} ${what}`);
      }
    }
    // Reads need no token.
    const after = await api(server, 'GET', '/api/rooms/blue');
    expectJson(after, 200);
    assert.deepStrictEqual(after.json.messages, before.json.messages);
    const one = await api(server, 'GET', target);
    assert.deepStrictEqual(one.json, m);
    assert.strictEqual(one.headers.get('etag'), `"${m.id}.0"`);
    await barrier(server, TOKEN, bob);
    assert.ok(!heard.some(([x]) => x.text === 'sneaky'));
    assert.deepStrictEqual([edits, deletes, emits], [[], [], []]);
    for (const r of [heard, edits, deletes, emits]) r.stop();
  });

  it('If-Match: the current tag or * lets a PUT or DELETE through; a stale one gets 412 and changes nothing', async () => {
    const m = (await post('blue', { text: 'v0' })).json;
    const target = `/api/rooms/blue/messages/${m.id}`;
    const put = (text, tag) => api(server, 'PUT', target, { token: TOKEN, body: { text }, headers: { 'If-Match': tag } });

    const r1 = await put('v1', `"${m.id}.0"`);
    expectJson(r1, 200);
    assert.strictEqual(r1.headers.get('etag'), `"${m.id}.1"`);

    // The other editor still holds .0: refused.
    const stale = await put('v1 from the other editor', `"${m.id}.0"`);
    expectError(stale, 412);
    let now = await api(server, 'GET', target);
    assert.deepStrictEqual(now.json, r1.json);
    assert.strictEqual(now.headers.get('etag'), `"${m.id}.1"`);

    // Another message's tag does not match either.
    expectError(await put('wrong message', `"${m.id + 1000}.1"`), 412);

    const r2 = await put('v2', '*');
    expectJson(r2, 200);
    assert.strictEqual(r2.json.text, 'v2');
    assert.strictEqual(r2.headers.get('etag'), `"${m.id}.2"`);

    const del = (tag) => api(server, 'DELETE', target, { token: TOKEN, headers: { 'If-Match': tag } });
    expectError(await del(`"${m.id}.1"`), 412);
    now = await api(server, 'GET', target);
    assert.deepStrictEqual(now.json, r2.json);
    assert.strictEqual((await del(`"${m.id}.2"`)).status, 204);
    expectError(await api(server, 'GET', target), 404);

    // If-Match: * on a DELETE.
    const m2 = (await post('blue', { text: 'star' })).json;
    assert.strictEqual((await api(server, 'DELETE', `/api/rooms/blue/messages/${m2.id}`,
      { token: TOKEN, headers: { 'If-Match': '*' } })).status, 204);
  });

  it('400: malformed JSON, a body that is not an object, a missing or mistyped field; nothing is posted', async () => {
    const before = (await api(server, 'GET', '/api/rooms/blue')).json.messages;
    const heard = record(bob, 'message');
    for (const body of ['{"text":', '{text: "x"}', '', 'null', '[]', '"just a string"', '42',
      '{}', '{"text":5}', '{"text":null}', '{"text":["a"]}', '{"text":"ok","name":7}', '{"text":"ok","name":null}']) {
      const r = await api(server, 'POST', '/api/rooms/blue/messages', { token: TOKEN, body });
      expectError(r, 400);
    }
    assert.deepStrictEqual((await api(server, 'GET', '/api/rooms/blue')).json.messages, before);
    await barrier(server, TOKEN, bob);
    assert.ok(!heard.some(([m]) => m.room === 'blue'), 'a refused POST was broadcast');
    heard.stop();

    const m = (await post('blue', { text: 'unchanged' })).json;
    const target = `/api/rooms/blue/messages/${m.id}`;
    for (const body of ['{"text":', '{}', '{"text":false}', '[]']) {
      expectError(await api(server, 'PUT', target, { token: TOKEN, body }), 400);
    }
    const now = await api(server, 'GET', target);
    assert.deepStrictEqual(now.json, m);
    assert.strictEqual(now.headers.get('etag'), `"${m.id}.0"`);
    expectError(await api(server, 'POST', '/api/emit', { token: TOKEN, body: '{"event":' }), 400);
  });

  it('404: an unknown room, message or path under /api/', async () => {
    expectError(await post('no-such-room', { text: 'into the void' }), 404);
    expectError(await api(server, 'GET', '/api/rooms/no-such-room/messages'), 404);
    expectError(await api(server, 'GET', '/api/rooms/blue/messages/999999'), 404);
    expectError(await api(server, 'PUT', '/api/rooms/blue/messages/999999', { token: TOKEN, body: { text: 'x' } }), 404);
    expectError(await api(server, 'DELETE', '/api/rooms/blue/messages/999999', { token: TOKEN }), 404);
    expectError(await api(server, 'GET', '/api/rooms/blue/messages/not-a-number'), 404);
    expectError(await api(server, 'GET', '/api/nothing-here'), 404);
    // A message is found in its own room only.
    const m = (await post('blue', { text: 'in blue' })).json;
    expectError(await api(server, 'GET', `/api/rooms/general/messages/${m.id}`), 404);
  });

  it('405 with Allow naming what each resource accepts', async () => {
    const m = (await post('blue', { text: 'for 405' })).json;
    const rows = [
      ['DELETE', '/api/rooms', ['GET', 'HEAD']],
      ['POST', '/api/rooms', ['GET', 'HEAD']],
      ['PUT', '/api/rooms/blue', ['GET', 'HEAD']],
      ['DELETE', '/api/rooms/blue', ['GET', 'HEAD']],
      ['PUT', '/api/rooms/blue/messages', ['GET', 'HEAD', 'POST']],
      ['DELETE', '/api/rooms/blue/messages', ['GET', 'HEAD', 'POST']],
      ['POST', `/api/rooms/blue/messages/${m.id}`, ['DELETE', 'GET', 'HEAD', 'PUT']],
      ['PATCH', `/api/rooms/blue/messages/${m.id}`, ['DELETE', 'GET', 'HEAD', 'PUT']],
      ['GET', '/api/emit', ['POST']],
      ['PUT', '/api/emit', ['POST']],
    ];
    for (const [method, target, allow] of rows) {
      const body = ['POST', 'PUT', 'PATCH'].includes(method) ? { text: 'x' } : undefined;
      const r = await api(server, method, target, { token: TOKEN, body });
      expectError(r, 405);
      // OPTIONS (the CORS preflight) may be listed too; if it is, it answers.
      const listed = allowOf(r);
      assert.deepStrictEqual(listed.filter((x) => x !== 'OPTIONS'), allow, `${method} ${target}: Allow: ${r.headers.get('allow')}`);
      if (listed.includes('OPTIONS')) {
        const o = await api(server, 'OPTIONS', target);
        assert.ok(o.status >= 200 && o.status < 300, `OPTIONS ${target} is in Allow but answers ${o.status}`);
      }
    }
    // Nothing was changed by them.
    assert.deepStrictEqual((await api(server, 'GET', `/api/rooms/blue/messages/${m.id}`)).json, m);
  });

  it('413 for a body over --max-message, refused before it is read; a body of exactly the limit is read', async () => {
    const head = { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' };
    const r = await raw(server, 'POST', '/api/rooms/blue/messages', { ...head, 'Content-Length': String(MAX_MESSAGE + 1) });
    assert.strictEqual(r.status, 413);
    assert.match(r.headers['content-type'] || '', JSON_TYPE);
    assert.strictEqual(typeof JSON.parse(r.rest.toString()).error, 'string');
    // Exactly --max-message bytes: read, parsed, and refused by the chat for its
    // text's length (422), not for its size.
    const filler = MAX_MESSAGE - '{"text":""}'.length;
    const exact = `{"text":"${'a'.repeat(filler)}"}`;
    assert.strictEqual(exact.length, MAX_MESSAGE);
    expectError(await api(server, 'POST', '/api/rooms/blue/messages', { token: TOKEN, body: exact }), 422);
    // The server is still there.
    expectJson(await api(server, 'GET', '/api/rooms'), 200);
  });

  it('415 unless the body is application/json; a charset parameter is fine', async () => {
    const body = Buffer.from(JSON.stringify({ text: 'typed' }));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', null]) {
      const r = await api(server, 'POST', '/api/rooms/blue/messages', { token: TOKEN, body, headers: { 'Content-Type': type } });
      expectError(r, 415);
    }
    const m = (await post('blue', { text: 'put target' })).json;
    expectError(await api(server, 'PUT', `/api/rooms/blue/messages/${m.id}`,
      { token: TOKEN, body, headers: { 'Content-Type': 'text/plain' } }), 415);
    expectError(await api(server, 'POST', '/api/emit',
      { token: TOKEN, body: '{"event":"x","args":[]}', headers: { 'Content-Type': 'text/plain' } }), 415);
    const ok = await api(server, 'POST', '/api/rooms/blue/messages',
      { token: TOKEN, body, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    expectJson(ok, 201);
    assert.strictEqual(ok.json.text, 'typed');
  });

  it('422 when the chat\'s rules refuse the text or the name, at their exact edges; nothing is half-applied', async () => {
    const count = async () => (await api(server, 'GET', '/api/rooms/blue')).json.messages.length;
    // The edges that pass: 2000 bytes (in two-byte characters too), newline and tab, a 32-byte name.
    for (const body of [
      { text: 'a'.repeat(2000) },
      { text: 'é'.repeat(1000) },
      { text: 'line one\n\tline two' },
      { text: 'named', name: 'n'.repeat(32) },
    ]) {
      const r = await post('blue', body);
      expectJson(r, 201);
      assert.strictEqual(r.json.text, body.text);
    }
    const n = await count();
    for (const body of [
      { text: 'a'.repeat(2001) },
      { text: 'é'.repeat(1000) + 'a' },
      { text: '' },
      { text: '   ' },
      { text: 'bell\u0007' },
      { text: 'del\u007f' },
      { text: 'nul\u0000' },
      { text: 'ok', name: 'n'.repeat(33) },
      { text: 'ok', name: '' },
      { text: 'ok', name: 'two\nlines' },
    ]) {
      expectError(await post('blue', body), 422);
    }
    assert.strictEqual(await count(), n, 'a refused POST added a message');

    const m = (await post('blue', { text: 'keep me' })).json;
    const target = `/api/rooms/blue/messages/${m.id}`;
    const edits = record(bob, 'message-edit');
    for (const text of ['a'.repeat(2001), '', 'esc\u001b[31m']) {
      expectError(await api(server, 'PUT', target, { token: TOKEN, body: { text } }), 422);
    }
    const now = await api(server, 'GET', target);
    assert.deepStrictEqual(now.json, m);
    assert.strictEqual(now.headers.get('etag'), `"${m.id}.0"`);
    await barrier(server, TOKEN, bob);
    assert.deepStrictEqual(edits, [], 'a refused PUT was broadcast');
    edits.stop();
  });

  it('HEAD answers wherever GET does: same status and headers, no body', async () => {
    const m = (await post('blue', { text: 'for HEAD' })).json;
    for (const target of ['/api/rooms', '/api/rooms/blue', '/api/rooms/blue/messages',
      '/api/rooms/blue/messages?limit=3', `/api/rooms/blue/messages/${m.id}`, '/api/rooms/no-such-room']) {
      const get = await raw(server, 'GET', target);
      const head = await raw(server, 'HEAD', target);
      assert.strictEqual(head.status, get.status, target);
      for (const h of ['content-type', 'content-length', 'etag', 'location']) {
        assert.strictEqual(head.headers[h], get.headers[h], `${target}: ${h}`);
      }
      assert.strictEqual(Number(get.headers['content-length']), get.rest.length, target);
      assert.strictEqual(head.rest.length, 0, `${target}: HEAD sent a body: ${head.rest.toString()}`);
    }
    const one = await raw(server, 'HEAD', `/api/rooms/blue/messages/${m.id}`);
    assert.strictEqual(one.status, 200);
    assert.strictEqual(one.headers.etag, `"${m.id}.0"`);
  });

  it('GET .../messages: newest last, limit 1 to 200 (default 50), before=ID for older ones', async () => {
    await ask(alice, 'join', 'paging');
    const ids = [];
    for (let i = 0; i < 60; i++) ids.push((await post('paging', { text: `p${i}` })).json.id);
    const list = async (q) => {
      const r = await api(server, 'GET', `/api/rooms/paging/messages${q}`);
      expectJson(r, 200);
      assert.ok(Array.isArray(r.json));
      return r.json.map((m) => m.id);
    };
    const kept = ids.slice(10); // the room keeps its last 50
    assert.deepStrictEqual(await list(''), kept);
    assert.deepStrictEqual(await list('?limit=50'), kept);
    assert.deepStrictEqual(await list('?limit=200'), kept);
    assert.deepStrictEqual(await list('?limit=1'), [ids[59]]);
    assert.deepStrictEqual(await list('?limit=3'), ids.slice(57));
    assert.deepStrictEqual(await list(`?before=${ids[30]}`), ids.slice(10, 30));
    assert.deepStrictEqual(await list(`?before=${ids[30]}&limit=5`), ids.slice(25, 30));
    assert.deepStrictEqual(await list(`?limit=5&before=${ids[30]}`), ids.slice(25, 30));
    assert.deepStrictEqual(await list(`?before=${ids[10]}`), []);
    assert.deepStrictEqual(await list(`?before=${ids[59] + 1000}&limit=2`), ids.slice(58));
    const full = (await api(server, 'GET', '/api/rooms/paging/messages?limit=1')).json;
    expectMessage(full[0], { id: ids[59], text: 'p59', userId: 'api', name: 'api', room: 'paging', via: 'api' });
    for (const q of ['?limit=0', '?limit=201', '?limit=-1', '?limit=abc', '?limit=', '?limit=1.5', '?limit=1e2']) {
      expectError(await api(server, 'GET', `/api/rooms/paging/messages${q}`), 400);
    }
  });

  it('sockets edit and delete their own messages through the same path, and not another\'s', async () => {
    const ack = await ask(alice, 'room-message', { room: 'blue', text: 'typo heer' });
    const id = ack.id;
    const target = `/api/rooms/blue/messages/${id}`;

    const bobHearsEdit = next(bob, 'message-edit', (e) => e.id === id);
    assert.deepStrictEqual(await ask(alice, 'edit', { room: 'blue', id, text: 'typo here' }), { ok: true });
    const [ev] = await bobHearsEdit;
    assert.deepStrictEqual(Object.keys(ev), ['room', 'id', 'text', 'edited']);
    assert.deepStrictEqual({ ...ev, edited: undefined }, { room: 'blue', id, text: 'typo here', edited: undefined });
    assert.match(ev.edited, ISO);
    const got = await api(server, 'GET', target);
    expectMessage(got.json, { id, text: 'typo here', userId: alice.id, name: 'alice', room: 'blue', edited: true });
    assert.strictEqual(got.json.edited, ev.edited);
    assert.strictEqual(got.headers.get('etag'), `"${id}.1"`);

    // bob may not touch alice's message, nor anyone the API's.
    const apiMsg = (await post('blue', { text: 'the API\'s' })).json;
    const edits = record(alice, 'message-edit');
    const deletes = record(alice, 'message-delete');
    assert.deepStrictEqual(await ask(bob, 'edit', { room: 'blue', id, text: 'bob was here' }), { error: 'not your message' });
    assert.deepStrictEqual(await ask(bob, 'delete', { room: 'blue', id }), { error: 'not your message' });
    assert.deepStrictEqual(await ask(alice, 'edit', { room: 'blue', id: apiMsg.id, text: 'mine now' }), { error: 'not your message' });
    assert.deepStrictEqual(await ask(alice, 'delete', { room: 'blue', id: apiMsg.id }), { error: 'not your message' });
    // Bad input gets an error too, and changes nothing.
    for (const bad of [{ room: 'blue', id, text: '' }, { room: 'blue', id, text: 'x'.repeat(2001) },
      { room: 'blue', id: 999999, text: 'nobody' }, { room: 'blue', text: 'no id' }, { room: 'blue', id: String(id), text: 'string id' },
      { room: 'general', id, text: 'wrong room' }]) {
      const a = await ask(alice, 'edit', bad);
      assert.strictEqual(typeof a.error, 'string', JSON.stringify(bad));
    }
    assert.strictEqual(typeof (await ask(alice, 'delete', { room: 'blue', id: 999999 })).error, 'string');
    assert.deepStrictEqual((await api(server, 'GET', target)).json, got.json);
    assert.deepStrictEqual((await api(server, 'GET', `/api/rooms/blue/messages/${apiMsg.id}`)).json, apiMsg);
    await barrier(server, TOKEN, alice);
    assert.deepStrictEqual([edits, deletes], [[], []], 'a refused edit or delete was broadcast');
    edits.stop();
    deletes.stop();

    const bobHearsDelete = next(bob, 'message-delete', (e) => e.id === id);
    assert.deepStrictEqual(await ask(alice, 'delete', { room: 'blue', id }), { ok: true });
    assert.deepStrictEqual((await bobHearsDelete)[0], { room: 'blue', id });
    expectError(await api(server, 'GET', target), 404);
  });

  it('the API may edit and delete a socket\'s message; its author hears both', async () => {
    const ack = await ask(bob, 'room-message', { room: 'blue', text: 'bob wrote this' });
    const target = `/api/rooms/blue/messages/${ack.id}`;
    const bobHears = next(bob, 'message-edit', (e) => e.id === ack.id);
    const r = await api(server, 'PUT', target, { token: TOKEN, body: { text: 'moderated' } });
    expectJson(r, 200);
    expectMessage(r.json, { id: ack.id, text: 'moderated', userId: bob.id, name: 'bob', room: 'blue', edited: true });
    assert.deepStrictEqual((await bobHears)[0], { room: 'blue', id: ack.id, text: 'moderated', edited: r.json.edited });
    const gone = next(bob, 'message-delete', (e) => e.id === ack.id);
    assert.strictEqual((await api(server, 'DELETE', target, { token: TOKEN })).status, 204);
    await gone;
  });

  it('ids are unique and increase, whichever way and wherever a message is posted', async () => {
    const ids = [];
    for (let i = 0; i < 10; i++) {
      ids.push((await post(i % 2 ? 'blue' : 'general', { text: `api ${i}` })).json.id);
      ids.push((await ask(alice, 'room-message', { room: 'blue', text: `socket ${i}` })).id);
      ids.push((await ask(carol, 'message', { text: `lobby ${i}` })).id);
    }
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], `id ${ids[i]} after ${ids[i - 1]}`);
    assert.strictEqual(new Set(ids).size, ids.length);
  });

  it('cross-origin reads follow --origin: a listed Origin gets CORS headers, a foreign one 403', async () => {
    for (const target of ['/api/rooms', '/api/rooms/blue', '/api/rooms/blue/messages']) {
      const ok = await api(server, 'GET', target, { headers: { Origin: 'http://allowed.example' } });
      expectJson(ok, 200);
      assert.strictEqual(ok.headers.get('access-control-allow-origin'), 'http://allowed.example', target);
      assert.strictEqual(ok.headers.get('access-control-allow-credentials'), 'true', target);
      assert.match(ok.headers.get('vary') || '', /\bOrigin\b/i, target);

      const same = await api(server, 'GET', target, { headers: { Origin: `http://127.0.0.1:${server.port}` } });
      expectJson(same, 200);

      const none = await api(server, 'GET', target);
      expectJson(none, 200);
      assert.strictEqual(none.headers.get('access-control-allow-origin'), null, target);

      const foreign = await api(server, 'GET', target, { headers: { Origin: 'http://evil.example' } });
      assert.strictEqual(foreign.status, 403, `${target}: ${foreign.text}`);
      assert.strictEqual(foreign.headers.get('access-control-allow-origin'), null, target);
    }
  });

  it('every error is one log line', async () => {
    const unique = `no-such-room-${Date.now()}`;
    const from = server.stderr.lines.length;
    const r = await raw(server, 'GET', `/api/rooms/${unique}`);
    assert.strictEqual(r.status, 404);
    const line = await server.stderr.wait(new RegExp(`${unique}.*\\b404\\b|\\b404\\b.*${unique}`), ms(5000), from);
    assert.ok(line);
    // A second error, on a connection of its own, is logged after it: by
    // then the first has had its chance to be logged twice.
    const unique2 = `${unique}-second`;
    await raw(server, 'GET', `/api/rooms/${unique2}`);
    await server.stderr.wait(new RegExp(unique2), ms(5000), from);
    const mentions = server.stderr.lines.slice(from).filter((l) => l.includes(unique) && !l.includes(unique2));
    assert.strictEqual(mentions.length, 1, mentions.join('\n'));
  });
});

describe('the write API with no token configured', () => {
  let server;
  before(async () => { server = await startServer([], withEnv({ WSHUB_API_TOKEN: null })); });
  after(async () => { closeSockets(); await server.stop(); });

  it('refuses every write with 403 and says how to turn it on; reads still work', async () => {
    const s = await chatUser(server, 'watcher');
    const ack = await ask(s, 'message', { text: 'a socket can still post' });
    const heard = record(s, 'message');
    for (const [method, target, body] of [
      ['POST', '/api/rooms/general/messages', { text: 'hello' }],
      ['PUT', `/api/rooms/general/messages/${ack.id}`, { text: 'changed' }],
      ['DELETE', `/api/rooms/general/messages/${ack.id}`, undefined],
      ['POST', '/api/emit', { event: 'x', args: [] }],
    ]) {
      for (const token of [undefined, 'anything']) {
        const r = await api(server, method, target, { body, token });
        expectJson(r, 403);
        assert.deepStrictEqual(r.json, { error: OFF_ERROR }, `${method} ${target}`);
      }
    }
    const msgs = await api(server, 'GET', '/api/rooms/general/messages');
    expectJson(msgs, 200);
    assert.deepStrictEqual(msgs.json.map((m) => [m.id, m.text]), [[ack.id, 'a socket can still post']]);
    assert.deepStrictEqual(heard, []);
    heard.stop();
  });
});

describe('the write API with its token in WSHUB_API_TOKEN', () => {
  const TOKEN = `env-${Math.random().toString(36).slice(2)}`;
  let server;
  before(async () => { server = await startServer([], withEnv({ WSHUB_API_TOKEN: TOKEN })); });
  after(async () => { closeSockets(); await server.stop(); });

  it('accepts that token, and the first message of a fresh server is id 1', async () => {
    const s = await chatUser(server, 'watcher');
    const heard = next(s, 'message', (m) => m.text === 'via the environment');
    const r = await api(server, 'POST', '/api/rooms/general/messages', { token: TOKEN, body: { text: 'via the environment' } });
    expectJson(r, 201);
    assert.strictEqual(r.json.id, 1);
    assert.strictEqual(r.headers.get('location'), '/api/rooms/general/messages/1');
    assert.strictEqual(r.headers.get('etag'), '"1.0"');
    assert.deepStrictEqual((await heard)[0], r.json);
  });

  it('refuses another token with 401 and WWW-Authenticate: Bearer', async () => {
    for (const token of ['wrong', TOKEN.toUpperCase(), `${TOKEN}-and-more`, TOKEN.slice(1)]) {
      const r = await api(server, 'POST', '/api/rooms/general/messages', { token, body: { text: 'no' } });
      expectError(r, 401);
      assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/);
    }
  });
});
