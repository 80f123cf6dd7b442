// faye.test.js -- the Bayeux endpoint (--faye) against faye 1.4.3's own
// Node client, and by hand over raw HTTP and raw WebSocket.
// SPDX-License-Identifier: MIT
//
// Two kinds of test. Most check faye's own behaviour (as captured from
// faye 1.4.3's server), which wshub follows: meta channels and their
// error strings, held connects, sessions, wildcards, JSONP, CORS. The
// ones named "wshub only: ..." at the end check where wshub is stricter
// than faye or adds to it: limits, the /private/ token guard, the chat
// bridge, ext stripping, the clientId check on publish, Origin checks.
//
// The reference run puts faye's own NodeAdapter in wshub's place
// (reference/faye-server.js takes wshub's flags) and skips the wshub-only
// tests; in a normal run nothing is skipped. From test/:
//   WSHUB_BIN=reference/faye-server.js FAYE_REFERENCE=1 node --test faye.test.js
//
// No sleeps: every wait is for a reply, a delivery, a frame or a close,
// each with a timeout. Where a test shows that something did NOT arrive,
// it does so with a later message that did, on the same path.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const faye = require('faye');
const { io } = require('socket.io-client');
const { startServer, RawClient, withTimeout } = require('./lib/wshub');
const {
  Log, request, replies, post, postHeld, barrier, HANDSHAKE, handshake,
  connectMessage, subscribe, publish, openPeer,
} = require('./lib/faye');

// The wshub-only tests are skipped in the reference run, and only there.
const WSHUB_ONLY = process.env.FAYE_REFERENCE === '1'
  ? { skip: 'wshub-only behaviour; this is the reference run against faye' }
  : {};

const MOUNT = ['--faye', '/faye'];
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const BAD_REQUEST = { status: 400, body: 'Bad request' };

// What a successful connect reply's advice says on a server run with
// --faye-timeout s.
const advice = (s) => ({ reconnect: 'retry', interval: 0, timeout: s * 1000 });

// ---- faye's own client -------------------------------------------------

// A faye.Client with a log of every message it sends (`out`) and receives
// (`in`, replies and deliveries alike, before the client handles them),
// both taken by client extensions, faye's public hook. The clientId
// comes from the handshake reply. transport 'websocket' leaves the client
// as it is (it moves to WebSocket after the handshake); 'long-polling'
// disables WebSocket, so every message is an HTTP POST.
class User {
  constructor(server, transport, { mount = '/faye', token } = {}) {
    this.client = new faye.Client(server.url + mount, { timeout: 10, retry: 1 });
    if (transport === 'long-polling') this.client.disable('websocket');
    this.in = new Log();
    this.out = new Log();
    this.handshakes = 0;
    const copy = (m) => JSON.parse(JSON.stringify(m));
    this.client.addExtension({
      incoming: (m, next) => {
        if (m.channel === '/meta/handshake' && m.successful) {
          this.clientId = m.clientId;
          this.handshakes++;
        }
        this.in.push(copy(m));
        next(m);
      },
      outgoing: (m, next) => {
        if (token !== undefined) m.ext = { ...m.ext, token };
        this.out.push(copy(m));
        next(m);
      },
    });
  }

  // Subscribe; resolves once the server said yes, to { sub, got } where
  // `got` logs the data of every message the subscription is called with.
  async subscribe(channel) {
    const got = new Log();
    const sub = this.client.subscribe(channel, (data) => got.push(data));
    await withTimeout(Promise.resolve(sub), 5000, `subscribe ${channel}`);
    return { sub, got };
  }

  // Publish; resolves when the server's reply says it succeeded.
  publish(channel, data) {
    return withTimeout(Promise.resolve(this.client.publish(channel, data)), 5000, `publish to ${channel}`);
  }

  // Deliveries, as they came off the wire: messages with data that are
  // not /meta replies.
  deliveries(from = 0) {
    return this.in.items.slice(from).filter((m) => m.data !== undefined && !m.channel.startsWith('/meta/'));
  }

  // Disconnect and wait for the answer. A client that is not connected
  // (a failed test, a server gone) has no public way to stop retrying,
  // so it is stopped by hand; otherwise its timers would keep the test
  // process alive.
  async end() {
    const c = this.client;
    if (c._state === c.CONNECTED) {
      await withTimeout(Promise.resolve(c.disconnect()), 3000, 'disconnect').catch(() => {});
    }
    c._state = c.DISCONNECTED;
    c._dispatcher.close();
  }
}

// Resolve to the error a faye promise (subscribe, publish) is rejected
// with, as { code, params, message }; fail if it succeeds instead.
async function refusal(thenable, what) {
  let outcome;
  try {
    await withTimeout(Promise.resolve(thenable), 5000, what);
    outcome = null;
  } catch (err) {
    if (err instanceof Error && /^timed out/.test(err.message)) throw err;
    outcome = err;
  }
  assert.ok(outcome, `${what} should have been refused`);
  return { code: outcome.code, params: outcome.params, message: outcome.message };
}

// Start a server and end every User made with it before the server stops.
async function fayeServer(t, args = MOUNT) {
  const server = await startServer(args);
  const users = [];
  server.user = (transport, opts) => {
    const u = new User(server, transport, opts);
    users.push(u);
    return u;
  };
  t.after(async () => {
    await Promise.all(users.map((u) => u.end()));
    await server.stop();
  });
  return server;
}

