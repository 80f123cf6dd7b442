// http.test.js -- the static file server, its limits, and the process
// itself (flags, first line, --trace, EMFILE), over real sockets.
// SPDX-License-Identifier: MIT
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const WebSocket = require('ws');
const { startServer, RawClient, rawWebSocket, frame, OP, withTimeout, REPO } = require('./lib/wshub');

const BIN = path.resolve(__dirname, process.env.WSHUB_BIN || '../wshub');

// A throw-away --root with a file, a folder, and a symlink pointing out.
function makeRoot() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-root-'));
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-outside-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<h1>root</h1>\n');
  fs.writeFileSync(path.join(dir, 'style.css'), 'body{}\n');
  fs.writeFileSync(path.join(dir, 'a b.txt'), 'spaced\n');
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'index.html'), 'sub index\n');
  fs.mkdirSync(path.join(dir, 'empty'));
  fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
  fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'leak.txt'));
  fs.symlinkSync(outside, path.join(dir, 'leakdir'));
  fs.writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(3 * 1024 * 1024 + 7, 0x5a));
  return { dir, outside, cleanup: () => { fs.rmSync(dir, { recursive: true }); fs.rmSync(outside, { recursive: true }); } };
}

async function get(port, target, extra = '') {
  const c = new RawClient(port);
  await c.connected;
  c.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);
  const res = await c.response();
  c.destroy();
  return res;
}

