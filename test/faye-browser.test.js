// faye-browser.test.js -- Chromium (through playwright-core) against wshub's
// Bayeux endpoint: faye's own browser bundle on the same origin (WebSocket)
// and on another one (a JSONP handshake, then WebSocket or CORS
// long-polling), the lesson's example page at --faye /, the chat bridge
// between a Bayeux page and the Socket.IO chat, and wshub's own client
// (/faye/client.js): wildcards, refusals, long-polling, a server restart.
// SPDX-License-Identifier: MIT
//
// faye's bundle is client/faye-browser-min.js from the faye 1.4.3 npm
// package, copied with the test pages into a temporary --root. Skipped,
// with a message saying so, when /usr/bin/chromium is missing.
//
// Development only: WSHUB_FAYE_REF=/path/to/reference.js runs the tests
// that need no chat against a reference server (faye's own NodeAdapter)
// that takes the same flags and prints "... listening on http://H:P"; the
// chat bridge test is then skipped. A normal run never skips it.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { startServer, Lines, withTimeout, REPO } = require('./lib/wshub');
const { chromiumSkip, launch: launchChromium, page } = require('./lib/browser');

const skip = chromiumSkip('faye browser tests');
const REF = process.env.WSHUB_FAYE_REF;
const skipChat = skip || (REF && 'the chat bridge needs wshub, not the reference server');
const BUNDLE = path.join(__dirname, 'node_modules', 'faye', 'client', 'faye-browser-min.js');
const WAIT = { timeout: 10000 };

// ---- servers, pages, browsers ------------------------------------------------