for (const transport of ['websocket', 'long-polling']) {
  test(`faye's Node client over ${transport}`, async (t) => {
    const server = await fayeServer(t, [...MOUNT, '--faye-timeout', '5']);
    const reader = server.user(transport);
    const writer = server.user(transport);

    await t.test(`it handshakes over HTTP, then connects over ${transport}`, async () => {
      await reader.subscribe('/hello');
      const connect = await reader.out.wait((m) => m.channel === '/meta/connect', 5000, 'a /meta/connect');
      assert.strictEqual(connect.connectionType, transport);
      assert.match(reader.clientId, /^[0-9a-z]{31}$/);
      const hs = await reader.in.wait((m) => m.channel === '/meta/handshake');
      assert.deepStrictEqual(hs.advice, advice(5));
      assert.strictEqual(hs.version, '1.0');
    });

    await t.test('/foo/* and /foo/** get what they match; the publish promise resolves', async () => {
      const one = await reader.subscribe('/foo/*');
      const all = await reader.subscribe('/foo/**');
      const from = reader.in.length;
      await writer.publish('/foo/bar', { n: 1 });
      assert.deepStrictEqual(await one.got.at(0), { n: 1 });
      assert.deepStrictEqual(await all.got.at(0), { n: 1 });
      await writer.publish('/foo/bar/baz', { n: 2 });
      assert.deepStrictEqual(await all.got.at(1), { n: 2 });
      await writer.publish('/foo/end', { n: 3 });
      assert.deepStrictEqual(await one.got.at(1), { n: 3 }, '/foo/* skips /foo/bar/baz');
      assert.deepStrictEqual(await all.got.at(2), { n: 3 });
      // Each message crossed the wire once, though two patterns match it.
      assert.deepStrictEqual(reader.deliveries(from).map((m) => m.channel), ['/foo/bar', '/foo/bar/baz', '/foo/end']);
    });

    await t.test('after sub.cancel() the server delivers no more on that channel', async () => {
      const a = await reader.subscribe('/u/a');
      const b = await reader.subscribe('/u/b');
      const mark = reader.in.length;
      a.sub.cancel();
      await reader.in.wait((m) => m.channel === '/meta/unsubscribe' && m.successful === true, 5000, 'the unsubscribe reply', mark);
      const from = reader.in.length;
      await writer.publish('/u/a', { gone: true });
      await writer.publish('/u/b', { marker: true });
      assert.deepStrictEqual(await b.got.at(0), { marker: true });
      // The /u/a publish came first; had it been delivered, it would be here.
      assert.deepStrictEqual(reader.deliveries(from).map((m) => m.channel), ['/u/b']);
      assert.strictEqual(a.got.length, 0);
    });

    await t.test('subscribing to /meta/foo or /service/x is refused: 403 Forbidden channel', async () => {
      for (const channel of ['/meta/foo', '/service/x']) {
        assert.deepStrictEqual(await refusal(reader.client.subscribe(channel, () => {}), `subscribe ${channel}`),
          { code: 403, params: [channel], message: 'Forbidden channel' });
      }
      assert.deepStrictEqual(await refusal(reader.client.subscribe('/a/**/b', () => {}), 'subscribe /a/**/b'),
        { code: 405, params: ['/a/**/b'], message: 'Invalid channel' });
      assert.deepStrictEqual(await refusal(writer.client.publish('/meta/foo', {}), 'publish to /meta/foo'),
        { code: 403, params: ['/meta/foo'], message: 'Forbidden channel' });
    });

    await t.test('disconnect ends the session on the server', async () => {
      const leaver = server.user(transport);
      await leaver.subscribe('/d/x');
      const id = leaver.clientId;
      await withTimeout(Promise.resolve(leaver.client.disconnect()), 5000, 'disconnect');
      const reply = await leaver.in.wait((m) => m.channel === '/meta/disconnect');
      assert.strictEqual(reply.successful, true);
      assert.strictEqual((await subscribe(server, id, '/d/y')).error, `401:${id}:Unknown client`);
    });
  });
}

for (const transport of ['websocket', 'long-polling']) {
  test(`restart on the same port: a ${transport} client re-handshakes and re-subscribes by itself`, async () => {
    let server = await startServer(MOUNT);
    const port = server.port;
    const users = [];
    try {
      const reader = new User(server, transport);
      users.push(reader);
      const got = (await reader.subscribe('/r/x')).got;
      const firstId = reader.clientId;
      const mark = reader.in.length;
      await server.stop();
      server = await startServer([...MOUNT, '--port', String(port)]);
      // The old clientId is unknown to the new server; its advice sends the
      // client back to the handshake, and the client subscribes again.
      const refused = await reader.in.wait((m) => m.channel === '/meta/connect' && m.successful === false, 15000, 'a refused connect', mark);
      assert.strictEqual(refused.error, `401:${firstId}:Unknown client`);
      assert.deepStrictEqual(refused.advice, { reconnect: 'handshake' });
      await reader.in.wait((m) => m.channel === '/meta/subscribe' && m.successful === true && m.subscription === '/r/x',
        10000, 'the client to subscribe again', mark);
      assert.notStrictEqual(reader.clientId, firstId);
      assert.strictEqual(reader.handshakes, 2);
      const writer = new User(server, transport);
      users.push(writer);
      await writer.publish('/r/x', { after: 'restart' });
      assert.deepStrictEqual(await got.at(0), { after: 'restart' });
    } finally {
      await Promise.all(users.map((u) => u.end()));
      await server.stop();
    }
  });
}

// ---- raw HTTP: the endpoint's surface ------------------------------------