test('static files under --root', async (t) => {
  const root = makeRoot();
  const server = await startServer(['--root', root.dir]);
  t.after(async () => { await server.stop(); root.cleanup(); });

  await t.test('/ serves index.html as text/html', async () => {
    const res = await fetch(`${server.url}/`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.strictEqual(await res.text(), '<h1>root</h1>\n');
  });

  await t.test('Content-Type follows the extension', async () => {
    const res = await fetch(`${server.url}/style.css`);
    assert.strictEqual(res.headers.get('content-type'), 'text/css; charset=utf-8');
  });

  await t.test('percent-encoded names are decoded', async () => {
    const res = await fetch(`${server.url}/a%20b.txt`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual(await res.text(), 'spaced\n');
  });

  await t.test('a directory serves its index.html', async () => {
    assert.strictEqual(await (await fetch(`${server.url}/sub/`)).text(), 'sub index\n');
  });

  await t.test('a directory without its slash is redirected with 301', async () => {
    const res = await get(server.port, '/sub?x=1');
    assert.strictEqual(res.status, 301);
    assert.strictEqual(res.headers.location, '/sub/?x=1');
  });

  await t.test('a directory with no index.html is 404, never a listing', async () => {
    assert.strictEqual((await get(server.port, '/empty/')).status, 404);
  });

  await t.test('a missing file is 404', async () => {
    assert.strictEqual((await fetch(`${server.url}/nope.html`)).status, 404);
  });

  await t.test('HEAD sends the headers and no body', async () => {
    const c = new RawClient(server.port);
    await c.connected;
    c.write('HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const head = await c.until((buf) => {
      const i = buf.indexOf('\r\n\r\n');
      return i < 0 ? undefined : buf.subarray(0, i + 4).toString();
    }, 5000, 'HEAD response');
    assert.match(head, /^HTTP\/1.1 200 OK/);
    assert.match(head, /Content-Length: 14\r\n/);
    c.buf = c.buf.subarray(head.length);
    const next = await c.response(); // the very next bytes are the next response
    assert.strictEqual(next.status, 200);
    assert.strictEqual(next.body, 'body{}\n');
    await c.closed();
  });

  await t.test('other methods get 405 with Allow', async () => {
    const res = await fetch(`${server.url}/`, { method: 'POST', body: 'x' });
    assert.strictEqual(res.status, 405);
    assert.strictEqual(res.headers.get('allow'), 'GET, HEAD');
  });

  await t.test('keep-alive: several requests on one connection, pipelined', async () => {
    const c = new RawClient(server.port);
    await c.connected;
    c.write('GET /style.css HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.strictEqual((await c.response()).status, 200);
    assert.strictEqual((await c.response()).status, 404);
    c.write('GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const last = await c.response();
    assert.strictEqual(last.status, 200);
    assert.strictEqual(last.headers.connection, 'close');
    await c.closed(); // Connection: close is honoured
  });

  await t.test('HTTP/1.0 closes after one response', async () => {
    const c = new RawClient(server.port);
    await c.connected;
    c.write('GET /style.css HTTP/1.0\r\n\r\n');
    assert.strictEqual((await c.response()).status, 200);
    await c.closed();
  });

  await t.test('a large file is streamed whole', async () => {
    const res = await fetch(`${server.url}/big.bin`);
    const body = Buffer.from(await res.arrayBuffer());
    assert.strictEqual(body.length, 3 * 1024 * 1024 + 7);
    assert.ok(body.every((b) => b === 0x5a));
  });

  for (const target of ['/../etc/passwd', '/%2e%2e/etc/passwd', '/%2e%2e%2fetc%2fpasswd', '/..%2fetc%2fpasswd', '/sub/../../etc/passwd']) {
    await t.test(`traversal ${target} is refused with 403`, async () => {
      const res = await get(server.port, target);
      assert.strictEqual(res.status, 403);
      assert.doesNotMatch(res.body, /root:/);
    });
  }

  await t.test('a symlink out of --root is refused with 403', async () => {
    assert.strictEqual((await get(server.port, '/leak.txt')).status, 403);
    assert.strictEqual((await get(server.port, '/leakdir/secret.txt')).status, 403);
  });

  await t.test('a NUL byte in the path is 400', async () => {
    assert.strictEqual((await get(server.port, '/index.html%00.txt')).status, 400);
  });
});

test('a request not finished within --request-timeout gets 408', async (t) => {
  const server = await startServer(['--request-timeout', '300']);
  t.after(() => server.stop());
  const c = new RawClient(server.port);
  await c.connected;
  c.write('GET / HTTP/1.1\r\nHost: x\r\n'); // and never the blank line
  const res = await c.response(3000);
  assert.strictEqual(res.status, 408);
  await c.closed();
  // A connection that sends nothing at all is closed quietly.
  const idle = new RawClient(server.port);
  await idle.connected;
  await idle.closed(3000);
  assert.strictEqual(idle.buf.length, 0);
});

test('--max-conns: one more connection gets 503, and a freed slot is reused', async (t) => {
  const server = await startServer(['--max-conns', '2']);
  t.after(() => server.stop());
  const a = await rawWebSocket(server.port);
  const b = new RawClient(server.port);
  await b.connected;
  await server.stderr.wait(/open$/, 5000, 1); // both accepted
  const c = new RawClient(server.port);
  await c.connected;
  const res = await c.response();
  assert.strictEqual(res.status, 503);
  await c.closed();
  a.destroy();
  await server.stderr.wait(/close \/echo 1006/);
  const d = await rawWebSocket(server.port);
  d.write(frame(OP.TEXT, 'room again'));
  assert.strictEqual((await d.frame()).payload.toString(), 'room again');
  b.destroy();
  d.destroy();
});

test('the first line names the real port; logs go to stderr', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  assert.match(server.stdout.lines[0], /^wshub listening on http:\/\/127\.0\.0\.1:\d+$/);
  assert.notStrictEqual(server.port, 0);
  const res = await fetch(`${server.url}/`);
  await res.text();
  await server.stderr.wait(/^wshub: 127\.0\.0\.1:\d+ open$/);
  await server.stderr.wait(/^wshub: 127\.0\.0\.1:\d+ close \/ 200 ok$/);
});

test('--trace shows the handshake and every frame, decoded', async (t) => {
  const server = await startServer(['--trace']);
  t.after(() => server.stop());
  const ws = new WebSocket(`${server.wsUrl}/echo`);
  await withTimeout(new Promise((r) => ws.once('open', r)), 5000, 'open');
  const echoed = new Promise((r) => ws.once('message', r));
  ws.send('Hello');
  await withTimeout(echoed, 5000, 'echo');
  const out = server.stdout;
  await out.wait(/<- GET \/echo HTTP\/1\.1$/);
  await out.wait(/<- {3}Sec-WebSocket-Key: [A-Za-z0-9+/]{22}==$/);
  await out.wait(/-> {3}Sec-WebSocket-Accept: [A-Za-z0-9+/]{27}=/);
  await out.wait(/<- frame FIN=1 RSV=0 TEXT MASK=1 key=[0-9a-f]{8} len=5 "Hello"$/);
  await out.wait(/-> frame FIN=1 RSV=0 TEXT MASK=0 len=5 "Hello"$/);
  ws.close(1000);
  await out.wait(/<- frame FIN=1 RSV=0 CLOSE MASK=1 key=[0-9a-f]{8} len=2 "\\x03\\xe8" \(code 1000\)$/);
});

test('--help, --version and bad flags', () => {
  assert.match(execFileSync(BIN, ['--help']).toString(), /--max-message BYTES/);
  assert.match(execFileSync(BIN, ['--version']).toString(), /^wshub \d+\.\d+\.\d+/);
  for (const bad of [['--port', '70000'], ['--max-message', 'lots'], ['--nope']]) {
    assert.throws(() => execFileSync(BIN, bad, { stdio: 'pipe' }), (e) => e.status === 2);
  }
});

// Reads utime+stime of pid from /proc, in clock ticks.
function cpuTicks(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

test('a full fd table (EMFILE) neither spins the loop nor stops it', async (t) => {
  // 16 descriptors: stdio, the listener and a few clients, then EMFILE.
  const server = await startServer([], { prefix: ['sh', '-c', 'ulimit -n 16 && exec "$0" "$@"'] });
  t.after(() => server.stop());
  const clients = [];
  for (let i = 0; i < 20; i++) {
    const c = new RawClient(server.port);
    await c.connected; // the kernel completes TCP even when we cannot accept
    clients.push(c);
  }
  await server.stderr.wait(/accept: Too many open files; pausing/);
  // Measured in CPU time, not wall time: a spinning loop would burn a
  // whole core; a backing-off one burns almost nothing.
  const before = cpuTicks(server.proc.pid);
  await withTimeout(new Promise((r) => setTimeout(r, 1000)), 2000, 'a second of EMFILE');
  const used = cpuTicks(server.proc.pid) - before;
  assert.ok(used < 30, `CPU ticks while fds were exhausted: ${used}`);
  // Free the descriptors: the waiting connections are then served.
  for (const c of clients.slice(0, 12)) c.destroy();
  const late = clients[clients.length - 1];
  late.write('GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  assert.strictEqual((await late.response(5000)).status, 200);
  for (const c of clients) c.destroy();
});

test('the default page is served from www/', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const res = await fetch(`${server.url}/`);
  assert.strictEqual(res.status, 200);
  assert.match(await res.text(), /<title>wshub/);
  assert.ok(fs.existsSync(path.join(REPO, 'www', 'index.html')));
});