// wshub with these flags (or, under WSHUB_FAYE_REF, the reference server).
async function start(args) {
  if (!REF) return startServer(args);
  const proc = spawn(process.execPath, [REF, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out = new Lines(proc.stdout);
  const m = /listening on http:\/\/(.+):(\d+)$/.exec(await out.wait(/listening on/, 10000));
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  return {
    port: Number(m[2]),
    url: `http://127.0.0.1:${m[2]}`,
    stop: () => { proc.kill('SIGTERM'); return withTimeout(exited, 10000, 'the reference to exit'); },
  };
}

// A temporary --root holding faye's bundle, the test pages below, and
// (with chat) wshub's own www/ files, so that / is still the chat.
function makeRoot(t, { chat = false } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-faye-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  if (chat) fs.cpSync(path.join(REPO, 'www'), root, { recursive: true });
  fs.copyFileSync(BUNDLE, path.join(root, 'faye-browser-min.js'));
  for (const [name, text] of Object.entries(PAGES)) fs.writeFileSync(path.join(root, name), text);
  // Chromium asks every origin for /favicon.ico; a 404 would be logged.
  fs.writeFileSync(path.join(root, 'favicon.ico'), '');
  return root;
}

// A page's own origin, for the cross-origin cases: a plain Node server
// that serves the same folder on another port.
async function otherOrigin(t, root) {
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url, 'http://x').pathname);
    const file = path.join(root, name);
    if (!name || !fs.existsSync(file)) { res.writeHead(name === 'favicon.ico' ? 204 : 404); res.end(); return; }
    res.writeHead(200, { 'Content-Type': name.endsWith('.js') ? 'text/javascript' : 'text/html; charset=utf-8' });
    res.end(fs.readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${server.address().port}`;
}

// A browser closed when test t ends.
async function launch(t) {
  const browser = await launchChromium();
  t.after(() => browser.close());
  return browser;
}

// Every Bayeux HTTP request the page makes to `endpoint`, and the text
// frames of its WebSockets, in order; and every message the server sends
// back (in replies or frames), with reply(test, what) to wait for one.
function watch(p, endpoint) {
  const seen = { requests: [], sent: [], received: [], incoming: [], waiters: [] };
  const take = (text) => {
    const jsonp = /^\/\*\*\/[\w$.]+\(([\s\S]*)\);?$/.exec(text);
    let messages;
    try { messages = [].concat(JSON.parse(jsonp ? jsonp[1] : text)); } catch (e) { return; }
    seen.incoming.push(...messages);
    seen.waiters = seen.waiters.filter((w) => !w());
  };
  seen.reply = (test, what) => withTimeout(new Promise((resolve) => {
    const check = () => { const m = seen.incoming.find(test); if (m) resolve(m); return m !== undefined; };
    if (!check()) seen.waiters.push(check);
  }), 10000, what);
  p.on('response', async (res) => {
    const u = new URL(res.url());
    if (u.origin + u.pathname === endpoint) take(await res.text().catch(() => ''));
  });
  p.on('request', async (r) => {
    const u = new URL(r.url());
    if (u.origin + u.pathname !== endpoint) return;
    const entry = { method: r.method(), query: u.searchParams, body: r.postData() || '', headers: null, acao: null };
    seen.requests.push(entry);
    // done: once its headers and its reply's are known (a held connect's
    // reply may take a while: wait only on those whose reply matters).
    entry.done = (async () => {
      entry.headers = await r.allHeaders().catch(() => ({}));
      const res = await r.response().catch(() => null);
      if (res) entry.acao = (await res.allHeaders())['access-control-allow-origin'];
    })();
  });
  p.on('websocket', (ws) => {
    ws.on('framesent', (f) => seen.sent.push(String(f.payload)));
    ws.on('framereceived', (f) => { seen.received.push(String(f.payload)); take(String(f.payload)); });
  });
  return seen;
}

// The Bayeux messages in a request: JSON body, form body, or JSONP query.
function messagesOf(r) {
  if (r.method === 'GET') return JSON.parse(r.query.get('message'));
  const text = r.body.startsWith('message=') ? decodeURIComponent(r.body.slice(8).replace(/\+/g, ' ')) : r.body;
  return [].concat(JSON.parse(text));
}

// ---- the pages -----------------------------------------------------------------

const PAGES = {
  // faye's bundle subscribes to /demo/*, then publishes on /demo/hello.
  // ?endpoint=URL (default /faye); ?ws=0 calls client.disable('websocket').
  // An extension notes the connectionType of every /meta/connect.
  'bundle.html': `<!doctype html>
<meta charset="utf-8">
<title>faye's bundle</title>
<ul id="got"></ul>
<script src="/faye-browser-min.js"></script>
<script>
  var q = new URLSearchParams(location.search);
  var client = new Faye.Client(q.get('endpoint') || '/faye');
  if (q.get('ws') === '0') client.disable('websocket');
  window.connectTypes = [];
  client.addExtension({ outgoing: function (m, next) {
    if (m.channel === '/meta/connect') connectTypes.push(m.connectionType);
    next(m);
  } });
  client.subscribe('/demo/*', function (data) {
    var li = document.createElement('li');
    li.textContent = data.text;
    document.getElementById('got').appendChild(li);
  }).then(function () {
    return client.publish('/demo/hello', { text: 'hello from ' + location.origin });
  }).then(function () { document.body.className = 'published'; },
          function (e) { document.body.className = 'refused'; document.title = e.message; });
</script>
`,
  // The chat bridge, seen from Bayeux: wshub's own client in #general.
  'faye-chat.html': `<!doctype html>
<meta charset="utf-8">
<title>faye in the chat</title>
<ul id="got"></ul>
<script src="/faye/client.js"></script>
<script>
  var client = new Faye.Client('/faye');
  window.got = [];
  client.subscribe('/chat/general', function (m) {
    got.push(m);
    var li = document.createElement('li');
    li.className = 'msg';
    li.textContent = m.name + ': ' + m.text;
    document.getElementById('got').appendChild(li);
  }).then(function () { document.body.className = 'subscribed'; });
  window.say = function (room, text) {
    return client.publish('/chat/' + room, { text: text, name: 'Fay' }).then(function () { return 'ok'; }, function (e) { return e; });
  };
</script>
`,
  // For wshub's own client, driven from the tests.
  'blank.html': '<!doctype html>\n<meta charset="utf-8">\n<title>blank</title>\n',
};

// The lesson's example, unchanged but for the port, with wshub's client
// (at mount /) or with faye's bundle.
function lessonPage(port, script) {
  return `<script src="${script}"></script>
<script>
var client = new Faye.Client('http://localhost:${port}/');
client.subscribe('/messages', function(message) { alert('Got a message: ' + message.text); });
client.publish('/messages', {text: 'Hello world'});
</script>
`;
}

// ---- faye's bundle: the three ways a browser gets in ----------------------------

// faye's bundle opens its WebSocket while it handshakes, and sends over
// the handshake's transport until the socket is open, so the first connect
// (and even the first publish) may go over HTTP. Wait until its connects
// name the WebSocket, then publish again: that message and its delivery
// must travel in WebSocket frames, and in no HTTP request.
async function endsOnWebSocket(p, seen) {
  await p.waitForFunction(() => connectTypes[connectTypes.length - 1] === 'websocket', null, { timeout: 15000 })
    .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await p.evaluate(() => connectTypes))}`); });
  await p.evaluate(() => client.publish('/demo/again', { text: 'again, over WebSocket' }));
  await p.locator('#got li', { hasText: 'again, over WebSocket' }).waitFor(WAIT);
  assert.ok(seen.sent.some((f) => f.includes('"channel":"/demo/again"')), JSON.stringify(seen.sent));
  assert.ok(seen.received.some((f) => f.includes('"data":{"text":"again, over WebSocket"}')), JSON.stringify(seen.received));
  assert.ok(!seen.requests.some((r) => messagesOf(r).some((m) => m.channel === '/demo/again')), 'the publish went over HTTP');
}