test('the HTTP surface, by hand', async (t) => {
  const server = await startServer([...MOUNT, '--origin', 'http://example.test']);
  t.after(() => server.stop());
  const port = server.port;
  const hs = encodeURIComponent(JSON.stringify([{ ...HANDSHAKE, id: '1' }]));

  await t.test('requests faye cannot read get 400 Bad request', async () => {
    const json = { 'Content-Type': 'application/json' };
    const rows = [
      ['malformed JSON', 'POST', '/faye', '[{"channel":', json],
      ['a JSON string', 'POST', '/faye', '"str"', json],
      ['a JSON number', 'POST', '/faye', '42', json],
      ['a form body without message', 'POST', '/faye', 'foo=bar', { 'Content-Type': 'application/x-www-form-urlencoded' }],
      ['GET without message', 'GET', '/faye', undefined, {}],
      ['GET with bad JSON', 'GET', '/faye?message=%7B', undefined, {}],
      ['a bad JSONP callback', 'GET', `/faye?message=${hs}&jsonp=alert(1)`, undefined, {}],
      ['a JSONP callback with a dash', 'GET', `/faye?message=${hs}&jsonp=a-b`, undefined, {}],
      ['another method', 'PUT', '/faye', '[]', json],
    ];
    for (const [what, method, target, body, headers] of rows) {
      const res = await request(port, method, target, { body, headers });
      assert.deepStrictEqual({ status: res.status, body: res.body }, BAD_REQUEST, what);
      assert.match(res.headers['content-type'], /^text\/plain/, what);
    }
  });

  await t.test('[] gets 200 []', async () => {
    assert.deepStrictEqual(await post(server, []), []);
  });

  await t.test('a single message object, not in an array, is answered with an array', async () => {
    const res = await request(port, 'POST', '/faye', {
      body: JSON.stringify({ ...HANDSHAKE, id: '1' }), headers: { 'Content-Type': 'application/json' },
    });
    const [reply] = replies(res);
    assert.strictEqual(reply.successful, true);
  });

  await t.test('handshake: clientId, version, advice and connection types', async () => {
    const [reply] = await post(server, [{ ...HANDSHAKE, id: '1' }]);
    assert.strictEqual(reply.id, '1');
    assert.strictEqual(reply.channel, '/meta/handshake');
    assert.strictEqual(reply.successful, true);
    assert.strictEqual(reply.version, '1.0');
    assert.match(reply.clientId, /^[0-9a-z]{31}$/);
    assert.deepStrictEqual(reply.advice, advice(60));
    for (const type of ['long-polling', 'cross-origin-long-polling', 'callback-polling', 'websocket']) {
      assert.ok(reply.supportedConnectionTypes.includes(type), type);
    }
    const [other] = await post(server, [{ ...HANDSHAKE, id: '2' }]);
    assert.notStrictEqual(other.clientId, reply.clientId);
  });

  await t.test('handshake errors: 402 and 301, with handshake advice', async () => {
    const rows = [
      [{ channel: '/meta/handshake', version: '1.0', id: '1' }, '402:supportedConnectionTypes:Missing required parameter'],
      [{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['flash', 'xx'], id: '1' }, '301:flash,xx:Connection types not supported'],
      [{ channel: '/meta/handshake', supportedConnectionTypes: ['long-polling'], id: '1' }, '402:version:Missing required parameter'],
    ];
    for (const [message, error] of rows) {
      const [reply] = await post(server, [message]);
      assert.strictEqual(reply.successful, false, error);
      assert.strictEqual(reply.error, error);
      assert.strictEqual(reply.clientId, undefined);
      assert.deepStrictEqual(reply.advice, { reconnect: 'handshake' });
    }
  });

  await t.test('JSONP: a GET handshake is answered /**/cb([...]); as text/javascript', async () => {
    const res = await request(port, 'GET', `/faye?message=${hs}&jsonp=cb`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.strictEqual(res.headers['content-disposition'], 'attachment; filename=f.txt');
    assert.strictEqual(res.headers['cache-control'], 'no-cache, no-store');
    assert.strictEqual(res.headers['x-content-type-options'], 'nosniff');
    const m = /^\/\*\*\/cb\((.*)\);$/s.exec(res.body);
    assert.ok(m, res.body);
    const [reply] = JSON.parse(m[1]);
    assert.strictEqual(reply.successful, true);
    assert.match(reply.clientId, /^[0-9a-z]{31}$/);
    // Without jsonp= the callback is jsonpcallback; a dotted one is fine.
    assert.match((await request(port, 'GET', `/faye?message=${hs}`)).body, /^\/\*\*\/jsonpcallback\(\[.*\]\);$/s);
    assert.match((await request(port, 'GET', `/faye?message=${hs}&jsonp=a.b_%24`)).body, /^\/\*\*\/a\.b_\$\(\[.*\]\);$/s);
  });

  await t.test('a form POST from an allowed Origin is read and gets ACAO', async () => {
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded']) {
      const res = await request(port, 'POST', '/faye', {
        body: `message=${hs}`, headers: { 'Content-Type': type, Origin: 'http://example.test' },
      });
      const [reply] = replies(res, type);
      assert.strictEqual(reply.successful, true, type);
      assert.strictEqual(res.headers['access-control-allow-origin'], 'http://example.test');
      assert.strictEqual(res.headers['access-control-allow-credentials'], 'true');
    }
    // The server's own origin needs no --origin.
    const same = await request(port, 'POST', '/faye', {
      body: JSON.stringify([{ ...HANDSHAKE, id: '1' }]),
      headers: { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${port}` },
    });
    assert.strictEqual(replies(same)[0].successful, true);
  });

  await t.test('OPTIONS preflight: 200 and faye\'s CORS headers', async () => {
    const res = await request(port, 'OPTIONS', '/faye', {
      headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' },
    });
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.body, '');
    assert.strictEqual(res.headers['access-control-allow-origin'], 'http://example.test');
    assert.strictEqual(res.headers['access-control-allow-credentials'], 'true');
    assert.strictEqual(res.headers['access-control-allow-headers'], 'Accept, Authorization, Content-Type, Pragma, X-Requested-With');
    assert.strictEqual(res.headers['access-control-allow-methods'], 'POST, GET');
    assert.strictEqual(res.headers['access-control-max-age'], '86400');
  });

  await t.test('an unknown clientId: 401, handshake advice, no clientId', async () => {
    const [reply] = await post(server, [connectMessage('nosuchclient', '7')]);
    assert.deepStrictEqual(reply, {
      id: '7', channel: '/meta/connect', successful: false,
      error: '401:nosuchclient:Unknown client', advice: { reconnect: 'handshake' },
    });
    const [sub] = await post(server, [{ channel: '/meta/subscribe', clientId: 'nosuchclient', subscription: '/a', id: '8' }]);
    assert.strictEqual(sub.successful, false);
    assert.strictEqual(sub.error, '401:nosuchclient:Unknown client');
    const [bye] = await post(server, [{ channel: '/meta/disconnect', clientId: 'nosuchclient', id: '9' }]);
    assert.strictEqual(bye.error, '401:nosuchclient:Unknown client');
  });

  await t.test('bad channels: 405 Invalid channel, 403 Forbidden channel', async () => {
    const id = await handshake(server);
    const rows = [
      ['subscribe to a bad name', { channel: '/meta/subscribe', clientId: id, subscription: '/foo bar', id: '1' }, '405:/foo bar:Invalid channel'],
      ['subscribe with a wildcard inside', { channel: '/meta/subscribe', clientId: id, subscription: '/a/**/b', id: '1' }, '405:/a/**/b:Invalid channel'],
      ['subscribe with a trailing /', { channel: '/meta/subscribe', clientId: id, subscription: '/a/', id: '1' }, '405:/a/:Invalid channel'],
      ['subscribe to /meta/foo', { channel: '/meta/subscribe', clientId: id, subscription: '/meta/foo', id: '1' }, '403:/meta/foo:Forbidden channel'],
      ['publish to a wildcard', { channel: '/foo/*', data: {}, clientId: id, id: '1' }, '405:/foo/*:Invalid channel'],
      ['publish to a bad name', { channel: '/foo.bar', data: {}, clientId: id, id: '1' }, '405:/foo.bar:Invalid channel'],
      ['publish to /meta/foo', { channel: '/meta/foo', data: {}, clientId: id, id: '1' }, '403:/meta/foo:Forbidden channel'],
      ['publish without data', { channel: '/foo', clientId: id, id: '1' }, '402:data:Missing required parameter'],
    ];
    for (const [what, message, error] of rows) {
      const [reply] = await post(server, [message]);
      assert.strictEqual(reply.successful, false, what);
      assert.strictEqual(reply.error, error, what);
    }
  });

  await t.test('a partial subscribe ["/a","/meta/x","/b"] keeps /a only', async () => {
    const x = await handshake(server);
    const y = await handshake(server);
    const [reply] = await post(server, [{ channel: '/meta/subscribe', clientId: x, subscription: ['/a', '/meta/x', '/b'], id: '1' }]);
    assert.deepStrictEqual(reply, {
      id: '1', clientId: x, channel: '/meta/subscribe', successful: false,
      error: '403:/meta/x:Forbidden channel', subscription: ['/a', '/meta/x', '/b'],
    });
    assert.strictEqual((await publish(server, y, '/b', 'to b', 'pb')).successful, true);
    assert.strictEqual((await publish(server, y, '/a', 'to a', 'pa')).successful, true);
    // Both publishes are queued for x (or not); a connect that must not wait
    // collects them.
    const got = await post(server, [connectMessage(x, 'c', { advice: { timeout: 0 } })]);
    assert.deepStrictEqual(got.slice(1), [{ channel: '/a', data: 'to a', id: 'pa' }]);
  });
});

test('/service/** and /**', async (t) => {
  const server = await startServer(MOUNT);
  t.after(() => server.stop());
  const x = await handshake(server);
  const y = await handshake(server);
  assert.strictEqual((await subscribe(server, x, '/**')).successful, true);
  // faye lets anyone publish to /service/...; a /** subscriber gets it.
  assert.strictEqual((await publish(server, y, '/service/x', 'svc', 'p1')).successful, true);
  assert.strictEqual((await publish(server, y, '/deep/a/b/c', 'deep', 'p2')).successful, true);
  const got = await post(server, [connectMessage(x, 'c', { advice: { timeout: 0 } })]);
  assert.deepStrictEqual(got.slice(1), [
    { channel: '/service/x', data: 'svc', id: 'p1' },
    { channel: '/deep/a/b/c', data: 'deep', id: 'p2' },
  ]);
});

test('the browser client is served at /faye/client.js and /faye.js', async (t) => {
  const server = await startServer(MOUNT);
  t.after(() => server.stop());
  for (const target of ['/faye/client.js', '/faye.js']) {
    const res = await request(server.port, 'GET', target);
    assert.strictEqual(res.status, 200, target);
    assert.match(res.headers['content-type'], /^(text|application)\/javascript/, target);
    assert.match(res.body, /Faye/, target);
  }
});

// ---- raw HTTP: holding /meta/connect ---------------------------------------

test('a held connect', async (t) => {
  const server = await startServer([...MOUNT, '--faye-timeout', '10']);
  t.after(() => server.stop());

  await t.test('is answered by a publish, with the delivery after the connect reply', async () => {
    const x = await handshake(server);
    const y = await handshake(server);
    assert.strictEqual((await subscribe(server, x, '/h/*')).successful, true);
    const held = postHeld(server, [connectMessage(x, 'c1')]);
    await held.wrote;
    await barrier(server);
    assert.strictEqual((await publish(server, y, '/h/1', { hello: 'world' }, 'p1')).successful, true);
    const { replies: got, ms } = await withTimeout(held.answer, 5000, 'the held connect');
    assert.deepStrictEqual(got, [
      { id: 'c1', clientId: x, channel: '/meta/connect', successful: true, advice: advice(10) },
      { channel: '/h/1', data: { hello: 'world' }, id: 'p1' },
    ]);
    assert.ok(ms < 5000, `answered by the publish, not the ${10} s timeout (${ms} ms)`);
  });

  await t.test('with advice.timeout 0 is answered at once', async () => {
    const x = await handshake(server);
    const { replies: got, ms } = await withTimeout(postHeld(server, [connectMessage(x, 'c0', { advice: { timeout: 0 } })]).answer, 5000, 'connect');
    assert.deepStrictEqual(got, [{ id: 'c0', clientId: x, channel: '/meta/connect', successful: true, advice: advice(10) }]);
    assert.ok(ms < 2000, `${ms} ms`);
  });

  await t.test('in a batch: the held connect is answered last, with the others', async () => {
    const x = await handshake(server);
    const got = await post(server, [
      connectMessage(x, 'c', { advice: { timeout: 0 } }),
      { channel: '/meta/subscribe', clientId: x, subscription: '/batch', id: 's' },
    ]);
    // faye answers in completion order, so the connect comes last; clients
    // match replies by id, so only their presence is checked.
    assert.deepStrictEqual(got.map((m) => m.id).sort(), ['c', 's']);
  });
});

test('sessions: a connect held to --faye-timeout, and expiry after twice that', async (t) => {
  const server = await startServer([...MOUNT, '--faye-timeout', '1']);
  t.after(() => server.stop());

  await t.test('with nothing to deliver, a connect is answered at the timeout, alone', async () => {
    const x = await handshake(server);
    const { replies: got, ms } = await withTimeout(postHeld(server, [connectMessage(x, 'c')]).answer, 5000, 'connect');
    assert.deepStrictEqual(got, [{ id: 'c', clientId: x, channel: '/meta/connect', successful: true, advice: advice(1) }]);
    assert.ok(ms >= 900 && ms < 3000, `held ${ms} ms for a 1 s timeout`);
  });

  await t.test('a session with no connect for 2 x timeout is gone: 401 and re-handshake advice', async () => {
    const started = Date.now();
    const idle = await handshake(server);
    const clock = await handshake(server);
    assert.strictEqual((await subscribe(server, idle, '/alive')).successful, true);
    // The clock client's held connects pace the wait, one timeout each; a
    // subscribe for the idle one (not a connect, so it does not renew the
    // session) checks whether it is still there.
    let gone = null;
    for (let i = 0; i < 6 && !gone; i++) {
      const { replies: [c] } = await withTimeout(postHeld(server, [connectMessage(clock, `k${i}`)]).answer, 5000, 'the clock');
      assert.strictEqual(c.successful, true, 'a session that connects lives on');
      const probe = await subscribe(server, idle, '/probe');
      if (!probe.successful) gone = probe;
    }
    assert.ok(gone, 'the idle session expired within 6 timeouts');
    assert.strictEqual(gone.error, `401:${idle}:Unknown client`);
    assert.ok(Date.now() - started >= 1500, `expired after ${Date.now() - started} ms, not before 2 x 1 s`);
    const [reply] = await post(server, [connectMessage(idle, 'late')]);
    assert.deepStrictEqual(reply, {
      id: 'late', channel: '/meta/connect', successful: false,
      error: `401:${idle}:Unknown client`, advice: { reconnect: 'handshake' },
    });
  });

  await t.test('on a WebSocket: the held connect is answered alone at the timeout; at expiry the socket closes', async (tt) => {
    const x = await handshake(server);
    const peer = await openPeer(server);
    tt.after(() => peer.close());
    const started = Date.now();
    peer.send([{ channel: '/meta/connect', clientId: x, connectionType: 'websocket', id: 'c1' }]);
    assert.deepStrictEqual(await peer.reply('c1', 3000),
      { id: 'c1', clientId: x, channel: '/meta/connect', successful: true, advice: advice(1) });
    assert.ok(Date.now() - started >= 900, `held ${Date.now() - started} ms for a 1 s timeout`);
    // No connect follows, so the session ends at 2 x timeout, and faye
    // closes the socket bound to it, as after a disconnect.
    const { code } = await withTimeout(peer.closed, 5000, 'the socket of the expired session to close');
    assert.strictEqual(code, 1000);
    assert.ok(Date.now() - started >= 1500, `closed after ${Date.now() - started} ms`);
    assert.strictEqual((await subscribe(server, x, '/x')).error, `401:${x}:Unknown client`);
  });
});

// ---- raw WebSocket -------------------------------------------------------

test('raw WebSocket: JSON arrays, a socket bound by its connect, disconnect closes', async (t) => {
  const server = await startServer([...MOUNT, '--faye-timeout', '10']);
  t.after(() => server.stop());
  const x = await handshake(server);
  const y = await handshake(server);
  const peer = await openPeer(server);
  t.after(() => peer.close());

  await t.test('a connect on the socket binds it: deliveries come at once, the connect stays held', async () => {
    peer.send([{ channel: '/meta/connect', clientId: x, connectionType: 'websocket', id: 'c1' }]);
    peer.send([{ channel: '/meta/subscribe', clientId: x, subscription: '/w/*', id: 's1' }]);
    assert.deepStrictEqual(await peer.reply('s1'),
      { id: 's1', clientId: x, channel: '/meta/subscribe', successful: true, subscription: '/w/*' });
    assert.strictEqual((await publish(server, y, '/w/1', { n: 1 }, 'p1')).successful, true);
    assert.deepStrictEqual(await peer.messages.wait((m) => m.channel === '/w/1', 5000, 'the delivery'),
      { channel: '/w/1', data: { n: 1 }, id: 'p1' });
    assert.strictEqual(peer.messages.items.find((m) => m.id === 'c1'), undefined, 'the connect is still held');
  });

  await t.test('a publish on the socket is answered on it, and delivered', async () => {
    peer.send([{ channel: '/w/2', data: 'self', clientId: x, id: 'p2' }]);
    assert.deepStrictEqual(await peer.reply('p2'), { id: 'p2', clientId: x, channel: '/w/2', successful: true });
    assert.deepStrictEqual(await peer.messages.wait((m) => m.channel === '/w/2' && m.successful === undefined),
      { channel: '/w/2', data: 'self', id: 'p2' });
  });

  await t.test('every frame was a JSON array', () => {
    assert.deepStrictEqual(peer.notArrays, []);
    assert.ok(peer.messages.length >= 3);
  });

  await t.test('a disconnect is answered, then the server closes the socket', async () => {
    peer.send([{ channel: '/meta/disconnect', clientId: x, id: 'd1' }]);
    assert.deepStrictEqual(await peer.reply('d1'), { id: 'd1', clientId: x, channel: '/meta/disconnect', successful: true });
    const { code } = await withTimeout(peer.closed, 5000, 'the server to close the socket');
    assert.strictEqual(code, 1000);
    assert.strictEqual((await subscribe(server, x, '/w/x')).error, `401:${x}:Unknown client`);
  });
});

// ---- mounted at / ----------------------------------------------------------

test('--faye /: Bayeux on POST / and GET /?message=, a faye client on /', async (t) => {
  const server = await startServer(['--faye', '/']);
  const users = [];
  t.after(async () => {
    await Promise.all(users.map((u) => u.end()));
    await server.stop();
  });

  await t.test('POST / is Bayeux', async () => {
    const clientId = await handshake(server, '/');
    assert.match(clientId, /^[0-9a-z]{31}$/);
  });

  await t.test('GET /?message= is JSONP', async () => {
    const hs = encodeURIComponent(JSON.stringify([{ ...HANDSHAKE, id: '1' }]));
    const res = await request(server.port, 'GET', `/?message=${hs}&jsonp=cb`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.match(res.body, /^\/\*\*\/cb\(\[\{.*"successful":true.*\}\]\);$/s);
  });

  await t.test('faye clients on / (WebSocket and long-polling) talk to each other', async () => {
    const reader = new User(server, 'websocket', { mount: '/' });
    const writer = new User(server, 'long-polling', { mount: '/' });
    users.push(reader, writer);
    const { got } = await reader.subscribe('/root/*');
    await writer.publish('/root/x', { at: 'root' });
    assert.deepStrictEqual(await got.at(0), { at: 'root' });
    const connect = await reader.out.wait((m) => m.channel === '/meta/connect');
    assert.strictEqual(connect.connectionType, 'websocket');
  });
});

// ============================================================================
// wshub only. Everything below is where wshub differs from faye, on purpose:
// limits, the token guard, the chat bridge, ext stripping, the clientId
// check on publish, the answer to a second held connect, Origin checks,
// no EventSource, and the chat page beside Bayeux at /. The reference run
// skips these.
// ============================================================================

test('wshub only: the handshake advertises exactly four connection types', WSHUB_ONLY, async (t) => {
  const server = await startServer(MOUNT);
  t.after(() => server.stop());
  const [reply] = await post(server, [{ ...HANDSHAKE, id: '1' }]);
  assert.deepStrictEqual(reply.supportedConnectionTypes, ['long-polling', 'cross-origin-long-polling', 'callback-polling', 'websocket']);
  assert.deepStrictEqual(reply.advice, advice(60));
});

test('wshub only: Origin checks, no EventSource', WSHUB_ONLY, async (t) => {
  const server = await startServer([...MOUNT, '--origin', 'http://example.test']);
  t.after(() => server.stop());
  const port = server.port;
  const hs = JSON.stringify([{ ...HANDSHAKE, id: '1' }]);

  await t.test('a POST from an Origin not allowed gets 403 Forbidden origin', async () => {
    for (const [type, body] of [['application/json', hs], ['text/plain;charset=UTF-8', `message=${encodeURIComponent(hs)}`]]) {
      const res = await request(port, 'POST', '/faye', { body, headers: { 'Content-Type': type, Origin: 'http://evil.test' } });
      assert.deepStrictEqual([res.status, res.body], [403, 'Forbidden origin'], type);
      assert.match(res.headers['content-type'], /^text\/plain/);
      assert.strictEqual(res.headers['access-control-allow-origin'], undefined);
    }
  });

  await t.test('a preflight from an Origin not allowed gets 403 and no ACAO', async () => {
    const res = await request(port, 'OPTIONS', '/faye', {
      headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
    });
    assert.strictEqual(res.status, 403);
    assert.strictEqual(res.headers['access-control-allow-origin'], undefined);
  });

  await t.test('JSONP is not origin-checked', async () => {
    const res = await request(port, 'GET', `/faye?message=${encodeURIComponent(hs)}&jsonp=cb`, { headers: { Origin: 'http://evil.test' } });
    assert.strictEqual(res.status, 200);
    assert.match(res.body, /^\/\*\*\/cb\(/);
  });

  await t.test('a JSONP handshake from a page --origin does not allow is offered only what it may use', async () => {
    // faye's browser client, once it picks CORS long-polling, never falls
    // back; a page refused CORS and WebSocket is told to stay on JSONP.
    const offered = async (headers) => {
      const res = await request(port, 'GET', `/faye?message=${encodeURIComponent(hs)}&jsonp=cb`, { headers });
      const m = /^\/\*\*\/cb\((.*)\);$/s.exec(res.body);
      assert.ok(m, res.body);
      return JSON.parse(m[1])[0].supportedConnectionTypes;
    };
    const all = ['long-polling', 'cross-origin-long-polling', 'callback-polling', 'websocket'];
    assert.deepStrictEqual(await offered({ Referer: 'http://evil.test/page.html' }), ['long-polling', 'callback-polling']);
    assert.deepStrictEqual(await offered({}), ['long-polling', 'callback-polling']); // a page that hides
    assert.deepStrictEqual(await offered({ Referer: 'http://example.test/page.html' }), all); // listed
    assert.deepStrictEqual(await offered({ Referer: `http://127.0.0.1:${port}/x/y.html` }), all); // our own
  });

  await t.test('the EventSource probe GET /faye/<clientId> gets 404', async () => {
    const clientId = await handshake(server);
    const res = await request(port, 'GET', `/faye/${clientId}`, { headers: { Accept: 'text/event-stream' } });
    assert.strictEqual(res.status, 404);
  });
});

test('wshub only: a publish needs the clientId of a live session', WSHUB_ONLY, async (t) => {
  const server = await startServer([...MOUNT, '--faye-timeout', '10']);
  t.after(() => server.stop());
  const x = await handshake(server);
  const y = await handshake(server);

  await t.test('over HTTP: none is 402, an unknown one 401', async () => {
    const [none] = await post(server, [{ channel: '/p/x', data: 1, id: '1' }]);
    assert.strictEqual(none.successful, false);
    assert.strictEqual(none.error, '402:clientId:Missing required parameter');
    const [unknown] = await post(server, [{ channel: '/p/x', data: 1, clientId: 'madeup', id: '2' }]);
    assert.strictEqual(unknown.successful, false);
    assert.strictEqual(unknown.error, '401:madeup:Unknown client');
  });

  await t.test('on a WebSocket bound to x, a publish as y gets 401:y:Unknown client', async (tt) => {
    const peer = await openPeer(server);
    tt.after(() => peer.close());
    peer.send([{ channel: '/meta/connect', clientId: x, connectionType: 'websocket', id: 'c1' }]);
    peer.send([{ channel: '/meta/subscribe', clientId: x, subscription: '/p/*', id: 's1' }]);
    assert.strictEqual((await peer.reply('s1')).successful, true);
    peer.send([{ channel: '/p/y', data: 'as y', clientId: y, id: 'p1' }]);
    const reply = await peer.reply('p1');
    assert.strictEqual(reply.successful, false);
    assert.strictEqual(reply.error, `401:${y}:Unknown client`);
    // Nothing went out: x's own publish after it is the first delivery.
    peer.send([{ channel: '/p/x', data: 'as x', clientId: x, id: 'p2' }]);
    assert.strictEqual((await peer.reply('p2')).successful, true);
    const first = await peer.messages.wait((m) => m.successful === undefined && m.channel.startsWith('/p/'));
    assert.deepStrictEqual(first, { channel: '/p/x', data: 'as x', id: 'p2' });
  });
});

test('wshub only: subscribe then publish in one tick, on long-polling, hears its own message', WSHUB_ONLY, async (t) => {
  // faye's client puts the publish ahead of the subscribe in one batch;
  // wshub handles a batch's meta messages first (bayeux.c, bx_input).
  const server = await startServer(MOUNT);
  t.after(() => server.stop());
  const u = new User(server, 'long-polling');
  t.after(() => u.end());
  const heard = new Promise((resolve) => u.client.subscribe('/messages', resolve));
  u.client.publish('/messages', { text: 'Hello world' });
  assert.deepStrictEqual(await withTimeout(heard, 5000, 'the page to hear its own message'), { text: 'Hello world' });
});

test('wshub only: a second held connect answers the first at once', WSHUB_ONLY, async (t) => {
  const server = await startServer([...MOUNT, '--faye-timeout', '10']);
  t.after(() => server.stop());
  const x = await handshake(server);
  const y = await handshake(server);
  assert.strictEqual((await subscribe(server, x, '/h')).successful, true);
  const first = postHeld(server, [connectMessage(x, 'A')]);
  await first.wrote;
  await barrier(server);
  const second = postHeld(server, [connectMessage(x, 'B')]);
  const a = await withTimeout(first.answer, 3000, 'the first connect, when the second arrives');
  assert.deepStrictEqual(a.replies, [{ id: 'A', clientId: x, channel: '/meta/connect', successful: true, advice: advice(10) }]);
  // The second is the one held now: a publish answers it.
  assert.strictEqual((await publish(server, y, '/h', 'for B', 'p')).successful, true);
  const b = await withTimeout(second.answer, 3000, 'the second connect');
  assert.deepStrictEqual(b.replies, [
    { id: 'B', clientId: x, channel: '/meta/connect', successful: true, advice: advice(10) },
    { channel: '/h', data: 'for B', id: 'p' },
  ]);
});

test('wshub only: a delivered message is {channel, data, id}: ext and unknown fields are stripped', WSHUB_ONLY, async (t) => {
  const server = await fayeServer(t);
  const reader = server.user('websocket');
  const writer = server.user('websocket');
  writer.client.addExtension({
    outgoing: (m, next) => {
      if (m.channel === '/x/y') {
        m.ext = { token: 'SECRET' };
        m.extra = 'field';
      }
      next(m);
    },
  });
  await reader.subscribe('/x/**');
  await writer.publish('/x/y', { k: 1 });
  const sent = await writer.out.wait((m) => m.channel === '/x/y');
  const raw = await reader.in.wait((m) => m.channel === '/x/y', 5000, 'the delivery');
  assert.deepStrictEqual(raw, { channel: '/x/y', data: { k: 1 }, id: sent.id });
});

test('wshub only: limits', WSHUB_ONLY, async (t) => {
  const server = await startServer([...MOUNT, '--faye-max-batch', '3', '--faye-max-subs', '3', '--max-message', '1000']);
  t.after(() => server.stop());
  const port = server.port;
  const hsBatch = (n) => Array.from({ length: n }, (_, i) => ({ ...HANDSHAKE, id: `b${i}` }));

  await t.test('--faye-max-subs 3: three subscriptions, the fourth refused', async () => {
    const x = await handshake(server);
    const three = await subscribe(server, x, ['/s/1', '/s/2', '/s/3']);
    assert.strictEqual(three.successful, true, JSON.stringify(three));
    const fourth = await subscribe(server, x, '/s/4');
    assert.strictEqual(fourth.successful, false);
    assert.strictEqual(fourth.error, '403:/s/4:Too many subscriptions');
    // One fewer makes room again.
    assert.strictEqual((await subscribe(server, x, '/s/1', 'u', '/meta/unsubscribe')).successful, true);
    assert.strictEqual((await subscribe(server, x, '/s/4')).successful, true);
  });

  await t.test('--faye-max-batch 3 over HTTP: three messages are answered, four get 413', async () => {
    assert.strictEqual((await post(server, hsBatch(3))).length, 3);
    const res = await request(port, 'POST', '/faye', { body: JSON.stringify(hsBatch(4)), headers: { 'Content-Type': 'application/json' } });
    assert.deepStrictEqual([res.status, res.body], [413, 'Too many messages']);
    // The same limit for a JSONP GET.
    const get = await request(port, 'GET', `/faye?message=${encodeURIComponent(JSON.stringify(hsBatch(4)))}`);
    assert.strictEqual(get.status, 413);
  });

  await t.test('--max-message 1000: a body of 1000 bytes is read, 1001 gets 413', async () => {
    const base = JSON.stringify([{ ...HANDSHAKE, id: '' }]);
    const body = JSON.stringify([{ ...HANDSHAKE, id: 'x'.repeat(1000 - base.length) }]);
    assert.strictEqual(Buffer.byteLength(body), 1000);
    const ok = await request(port, 'POST', '/faye', { body, headers: { 'Content-Type': 'application/json' } });
    assert.strictEqual(replies(ok)[0].successful, true);
    // Over it: answered from the headers, before the body is read.
    const c = new RawClient(port);
    await c.connected;
    c.write(`POST /faye HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1001\r\n\r\n[`);
    const res = await c.response();
    assert.strictEqual(res.status, 413);
    c.destroy();
  });

  await t.test('--faye-max-batch 3 on a WebSocket: three in a frame are answered, four close 1008', async () => {
    const x = await handshake(server);
    const peer = await openPeer(server);
    peer.send([{ channel: '/meta/connect', clientId: x, connectionType: 'websocket', id: 'c' }]);
    const publishes = (n) => Array.from({ length: n }, (_, i) => ({ channel: '/batch', data: i, clientId: x, id: `b${i}` }));
    peer.send(publishes(3));
    for (let i = 0; i < 3; i++) assert.strictEqual((await peer.reply(`b${i}`)).successful, true);
    peer.send(publishes(4));
    const { code } = await withTimeout(peer.closed, 5000, 'the close');
    assert.strictEqual(code, 1008);
  });

  await t.test('--max-message 1000 on a WebSocket: a bigger message closes 1009', async () => {
    const x = await handshake(server);
    const peer = await openPeer(server);
    peer.send([{ channel: '/big', data: 'x'.repeat(1000), clientId: x, id: 'big' }]);
    const { code } = await withTimeout(peer.closed, 5000, 'the close');
    assert.strictEqual(code, 1009);
  });
});

test('wshub only: --faye-max-clients 2', WSHUB_ONLY, async (t) => {
  const server = await startServer([...MOUNT, '--faye-max-clients', '2']);
  t.after(() => server.stop());
  const a = await handshake(server);
  await handshake(server);
  const [third] = await post(server, [{ ...HANDSHAKE, id: '3' }]);
  assert.deepStrictEqual({ successful: third.successful, error: third.error, advice: third.advice, clientId: third.clientId }, {
    successful: false, error: '503::Too many clients', advice: { reconnect: 'handshake', interval: 5000 }, clientId: undefined,
  });
  // A session that ends makes room.
  const [bye] = await post(server, [{ channel: '/meta/disconnect', clientId: a, id: 'd' }]);
  assert.strictEqual(bye.successful, true);
  await handshake(server);
});

test('wshub only: /private/** needs ext.token (--faye-token-file)', WSHUB_ONLY, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-faye-'));
  const file = path.join(dir, 'token');
  fs.writeFileSync(file, 's3cret-token\n');
  t.after(() => fs.rmSync(dir, { recursive: true }));
  const server = await fayeServer(t, [...MOUNT, '--faye-token-file', file]);
  const anon = server.user('websocket');
  const wrong = server.user('long-polling', { token: 'nope' });
  const insider = server.user('websocket', { token: 's3cret-token' });
  const poster = server.user('long-polling', { token: 's3cret-token' });
  const refused = (channel) => ({ code: 403, params: [channel], message: 'Authentication required' });

  await t.test('without the token: subscribing to /private/x, /private/*, /private/** or /** is refused', async () => {
    for (const channel of ['/private/x', '/private/*', '/private/**', '/**']) {
      assert.deepStrictEqual(await refusal(anon.client.subscribe(channel, () => {}), `subscribe ${channel}`), refused(channel));
    }
  });

  await t.test('without the token: publishing on /private/x is refused', async () => {
    assert.deepStrictEqual(await refusal(anon.client.publish('/private/x', { k: 1 }), 'publish /private/x'), refused('/private/x'));
  });

  await t.test('/* and channels outside /private/ need no token', async () => {
    const { got } = await anon.subscribe('/*');
    await anon.subscribe('/public/**');
    await anon.publish('/open', { k: 2 });
    assert.deepStrictEqual(await got.at(0), { k: 2 });
  });

  await t.test('a wrong token is refused like none', async () => {
    assert.deepStrictEqual(await refusal(wrong.client.subscribe('/private/x', () => {}), 'subscribe /private/x'), refused('/private/x'));
    assert.deepStrictEqual(await refusal(wrong.client.publish('/private/x', {}), 'publish /private/x'), refused('/private/x'));
  });

  await t.test('with ext.token added by a client extension, both work', async () => {
    const { got } = await insider.subscribe('/private/x');
    await poster.publish('/private/x', { secret: true });
    assert.deepStrictEqual(await got.at(0), { secret: true });
  });

  await t.test('the raw refusal reads 403:<channel>:Authentication required', async () => {
    const x = await handshake(server);
    const reply = await subscribe(server, x, '/private/**');
    assert.strictEqual(reply.successful, false);
    assert.strictEqual(reply.error, '403:/private/**:Authentication required');
  });
});

// The chat bridge: the default --app chat, seen from Socket.IO and faye.

async function sioConnect(server) {
  const socket = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), 5000, 'Socket.IO connect');
  return socket;
}

test('wshub only: the chat bridge between Socket.IO and /chat/<room>', WSHUB_ONLY, async (t) => {
  const server = await fayeServer(t);
  const reader = server.user('websocket');
  const writer = server.user('long-polling');
  const { got: room } = await reader.subscribe('/chat/general');
  const ada = await sioConnect(server);
  t.after(() => ada.disconnect());
  const adaGot = new Log();
  ada.on('message', (m) => adaGot.push(m));
  assert.deepStrictEqual(await ada.timeout(2000).emitWithAck('nick', 'ada'), { name: 'ada' });

  await t.test('a Socket.IO message reaches /chat/general subscribers, exactly as Socket.IO sees it', async () => {
    const mark = reader.in.length;
    const ack = await ada.timeout(2000).emitWithAck('message', { text: 'hello faye' });
    const seen = await adaGot.at(0);
    assert.deepStrictEqual(seen, { id: ack.id, text: 'hello faye', userId: ada.id, name: 'ada', room: 'general', timestamp: ack.timestamp });
    assert.deepStrictEqual(await room.at(0), seen);
    const raw = await reader.in.wait((m) => m.channel === '/chat/general', 5000, 'the raw delivery', mark);
    assert.deepStrictEqual(Object.keys(raw).sort(), ['channel', 'data', 'id']);
  });

  await t.test('a faye publish {text, name} reaches Socket.IO users as a message, via: faye', async () => {
    await writer.publish('/chat/general', { text: 'hi from faye', name: 'fayer' });
    const m = await adaGot.at(1);
    assert.strictEqual(typeof m.id, 'number');
    assert.match(m.timestamp, ISO);
    assert.deepStrictEqual(m, {
      id: m.id, text: 'hi from faye', userId: `faye:${writer.clientId}`, name: 'fayer',
      room: 'general', timestamp: m.timestamp, via: 'faye',
    });
    // Bayeux subscribers get the chat's message, not the raw publish.
    assert.deepStrictEqual(await room.at(1), m);
  });

  await t.test('the name defaults to "faye"', async () => {
    await writer.publish('/chat/general', { text: 'nameless' });
    const m = await adaGot.at(2);
    assert.strictEqual(m.text, 'nameless');
    assert.strictEqual(m.name, 'faye');
  });

  await t.test('a bad publish rejects the promise and reaches nobody', async () => {
    const empty = await refusal(writer.client.publish('/chat/general', { text: '' }), 'publish an empty text');
    assert.strictEqual(empty.code, 400);
    assert.deepStrictEqual(empty.params, ['/chat/general']);
    assert.ok(empty.message.length > 0);
    const ctl = await refusal(writer.client.publish('/chat/general', { text: 'bell\u0007' }), 'publish a control character');
    assert.strictEqual(ctl.code, 400);
    assert.deepStrictEqual(await refusal(writer.client.publish('/chat/nosuch', { text: 'anyone?' }), 'publish to a room that does not exist'),
      { code: 404, params: ['/chat/nosuch'], message: 'No such room' });
    // The next message anyone sees is the good one sent after them.
    await writer.publish('/chat/general', { text: 'after the bad ones' });
    assert.strictEqual((await adaGot.at(3)).text, 'after the bad ones');
    assert.strictEqual((await room.at(3)).text, 'after the bad ones');
  });
});

test('wshub only: --faye / still serves the chat page on GET /', WSHUB_ONLY, async (t) => {
  const server = await startServer(['--faye', '/']);
  t.after(() => server.stop());
  const res = await request(server.port, 'GET', '/');
  assert.strictEqual(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/html/);
  assert.match(res.body, /<title>wshub chat<\/title>/);
  const script = await request(server.port, 'GET', '/client.js');
  assert.strictEqual(script.status, 200);
  assert.match(script.body, /Faye/);
});