test("faye's bundle on the same origin: XHR handshake, then subscribe and publish over WebSocket", { skip }, async (t) => {
  const root = makeRoot(t);
  // A 5 s hold: a connect held over HTTP before the switch ends soon.
  const server = await start(['--root', root, '--faye', '/faye', '--faye-timeout', '5']);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await page(browser, errors);
  const seen = watch(p, server.url + '/faye');

  await p.goto(server.url + '/bundle.html');
  await p.locator('#got li', { hasText: `hello from ${server.url}` }).waitFor(WAIT);
  await p.waitForSelector('body.published', { state: 'attached', ...WAIT });

  // spec §2: the handshake is an XHR POST of JSON; it never goes over WebSocket.
  const hs = seen.requests[0];
  assert.strictEqual(hs.method, 'POST');
  assert.match(hs.headers['content-type'], /^application\/json/);
  assert.strictEqual(messagesOf(hs)[0].channel, '/meta/handshake');
  await endsOnWebSocket(p, seen);
  assert.deepStrictEqual(errors, []);
});

test("faye's bundle on another origin: a JSONP handshake, then WebSocket", { skip }, async (t) => {
  const root = makeRoot(t);
  const origin = await otherOrigin(t, root);
  const server = await start(['--root', root, '--faye', '/faye', '--origin', origin, '--faye-timeout', '5']);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await page(browser, errors);
  const endpoint = server.url + '/faye';
  const seen = watch(p, endpoint);

  await p.goto(`${origin}/bundle.html?endpoint=${encodeURIComponent(endpoint)}`);
  await p.locator('#got li', { hasText: `hello from ${origin}` }).waitFor(WAIT);
  await p.waitForSelector('body.published', { state: 'attached', ...WAIT });

  // spec §2.3: cross-origin-long-polling is not a handshake type, so the
  // bundle handshakes with a callback-polling GET.
  const hs = seen.requests[0];
  assert.strictEqual(hs.method, 'GET');
  assert.match(hs.query.get('jsonp') || '', /^__jsonp\d+__$/);
  assert.strictEqual(messagesOf(hs)[0].channel, '/meta/handshake');
  await endsOnWebSocket(p, seen);
  assert.deepStrictEqual(errors, []);
});

test("faye's bundle on another origin without WebSocket: CORS long-polling, form POSTs with Origin", { skip }, async (t) => {
  const root = makeRoot(t);
  const origin = await otherOrigin(t, root);
  const server = await start(['--root', root, '--faye', '/faye', '--origin', origin]);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await page(browser, errors);
  const endpoint = server.url + '/faye';
  const seen = watch(p, endpoint);

  await p.goto(`${origin}/bundle.html?ws=0&endpoint=${encodeURIComponent(endpoint)}`);
  await p.locator('#got li', { hasText: `hello from ${origin}` }).waitFor(WAIT);
  await p.waitForSelector('body.published', { state: 'attached', ...WAIT });

  assert.strictEqual(seen.requests[0].method, 'GET');
  assert.ok(seen.requests[0].query.has('jsonp'));
  // With the WebSocket disabled, faye's walk picks CORS at once.
  const types = await p.evaluate(() => window.connectTypes);
  assert.ok(types.length > 0 && types.every((x) => x === 'cross-origin-long-polling'), JSON.stringify(types));
  // spec §2.2: a form body "message=<JSON>", with the page's Origin, and
  // the reply allows that origin.
  const posts = seen.requests.filter((r) => r.method === 'POST');
  const publish = posts.find((r) => messagesOf(r).some((m) => m.channel === '/demo/hello'));
  assert.ok(publish, 'no POST carried the publish');
  await withTimeout(publish.done, 10000, "the publish's reply headers");
  assert.match(publish.body, /^message=/);
  assert.strictEqual(publish.headers.origin, origin);
  assert.strictEqual(publish.acao, origin);
  assert.deepStrictEqual(seen.sent, [], 'a WebSocket was used');
  assert.deepStrictEqual(errors, []);
});

// ---- the lesson's example at --faye / ------------------------------------------

test("the lesson's example page at --faye /: the alert shows; faye's bundle alerts too, for the next message", { skip }, async (t) => {
  const root = makeRoot(t);
  const server = await start(['--root', root, '--faye', '/']);
  t.after(() => server.stop());
  // wshub's client at {mount}/client.js, that is /client.js; faye's bundle from the root.
  fs.writeFileSync(path.join(root, 'lesson.html'), lessonPage(server.port, '/client.js'));
  fs.writeFileSync(path.join(root, 'lesson-faye.html'), lessonPage(server.port, '/faye-browser-min.js'));
  const endpoint = `http://localhost:${server.port}/`;
  const browser = await launch(t);

  // An alert blocks the page until it is answered, so each is answered
  // here, and the pages are not awaited to "load".
  const alerts = (p) => {
    const seen = [];
    let poke = () => {};
    p.on('dialog', (d) => { seen.push(d.message()); poke(); d.accept(); });
    return (text, what) => withTimeout(new Promise((resolve) => {
      poke = () => { if (seen.includes(text)) resolve(seen); };
      poke();
    }), 10000, what);
  };

  // wshub's client keeps the page's order: its subscribe reaches the
  // server before its publish, so the page hears its own message.
  let errors = [];
  let p = await page(browser, errors);
  let alerted = alerts(p);
  // localhost, as in the page's own endpoint: the same origin.
  await p.goto(endpoint + 'lesson.html', { waitUntil: 'commit' });
  assert.deepStrictEqual(await alerted('Got a message: Hello world', 'the alert on lesson.html'), ['Got a message: Hello world']);
  assert.deepStrictEqual(errors, []);
  await p.close();

  // faye's bundle (1.4.3) sends the publish first: /messages and then
  // /meta/subscribe, as it does against faye's own server, where "Hello
  // world" reaches nobody either. (When both go in one HTTP batch, wshub
  // handles the subscribe first and the page does hear it; on its
  // WebSocket, one message per frame, it cannot.) Its subscription works:
  // the next message on /messages, from faye's Node client, shows the alert.
  errors = [];
  p = await page(browser, errors);
  alerted = alerts(p);
  const seen = watch(p, endpoint);
  await p.goto(endpoint + 'lesson-faye.html', { waitUntil: 'commit' });
  await seen.reply((m) => m.channel === '/meta/subscribe' && m.subscription === '/messages' && m.successful === true,
    "the bundle's subscription to /messages");
  const sent = [...seen.requests.flatMap(messagesOf), ...seen.sent.flatMap((f) => JSON.parse(f))];
  const order = sent.map((m) => m.channel).filter((c) => c === '/messages' || c === '/meta/subscribe');
  assert.deepStrictEqual(order, ['/messages', '/meta/subscribe']);
  const faye = require('faye');
  const other = new faye.Client(`http://127.0.0.1:${server.port}/`);
  await other.publish('/messages', { text: 'Hello again' });
  await other.disconnect();
  const shown = await alerted('Got a message: Hello again', 'the alert on lesson-faye.html');
  assert.strictEqual(shown[shown.length - 1], 'Got a message: Hello again');
  assert.deepStrictEqual(errors, []);
});

// ---- the chat bridge -------------------------------------------------------------

// Open the chat and set a nickname (as browser.test.js does).
async function enterChat(browser, url, name, errors) {
  const p = await page(browser, errors);
  await p.goto(url + '/');
  await p.waitForSelector('#banner.connected', WAIT);
  await p.locator('#members li.me').waitFor(WAIT);
  await p.fill('#nick', name);
  await p.click('#nick-save');
  await p.locator('#members li.me', { hasText: name }).waitFor(WAIT);
  return p;
}

test('the chat bridge: a Bayeux page on /chat/general and the Socket.IO chat hear each other', { skip: skipChat }, async (t) => {
  const root = makeRoot(t, { chat: true });
  const server = await start(['--root', root, '--faye', '/faye']);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const alice = await enterChat(browser, server.url, 'Alice', errors);
  const fay = await page(browser, errors);
  await fay.goto(server.url + '/faye-chat.html');
  await fay.waitForSelector('body.subscribed', { state: 'attached', ...WAIT });

  // Socket.IO -> Bayeux: the chat's own message object, room included.
  await alice.fill('#text', 'hello from socket.io');
  await alice.click('#send');
  await fay.locator('#got li', { hasText: 'Alice: hello from socket.io' }).waitFor(WAIT);
  const fromAlice = await fay.evaluate(() => got.find((m) => m.text === 'hello from socket.io'));
  assert.deepStrictEqual(Object.keys(fromAlice).sort(), ['id', 'name', 'room', 'text', 'timestamp', 'userId']);
  assert.strictEqual(fromAlice.room, 'general');

  // Bayeux -> Socket.IO: Alice sees Fay's message with Fay's name, and the
  // Bayeux page gets it back as the chat's message, marked as from faye.
  assert.strictEqual(await fay.evaluate(() => say('general', 'hello from faye')), 'ok');
  const onAlice = alice.locator('.msg', { hasText: 'hello from faye' });
  await onAlice.waitFor(WAIT);
  assert.strictEqual(await onAlice.locator('.who').textContent(), 'Fay');
  await fay.locator('#got li', { hasText: 'Fay: hello from faye' }).waitFor(WAIT);
  const own = await fay.evaluate(() => ({ m: got.find((x) => x.text === 'hello from faye'), id: client.getClientId() }));
  assert.strictEqual(own.m.via, 'faye');
  assert.strictEqual(own.m.userId, 'faye:' + own.id);
  assert.strictEqual(own.m.room, 'general');

  // The chat's refusals come back as the publish's error.
  const missing = await fay.evaluate(() => say('nosuchroom', 'anyone?'));
  assert.deepStrictEqual(missing, { code: 404, params: ['/chat/nosuchroom'], message: 'No such room' });
  const empty = await fay.evaluate(() => say('general', ''));
  assert.strictEqual(empty.code, 400);
  assert.deepStrictEqual(empty.params, ['/chat/general']);
  assert.deepStrictEqual(errors, []);
});

// ---- wshub's own client ------------------------------------------------------------

// A blank page on the server with /faye/client.js loaded.
async function clientPage(browser, url, errors) {
  const p = await page(browser, errors);
  await p.goto(url + '/blank.html');
  await p.addScriptTag({ url: '/faye/client.js' });
  return p;
}

test("wshub's /faye/client.js: WebSocket and long-polling, wildcards, unsubscribe, the publish promise", { skip, timeout: 60000 }, async (t) => {
  const root = makeRoot(t);
  const server = await start(['--root', root, '--faye', '/faye']);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await clientPage(browser, server.url, errors);

  for (const ws of [true, false]) {
    const how = ws ? 'websocket' : 'long-polling';
    await p.evaluate((ws) => {
      window.got = [];
      window.types = new Set();
      const make = () => {
        const c = new Faye.Client('/faye');
        if (!ws) c.disable('websocket');
        c.on('wire', (dir, m, type) => { if (dir === 'out' && m.channel === '/meta/connect') types.add(type + ' ' + m.connectionType); });
        return c;
      };
      window.a = make();
      window.b = make();
      // Subscribed and published in one turn, before any handshake: the
      // subscribe still reaches the server first.
      a.subscribe('/self', (d) => got.push('self:' + d.n));
      a.publish('/self', { n: 0 });
      window.subs = ['/foo/*', '/foo/**', '/foo/bar'].map((ch) => a.subscribe(ch, (d) => got.push(ch + ' ' + d.n)));
      window.ready = Promise.all(subs).then(() => 'subscribed');
    }, ws);
    assert.strictEqual(await p.evaluate(() => ready), 'subscribed');
    const published = await p.evaluate(async () => {
      const r = [];
      for (const [ch, n] of [['/foo/bar', 1], ['/foo/bar/baz', 2], ['/foo', 3], ['/other', 4], ['/foo/x', 5]]) r.push(await b.publish(ch, { n }));
      return r;
    });
    assert.deepStrictEqual(published, [undefined, undefined, undefined, undefined, undefined]);
    await p.waitForFunction(() => got.includes('/foo/* 5') && got.includes('self:0'), null, WAIT);
    // Cancel /foo/**: the next message reaches only the other two.
    await p.evaluate(() => { subs[1].cancel(); return b.publish('/foo/bar', { n: 6 }); });
    await p.waitForFunction(() => got.includes('/foo/bar 6') && got.includes('/foo/* 6'), null, WAIT);
    const r = await p.evaluate(() => ({ got: got.slice().sort(), types: [...types], id: a.getClientId() }));
    assert.deepStrictEqual(r.got, ['/foo/* 1', '/foo/* 5', '/foo/* 6', '/foo/** 1', '/foo/** 2', '/foo/** 5',
      '/foo/bar 1', '/foo/bar 6', 'self:0'], how);
    assert.deepStrictEqual(r.types, [`${how} ${how}`], how);
    assert.match(r.id, /^[0-9a-z]{31}$/);
    assert.strictEqual(await p.evaluate(() => Promise.all([a.disconnect(), b.disconnect()]).then(() => 'gone')), 'gone');
  }
  assert.deepStrictEqual(errors, []);
});

test("wshub's /faye/client.js: refusals reject with {code, params, message}; ext.token opens /private/", { skip }, async (t) => {
  const root = makeRoot(t);
  const tokenFile = path.join(root, 'token');
  fs.writeFileSync(tokenFile, 's3cret\n');
  const server = await start(['--root', root, '--faye', '/faye', '--faye-token-file', tokenFile]);
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await clientPage(browser, server.url, errors);
  const r = await p.evaluate(async () => {
    const outcome = (x) => x.then(() => 'ok', (e) => e);
    const c = new Faye.Client('/faye');
    const withToken = new Faye.Client('/faye');
    withToken.addExtension({ outgoing(m, next) { m.ext = { token: 's3cret' }; next(m); } });
    const got = new Promise((resolve) => withToken.subscribe('/private/x', resolve));
    return {
      subscribe: await outcome(c.subscribe('/private/x', () => {})),
      everything: await outcome(c.subscribe('/**', () => {})),
      publish: await outcome(c.publish('/private/x', { a: 1 })),
      meta: await outcome(c.subscribe('/meta/foo', () => {})),
      pattern: await outcome(c.publish('/a/*', {})),
      tokenPublish: await outcome(withToken.publish('/private/x', { a: 2 })),
      delivered: await got,
    };
  });
  const auth = (ch) => ({ code: 403, params: [ch], message: 'Authentication required' });
  assert.deepStrictEqual(r.subscribe, auth('/private/x'));
  assert.deepStrictEqual(r.everything, auth('/**'));
  assert.deepStrictEqual(r.publish, auth('/private/x'));
  assert.deepStrictEqual(r.meta, { code: 403, params: ['/meta/foo'], message: 'Forbidden channel' });
  assert.deepStrictEqual(r.pattern, { code: 405, params: ['/a/*'], message: 'Invalid channel' });
  assert.strictEqual(r.tokenPublish, 'ok');
  assert.deepStrictEqual(r.delivered, { a: 2 });
  assert.deepStrictEqual(errors, []);
});

test("wshub's /faye/client.js survives a server restart: a new handshake, its subscriptions again, a publish made while down", { skip }, async (t) => {
  const root = makeRoot(t);
  let server = await start(['--root', root, '--faye', '/faye']);
  const port = server.port;
  t.after(() => server.stop());
  const browser = await launch(t);
  const errors = [];
  const p = await clientPage(browser, server.url, errors);
  const before = await p.evaluate(async () => {
    window.got = [];
    window.log = [];
    for (const ws of [true, false]) {
      const name = ws ? 'ws' : 'lp';
      const c = new Faye.Client('/faye', { retry: 1 });
      if (!ws) c.disable('websocket');
      c.on('transport:down', () => log.push(name + ' down'));
      c.on('transport:up', () => log.push(name + ' up'));
      c.on('wire', (dir, m) => { if (dir === 'out' && m.channel === '/meta/handshake') log.push(name + ' handshake'); });
      await c.subscribe('/r/*', (d) => got.push(name + ' ' + d.n));
      window[name] = c;
    }
    return [ws.getClientId(), lp.getClientId()];
  });

  await server.stop();
  await p.waitForFunction(() => log.includes('ws down') && log.includes('lp down'), null, WAIT);
  await p.evaluate(() => { window.queued = ws.publish('/r/x', { n: 'queued' }).then(() => 'ok', (e) => e); });
  server = await start(['--root', root, '--faye', '/faye', '--port', String(port)]);

  // Each client handshakes again by itself, and subscribes again.
  await p.waitForFunction(() => log.filter((l) => l === "ws handshake").length >= 2 &&
    log.filter((l) => l === "lp handshake").length >= 2, null, { timeout: 15000 }).catch(async (e) => { throw new Error(e.message + " " + JSON.stringify(await p.evaluate(() => log))); });
  assert.strictEqual(await p.evaluate(() => queued), 'ok');
  await p.waitForFunction(() => got.includes('ws queued'), null, WAIT);
  await p.evaluate(() => new Faye.Client('/faye').publish('/r/y', { n: 'after' }));
  await p.waitForFunction(() => got.includes('ws after') && got.includes('lp after'), null, WAIT);
  const after = await p.evaluate(() => [ws.getClientId(), lp.getClientId()]);
  assert.notStrictEqual(after[0], before[0]);
  assert.notStrictEqual(after[1], before[1]);

  // Chromium logs the held request the stopping server cut, and each
  // refused connection while it was down; nothing else may appear.
  const unexpected = errors.filter((e) => !/WebSocket connection to .* failed|Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE)/.test(e));
  assert.deepStrictEqual(unexpected, []);
});
