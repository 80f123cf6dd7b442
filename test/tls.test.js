// tls.test.js -- wshub with --tls-cert and --tls-key. First what it
// refuses at startup; then real TLS peers: Node's tls, https and ws, the
// official socket.io-client (https polling, then wss) and faye client,
// and `openssl s_client`; then the bad input issue 12 lists, each closed
// with one log line while another client is served; the SIGHUP reload;
// and last the echo, raw and Autobahn test files run again, over TLS.
// SPDX-License-Identifier: MIT
//
// The certificates are made here, by the openssl tool (lib/tls.js): a
// root CA, an intermediate, and leaves it signs. Clients trust the root
// alone, so every connection that verifies proves the chain was sent.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const https = require('node:https');
const tls = require('node:tls');
const WebSocket = require('ws');
const faye = require('faye');
const { io } = require('socket.io-client');
const {
  rawWebSocket, RawClient, frame, closePayload, upgradeRequest, withTimeout, OP,
} = require('./lib/wshub');
const {
  makeCerts, startTlsServer, runToExit, tlsConnect, captureClientHello, parseClientHello,
  startProxy, sClient, ms, SANITIZED, VALGRIND,
} = require('./lib/tls');

const certs = makeCerts();
test.after(() => certs.remove());

// ---- helpers ---------------------------------------------------------------

// A ws client on wss://.../echo that trusts the test CA, once open.
async function openWss(server, opts = {}) {
  const ws = new WebSocket(`${server.wsUrl}/echo`, { ca: certs.ca, perMessageDeflate: false, ...opts });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), ms(5000), 'the wss WebSocket to open');
  return ws;
}

// Send data on ws and resolve to what comes back.
function echo(ws, data) {
  const back = withTimeout(new Promise((resolve) => ws.once('message', (d, isBinary) => resolve({ d, isBinary }))),
    ms(5000), 'an echo');
  ws.send(data);
  return back;
}

// A plain TCP connection to 127.0.0.1:port, once connected.
async function tcp(port) {
  const sock = net.connect(port, '127.0.0.1');
  await withTimeout(new Promise((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  }), ms(5000), 'a TCP connection');
  return sock;
}

// The close lines wshub logged from stderr line `from` on:
// "wshub: PEER close PATH STATUS WHY".
const CLOSE_LINE = /^wshub: (\S+) close (\S+) (\d+) (.*)$/;
function closesSince(server, from) {
  return server.stderr.lines.slice(from).map((l) => CLOSE_LINE.exec(l)).filter(Boolean)
    .map((m) => ({ peer: m[1], path: m[2], status: Number(m[3]), why: m[4], line: m[0] }));
}

// Wait for a close line whose WHY matches why (a RegExp for the whole
// WHY), from stderr line `from` on.
function closeLogged(server, why, from, limit = ms(5000)) {
  return server.stderr.wait(new RegExp(`^wshub: \\S+ close \\S+ \\d+ (?:${why.source})$`), limit, from);
}

// Read one HTTP response from a TLS socket: resolves to its head.
function httpHead(sock) {
  let got = '';
  return withTimeout(new Promise((resolve, reject) => {
    sock.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0) resolve(got.slice(0, end));
    });
    sock.once('error', reject);
  }), ms(5000), 'an HTTP response');
}

// GET a path over https, trusting the test CA. Resolves to { status,
// headers, body }.
function httpsGet(server, p) {
  return withTimeout(new Promise((resolve, reject) => {
    https.get(`${server.url}${p}`, { ca: certs.ca, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  }), ms(5000), `GET ${p} over https`);
}

const escapeRe = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const GET = (p, extra = '') => `GET ${p} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

// ---- startup -----------------------------------------------------------------

test('startup: what wshub refuses before it listens', async (t) => {
  await t.test('a key that does not match the certificate: exit 1, "does not match"', async () => {
    const r = await runToExit(['--tls-cert', certs.chain, '--tls-key', certs.otherKey]);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.match(r.stderr, /does not match/);
    assert.doesNotMatch(r.stdout, /listening/);
  });

  await t.test('--tls-cert without --tls-key: exit 2, naming --tls-key', async () => {
    const r = await runToExit(['--tls-cert', certs.chain]);
    assert.strictEqual(r.code, 2, r.stderr);
    assert.match(r.stderr, /--tls-key/);
  });

  await t.test('--tls-key without --tls-cert: exit 2, naming --tls-cert', async () => {
    const r = await runToExit(['--tls-key', certs.key]);
    assert.strictEqual(r.code, 2, r.stderr);
    assert.match(r.stderr, /--tls-cert/);
  });

  await t.test('a certificate file that does not exist: exit 1, naming it', async () => {
    const missing = path.join(certs.dir, 'no-such-cert.pem');
    const r = await runToExit(['--tls-cert', missing, '--tls-key', certs.key]);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(missing), r.stderr);
  });

  await t.test('a key file that is not PEM: exit 1, naming it', async () => {
    const junk = path.join(certs.dir, 'junk.key');
    fs.writeFileSync(junk, 'this is not a key\n');
    const r = await runToExit(['--tls-cert', certs.chain, '--tls-key', junk]);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(junk), r.stderr);
  });
});

// ---- real peers ----------------------------------------------------------------

test('real TLS peers', async (t) => {
  const server = await startTlsServer(certs, ['--trace', '--faye', '/faye']); // the chat app
  t.after(() => server.stop());
  assert.match(server.stdout.lines[0], /^wshub listening on https:\/\/127\.0\.0\.1:\d+$/);

  await t.test('the chain verifies against the root alone, for localhost and 127.0.0.1', async () => {
    for (const servername of ['localhost', undefined]) {
      const sock = await tlsConnect(certs, server.port, { servername });
      assert.strictEqual(sock.authorized, true, String(sock.authorizationError));
      const leaf = sock.getPeerCertificate(true);
      assert.strictEqual(leaf.serialNumber, certs.serial);
      assert.strictEqual(leaf.issuer.CN, 'wshub test intermediate CA');
      assert.strictEqual(leaf.issuerCertificate.issuer.CN, 'wshub test root CA');
      sock.end();
    }
  });

  await t.test('a client that does not trust the CA refuses the certificate', async () => {
    await assert.rejects(tlsConnect(certs, server.port, { ca: undefined }), /self[- ]signed|unable to (get|verify)/i);
  });

  await t.test('ws over wss:// echoes text, binary and a message of many records', async () => {
    const ws = await openWss(server);
    let m = await echo(ws, 'hello over TLS');
    assert.strictEqual(m.d.toString(), 'hello over TLS');
    assert.strictEqual(m.isBinary, false);
    m = await echo(ws, Buffer.from([0, 1, 2, 255]));
    assert.deepStrictEqual([...m.d], [0, 1, 2, 255]);
    assert.strictEqual(m.isBinary, true);
    const big = Buffer.alloc(300000); // 19 TLS records of 16 KiB at most
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    m = await echo(ws, big);
    assert.ok(m.d.equals(big), 'the 300,000 bytes come back');
    const closed = withTimeout(new Promise((r) => ws.once('close', r)), ms(5000), 'close');
    ws.close(1000);
    assert.strictEqual(await closed, 1000);
  });

  await t.test('files, Engine.IO polling, the REST API and /metrics answer over https', async () => {
    const page = await httpsGet(server, '/echo.html');
    assert.strictEqual(page.status, 200);
    assert.match(page.body, /location\.protocol === 'https:'/);
    const poll = await httpsGet(server, '/socket.io/?EIO=4&transport=polling');
    assert.strictEqual(poll.status, 200);
    assert.match(poll.body, /^0\{"sid":/);
    const rooms = await httpsGet(server, '/api/rooms');
    assert.strictEqual(rooms.status, 200);
    assert.strictEqual(JSON.parse(rooms.body)[0].room, 'general');
    const metrics = await httpsGet(server, '/metrics');
    assert.strictEqual(metrics.status, 200);
    assert.match(metrics.body, /^wshub_/m);
  });

  await t.test('the faye client subscribes and publishes over https', async () => {
    const client = new faye.Client(`${server.url}/faye`, { timeout: 10, retry: 1, tls: { ca: certs.ca } });
    try {
      const got = new Promise((resolve) => {
        client.subscribe('/tls', resolve).then(() => client.publish('/tls', { text: 'bayeux over TLS' }));
      });
      assert.deepStrictEqual(await withTimeout(got, ms(5000), 'the faye delivery'), { text: 'bayeux over TLS' });
    } finally {
      client.disconnect();
    }
  });

  await t.test('socket.io-client polls over https, then upgrades to wss', async () => {
    const socket = io(server.url, { ca: certs.ca, forceNew: true, reconnection: false });
    const seen = [];
    socket.io.on('open', () => {
      const engine = socket.io.engine;
      seen.push(`open ${engine.transport.name}`);
      engine.on('upgrade', (tr) => seen.push(`upgrade ${tr.name}`));
    });
    try {
      await withTimeout(new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      }), ms(5000), 'socket.io to connect');
      if (socket.io.engine.transport.name !== 'websocket') {
        await withTimeout(new Promise((r) => socket.io.engine.once('upgrade', r)), ms(5000), 'the upgrade to wss');
      }
      assert.deepStrictEqual(seen, ['open polling', 'upgrade websocket']);
      // The chat: a message to general comes back to its room, and is acked.
      const back = withTimeout(new Promise((r) => socket.once('message', r)), ms(5000), 'the message, broadcast');
      const ack = await socket.timeout(ms(5000)).emitWithAck('message', { text: 'chat over wss' });
      assert.strictEqual(typeof ack.id, 'number');
      const m = await back;
      assert.strictEqual(m.text, 'chat over wss');
      assert.strictEqual(m.id, ack.id);
    } finally {
      socket.disconnect();
    }
  });

  const verify = ['-CAfile', certs.caFile, '-verify_return_error', '-verify_hostname', 'localhost', '-servername', 'localhost'];
  const request = GET('/echo.html', 'Connection: close\r\n');

  await t.test('openssl s_client: TLS 1.3, verified, serves a request', async () => {
    const { code, out } = await sClient(server.port, ['-tls1_3', ...verify], request);
    assert.strictEqual(code, 0, out);
    assert.match(out, /^New, TLSv1\.3, Cipher is TLS_/m);
    assert.match(out, /Verify return code: 0 \(ok\)/);
    assert.match(out, /^HTTP\/1\.1 200 OK\r?$/m);
  });

  await t.test('openssl s_client: TLS 1.2 gets ECDHE with an AEAD cipher', async () => {
    const { code, out } = await sClient(server.port, ['-tls1_2', ...verify], request);
    assert.strictEqual(code, 0, out);
    assert.match(out, /^New, TLSv1\.2, Cipher is ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/m);
    assert.match(out, /^Compression: NONE$/m);
    assert.match(out, /^HTTP\/1\.1 200 OK\r?$/m);
  });

  await t.test('openssl s_client: ALPN http/1.1 is selected, and h2 is not', async () => {
    for (const offer of ['http/1.1', 'h2,http/1.1']) {
      const { code, out } = await sClient(server.port, ['-alpn', offer, ...verify], request);
      assert.strictEqual(code, 0, out);
      assert.match(out, /^ALPN protocol: http\/1\.1$/m);
    }
  });

  await t.test('openssl s_client -tls1_1: the server refuses the TLS 1.1 ClientHello', async () => {
    // SECLEVEL=0, so that the client's own configuration cannot stop it
    // before it sends (at a system SECLEVEL of 2 no cipher is left that
    // TLS 1.1 may use). The proxy shows what went on the wire, and the
    // alert and the log line that the refusal was the server's.
    const proxy = await startProxy(server.port);
    try {
      const from = server.stderr.lines.length;
      const { code, out } = await sClient(proxy.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], request);
      assert.notStrictEqual(code, 0, out);
      assert.match(out, /alert protocol version/);
      assert.doesNotMatch(out, /HTTP\/1\.1/);
      const hello = parseClientHello(proxy.conns[0].fromClient);
      assert.ok(hello, 'a ClientHello went on the wire');
      assert.strictEqual(hello.legacy, 0x0302, 'it asks for TLS 1.1');
      assert.deepStrictEqual(hello.supported, [], 'and nothing newer');
      await closeLogged(server, /TLS handshake failed: unsupported protocol/, from);
      const mine = closesSince(server, from).filter((c) => c.peer === `127.0.0.1:${proxy.conns[0].upPort}`);
      assert.strictEqual(mine.length, 1, server.stderr.lines.slice(from).join('\n'));
    } finally {
      proxy.close();
    }
  });

  await t.test('TLS 1.2 with only CBC ciphers on offer finds no cipher', async () => {
    const from = server.stderr.lines.length;
    await assert.rejects(tlsConnect(certs, server.port, {
      maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA',
    }), /handshake failure|no shared cipher|alert/i);
    await closeLogged(server, /TLS handshake failed: .+/, from);
  });

  await t.test('sessions resume: by ticket in TLS 1.3, and in TLS 1.2', async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2']) {
      const first = await tlsConnect(certs, server.port, { maxVersion });
      first.resume(); // a TLS 1.3 ticket comes after the handshake
      const session = await first.session();
      assert.strictEqual(first.isSessionReused(), false);
      first.end();
      const again = await tlsConnect(certs, server.port, { maxVersion, session });
      assert.strictEqual(again.isSessionReused(), true, `${maxVersion} session resumed`);
      again.end();
    }
  });

  await t.test('--trace prints version, cipher and ALPN once, before the request', async () => {
    for (const [opts, alpn] of [[{ ALPNProtocols: ['http/1.1'] }, 'http/1.1'], [{ maxVersion: 'TLSv1.2' }, '-']]) {
      const sock = await tlsConnect(certs, server.port, opts);
      const peer = `127.0.0.1:${sock.localPort}`;
      const head = httpHead(sock);
      sock.write(GET('/echo.html'));
      assert.match(await head, /^HTTP\/1\.1 200 /);
      const want = `${peer}    tls: ${sock.getProtocol()} ${sock.getCipher().name}, ALPN ${alpn}`;
      await server.stdout.wait(new RegExp(`^${escapeRe(peer)} <- GET /echo\\.html`), ms(5000));
      const mine = server.stdout.lines.filter((l) => l.startsWith(`${peer} `));
      const tlsLines = mine.filter((l) => l.startsWith(`${peer}    tls: `));
      assert.deepStrictEqual(tlsLines, [want]);
      assert.ok(mine.indexOf(want) < mine.findIndex((l) => l.startsWith(`${peer} <- GET`)), 'before the request');
      sock.end();
    }
  });

  // Send bytes through a recording proxy over TLS 1.2, which end in the
  // server closing; assert the server's last record is an alert. In TLS
  // 1.2 a record's type is in the clear, so the proxy sees it: 21, the
  // close_notify (RFC 5246 §7.2.1), before the FIN.
  async function closeNotifyLast(bytes) {
    const proxy = await startProxy(server.port);
    try {
      const sock = await tlsConnect(certs, proxy.port, { maxVersion: 'TLSv1.2' });
      const ended = withTimeout(new Promise((r) => sock.once('end', r)), ms(5000), 'the server to close');
      sock.write(bytes);
      sock.resume();
      await ended;
      await withTimeout(proxy.conns[0].upEnded, ms(5000), 'the proxy to see the close');
      const types = [];
      const buf = proxy.conns[0].fromServer;
      for (let off = 0; off + 5 <= buf.length; off += 5 + buf.readUInt16BE(off + 3)) types.push(buf[off]);
      assert.strictEqual(types[types.length - 1], 21, `record types ${types.join(',')}`);
      sock.destroy();
    } finally {
      proxy.close();
    }
  }

  const endings = [
    ['a response with Connection: close', GET('/echo.html', 'Connection: close\r\n')],
    ['the WebSocket closing handshake',
      Buffer.concat([Buffer.from(upgradeRequest(server.port)), frame(OP.CLOSE, closePayload(1000))])],
  ];
  for (const [ending, bytes] of endings) {
    await t.test(`after ${ending} the server sends close_notify (TLS 1.2, seen on the wire)`, async () => {
      await closeNotifyLast(bytes);
    });
  }

  await t.test('a peer that closes without close_notify is logged so, not as an error', async () => {
    const raw = await tcp(server.port);
    const sock = await tlsConnect(certs, null, { socket: raw });
    const head = httpHead(sock);
    sock.write(GET('/echo.html'));
    assert.match(await head, /^HTTP\/1\.1 200 /);
    const from = server.stderr.lines.length;
    const peer = `127.0.0.1:${raw.localPort}`;
    raw.end(); // a TCP FIN, and no TLS alert before it
    const line = await closeLogged(server, /.*\(no TLS close_notify\)/, from);
    assert.ok(line.startsWith(`wshub: ${peer} close /echo.html 200 `), line);
    sock.destroy();
  });
});

// ---- bad input ---------------------------------------------------------------

test('bad TLS input: one log line each, no crash, no stuck connection, others served', async (t) => {
  // --request-timeout: short, but far above a handshake's time (under
  // valgrind, about 100 ms).
  const timeout = SANITIZED ? 1000 : 500;
  const server = await startTlsServer(certs, ['--request-timeout', String(timeout)]);
  t.after(() => server.stop());
  const good = await openWss(server);
  const helloTls13 = await captureClientHello();

  // Each case opens the bad connection; resolves to { peer } (its local
  // port, when it is known). Then: exactly one close line, with `why`,
  // and the good client's echo still comes back.
  async function badCase(name, why, attack) {
    await t.test(name, async () => {
      const from = server.stderr.lines.length;
      const { peer } = await attack();
      await closeLogged(server, why, from, ms(5000) + timeout);
      const text = `still served after: ${name}`;
      assert.strictEqual((await echo(good, text)).d.toString(), text);
      const closes = closesSince(server, from);
      assert.strictEqual(closes.length, 1, `one close line:\n${closes.map((c) => c.line).join('\n')}`);
      assert.match(closes[0].why, new RegExp(`^(?:${why.source})$`));
      if (peer) assert.strictEqual(closes[0].peer, `127.0.0.1:${peer}`);
    });
  }

  // A plain TCP client that sends bytes and waits for the server to
  // close, while the good client gets an echo. Resolves to the client
  // (c.buf holds what the server sent back), its port, and how long the
  // server took to close it.
  async function sendAndWaitForClose(bytes, limit) {
    const c = new RawClient(server.port, { tls: false });
    await c.connected;
    const peer = c.sock.localPort; // (undefined once closed)
    const start = Date.now();
    c.write(bytes);
    const [, elapsed] = await Promise.all([
      echo(good, 'while a bad connection is open'),
      c.closed(limit).then(() => Date.now() - start),
    ]);
    return { c, peer, elapsed };
  }

  await badCase('plain HTTP to the TLS port: closed, or an alert, within --request-timeout',
    /TLS handshake failed: plain HTTP sent to the TLS port/, async () => {
      const { c, peer } = await sendAndWaitForClose(Buffer.from(GET('/')), timeout + ms(1000));
      assert.ok(c.buf.length === 0 || c.buf[0] === 0x15, `the reply is nothing or a TLS alert: ${c.buf.subarray(0, 16).toString('hex')}`);
      return { peer };
    });

  await badCase('a ClientHello trickled byte by byte: the handshake proceeds and completes',
    /ok/, async () => {
      const proxy = await startProxy(server.port, { trickle: true });
      try {
        const sock = await tlsConnect(certs, proxy.port, { ALPNProtocols: ['http/1.1'] }, timeout + ms(2000));
        const conn = proxy.conns[0];
        assert.strictEqual((await conn.serverBytes)[0], 0x16, 'the server answered with a handshake record');
        const helloLength = 5 + conn.fromClient.readUInt16BE(3);
        assert.ok(conn.writes >= helloLength, `the ${helloLength}-byte hello went in ${conn.writes} writes`);
        const head = httpHead(sock);
        sock.write(GET('/echo.html'));
        assert.match(await head, /^HTTP\/1\.1 200 /);
        sock.end(); // close_notify, then FIN, both trickled too
        await withTimeout(conn.upEnded, ms(5000), 'the server to close');
        return { peer: conn.upPort };
      } finally {
        proxy.close();
      }
    });

  await badCase('half a ClientHello, then nothing: closed at --request-timeout',
    /TLS handshake not finished in time \(--request-timeout\)/, async () => {
      const { peer, elapsed } = await sendAndWaitForClose(helloTls13.subarray(0, 100), timeout + ms(2000));
      assert.ok(elapsed >= timeout * 0.8, `closed after ${elapsed} ms, not before the timeout`);
      return { peer };
    });

  await badCase('a whole ClientHello, then nothing: answered, then closed at --request-timeout',
    /TLS handshake not finished in time \(--request-timeout\)/, async () => {
      const { c, peer, elapsed } = await sendAndWaitForClose(helloTls13, timeout + ms(2000));
      assert.strictEqual(c.buf[0], 0x16, 'a ServerHello came first');
      assert.ok(elapsed >= timeout * 0.8, `closed after ${elapsed} ms, not before the timeout`);
      return { peer };
    });

  await badCase('half a ClientHello, then the peer closes TCP',
    /TLS handshake failed: peer closed/, async () => {
      const sock = await tcp(server.port);
      sock.on('error', () => {});
      sock.end(helloTls13.subarray(0, 100));
      return { peer: sock.localPort };
    });

  const junk = Buffer.alloc(300);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 37 + 11) & 0xff; // starts 0b 30 55: not TLS
  await badCase('garbage instead of a handshake', /TLS handshake failed: (?!plain HTTP).+/, async () => {
    const { peer } = await sendAndWaitForClose(junk, timeout + ms(2000));
    return { peer };
  });

  await badCase('a handshake record header with garbage inside', /TLS handshake failed: (?!plain HTTP).+/, async () => {
    const rec = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x01, 0x00]), junk.subarray(0, 256)]);
    const { peer } = await sendAndWaitForClose(rec, timeout + ms(2000));
    return { peer };
  });

  for (const version of ['TLSv1', 'TLSv1.1']) {
    await badCase(`a ${version === 'TLSv1' ? 'TLS 1.0' : 'TLS 1.1'} ClientHello is refused`,
      /TLS handshake failed: unsupported protocol/, async () => {
        const old = { minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' };
        const hello = parseClientHello(await captureClientHello(old));
        assert.strictEqual(hello.legacy, version === 'TLSv1' ? 0x0301 : 0x0302, 'Node offers that version on the wire');
        const raw = await tcp(server.port);
        await assert.rejects(tlsConnect(certs, null, { socket: raw, ...old }), /protocol|alert|closed|ECONNRESET/i);
        return { peer: raw.localPort };
      });
  }

  await badCase('a client that renegotiates (TLS 1.2) is refused', /TLS renegotiation refused/, async () => {
    const c = await rawWebSocket(server.port, { tls: { ca: certs.ca, maxVersion: 'TLSv1.2' } });
    assert.strictEqual(c.sock.getProtocol(), 'TLSv1.2');
    c.write(frame(OP.TEXT, 'before'));
    assert.strictEqual((await c.frame()).payload.toString(), 'before');
    const peer = c.sock.localPort;
    c.sock.on('error', () => {});
    const renegotiated = new Promise((resolve) => {
      const ok = c.sock.renegotiate({ rejectUnauthorized: true }, (err) => resolve(err || null));
      if (!ok) resolve(new Error('renegotiate() refused locally'));
    });
    // The server either closes, or goes on without a new handshake.
    const outcome = await withTimeout(Promise.race([renegotiated, c.closed(ms(5000)).then(() => 'closed')]),
      ms(5000), 'the renegotiation to fail or the server to close');
    assert.ok(outcome !== null, 'the renegotiation did not succeed');
    c.destroy();
    return { peer };
  });

  await t.test('fifty stalled handshakes at once: each closed at --request-timeout, others served', async () => {
    const from = server.stderr.lines.length;
    const stalled = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
      const c = new RawClient(server.port, { tls: false });
      await c.connected;
      c.write(helloTls13.subarray(0, 20 + i)); // each stops somewhere else
      c.peer = `127.0.0.1:${c.sock.localPort}`;
      return c;
    }));
    const text = 'served while fifty handshakes hang';
    assert.strictEqual((await echo(good, text)).d.toString(), text);
    await Promise.all(stalled.map((c) => c.closed(timeout + ms(5000))));
    const ports = new Set(stalled.map((c) => c.peer));
    await withTimeout((async () => {
      while (closesSince(server, from).length < 50) await server.stderr.wait(/ close /, ms(5000), server.stderr.lines.length);
    })(), ms(5000), 'fifty close lines');
    const closes = closesSince(server, from);
    assert.strictEqual(closes.length, 50);
    for (const c of closes) {
      assert.ok(ports.has(c.peer), `${c.peer} is one of ours`);
      assert.strictEqual(c.why, 'TLS handshake not finished in time (--request-timeout)');
    }
    assert.strictEqual(new Set(closes.map((c) => c.peer)).size, 50, 'one line each');
  });

  await t.test('the good client was served throughout, and is still open', async () => {
    assert.strictEqual(good.readyState, WebSocket.OPEN);
    assert.strictEqual((await echo(good, 'the end')).d.toString(), 'the end');
    good.close(1000);
  });

  await t.test('/metrics counts the handshakes: every failed one above, and the good ones', async () => {
    const handshakeFailures = closesSince(server, 0).filter((c) => /^TLS (handshake|renegotiation)/.test(c.why)
      && !/renegotiation/.test(c.why)).length;
    const page = (await httpsGet(server, '/metrics')).body;
    const count = (result) => Number((page.match(new RegExp(`^wshub_tls_handshakes_total\\{result="${result}"\\} (\\d+)$`, 'm')) || [])[1]);
    assert.strictEqual(count('failed'), handshakeFailures, page.match(/^wshub_tls.*$/mg).join('\n'));
    assert.ok(count('ok') >= 2, 'the good client, the trickled hello, this scrape');
  });
});

// ---- SIGHUP ---------------------------------------------------------------------

test('SIGHUP reloads the certificate: new connections get it, old ones carry on', async (t) => {
  const cert = path.join(certs.dir, 'live-cert.pem');
  const key = path.join(certs.dir, 'live-key.pem');
  fs.copyFileSync(certs.chain, cert);
  fs.copyFileSync(certs.key, key);
  const server = await startTlsServer(certs, [], { cert, key });
  t.after(() => server.stop());
  const serial = async () => {
    const sock = await tlsConnect(certs, server.port);
    const s = sock.getPeerCertificate().serialNumber;
    sock.end();
    return s;
  };
  const old = await openWss(server);
  assert.strictEqual(await serial(), certs.serial);

  await t.test('a new pair: the reload is logged, new connections see the new serial', async () => {
    fs.copyFileSync(certs.chain2, cert);
    fs.copyFileSync(certs.key2, key);
    const from = server.stderr.lines.length;
    server.proc.kill('SIGHUP');
    await server.stderr.wait(new RegExp(`^wshub: tls: reloaded certificate from ${escapeRe(cert)}$`), ms(5000), from);
    assert.strictEqual(await serial(), certs.serial2);
  });

  await t.test('the connection opened before the reload is still open and echoes', async () => {
    assert.strictEqual(old.readyState, WebSocket.OPEN);
    assert.strictEqual((await echo(old, 'opened before the reload')).d.toString(), 'opened before the reload');
  });

  await t.test('a key that does not match: refused, logged, and the current pair kept', async () => {
    fs.copyFileSync(certs.chain, cert); // the first certificate ...
    fs.copyFileSync(certs.otherKey, key); // ... with a key of neither
    const from = server.stderr.lines.length;
    server.proc.kill('SIGHUP');
    await server.stderr.wait(/^wshub: tls: reload refused: .*does not match.*; keeping the current certificate$/, ms(5000), from);
    assert.strictEqual(await serial(), certs.serial2);
    assert.strictEqual((await echo(old, 'still here')).d.toString(), 'still here');
  });

  await t.test('a certificate file that is not PEM: refused, and the current pair kept', async () => {
    fs.writeFileSync(cert, 'not a certificate\n');
    fs.copyFileSync(certs.key2, key);
    const from = server.stderr.lines.length;
    server.proc.kill('SIGHUP');
    await server.stderr.wait(/^wshub: tls: reload refused: .+; keeping the current certificate$/, ms(5000), from);
    assert.strictEqual(await serial(), certs.serial2);
    const ws = await openWss(server);
    assert.strictEqual((await echo(ws, 'new after a refused reload')).d.toString(), 'new after a refused reload');
    ws.close(1000);
    old.close(1000);
  });
});

// ---- memory ----------------------------------------------------------------------

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// OpenSSL's record buffers are some 34 KiB a connection (a 16 KiB record
// each way, and headroom); with SSL_MODE_RELEASE_BUFFERS an idle
// connection gives them back, and keeps its session state (about 15 KiB
// when this was written). Under a sanitizer or valgrind the process's
// memory is not the server's alone, so there the bound is not checked.
test('an idle wss connection holds no TLS record buffers', async (t) => {
  const server = await startTlsServer(certs, ['--max-conns', '1000']);
  t.after(() => server.stop());
  const secureContext = tls.createSecureContext({ ca: certs.ca }); // made once: quicker
  const idle = async () => {
    const c = await rawWebSocket(server.port, { tls: { secureContext } });
    c.write(frame(OP.TEXT, 'once'));
    assert.strictEqual((await c.frame()).payload.toString(), 'once');
    return c;
  };
  const conns = [];
  for (let i = 0; i < 20; i++) conns.push(await idle()); // the allocator warms up
  const before = rssKiB(server.proc.pid);
  const n = SANITIZED ? 40 : 200;
  for (let i = 0; i < n; i += 20) conns.push(...await Promise.all(Array.from({ length: 20 }, idle)));
  const each = (rssKiB(server.proc.pid) - before) / n;
  t.diagnostic(`an idle wss connection costs ${each.toFixed(1)} KiB of the server's RSS`);
  if (!SANITIZED) assert.ok(each < 24, `${each.toFixed(1)} KiB per idle connection`);
  for (const c of conns) c.destroy();
});

// ---- the plain test files, over TLS -------------------------------------------

// Run test files in a child `node --test` with $WSHUB_TLS (lib/wshub.js):
// every server they start speaks TLS with our chain, every raw client
// speaks TLS to it, and ws trusts our CA through NODE_EXTRA_CA_CERTS.
// Resolves to the child's TAP output once it exits; asserts it passed.
async function runOverTls(files, extra = []) {
  const env = { ...process.env, WSHUB_TLS: certs.dir, NODE_EXTRA_CA_CERTS: certs.caFile };
  delete env.NODE_TEST_CONTEXT; // the child reports in TAP to us, not to our runner
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...extra, ...files],
    { cwd: __dirname, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => child.on('close', resolve));
  const count = (k) => Number((new RegExp(`^# ${k} (\\d+)$`, 'm').exec(out) || [])[1] || 0);
  const failed = out.split('\n').filter((l) => /^\s*not ok /.test(l));
  assert.strictEqual(code, 0, `${files.join(' ')} over TLS failed:\n${failed.join('\n')}\n${out.slice(-4000)}`);
  assert.ok(count('pass') > 0, 'some tests ran');
  return { pass: count('pass'), fail: count('fail') };
}

// Under valgrind a TLS handshake costs the server some 50-100 ms, and
// the 16 MiB Autobahn cases are slow to decrypt: there the echo file
// runs whole, raw.test.js only its frame and handshake tables (129 of its
// 136 tests, 25 s for both files), and autobahn.test.js not at all.
// ---- a handshake whose first flight does not fit the socket ----------------------

// The server's answer to a ClientHello (ServerHello ... Finished) is
// written in the same turn the hello is read. With a certificate of
// several megabytes and a client that does not read, the kernel takes
// what fits (about 4 MB on loopback here) and SSL_do_handshake(), inside
// the loop's read, says SSL_ERROR_WANT_WRITE: a read that must write
// first. The loop must then ask poll() for POLLOUT and read again when it
// comes (c->io_wait, IO_READ_WANTS_OUT); if it did not, the rest of the
// flight would stay in OpenSSL's buffer until --request-timeout. So: the
// client stops reading, the server is given a turn (an echo on another
// connection), then the client reads again and must receive every byte
// of the flight, more than the certificate itself.
function makeBigCert(dir, names) {
  const lines = ['[req]', 'distinguished_name = dn', 'x509_extensions = v3', 'prompt = no',
    '[dn]', 'CN = localhost', '[v3]', 'subjectAltName = @alt', '[alt]', 'DNS.1 = localhost', 'IP.1 = 127.0.0.1'];
  for (let i = 0; i < names; i++) lines.push(`DNS.${i + 2} = n${i}.example.org`);
  fs.writeFileSync(path.join(dir, 'big.cnf'), `${lines.join('\n')}\n`);
  require('node:child_process').execFileSync('openssl', ['req', '-x509', '-newkey', 'ec',
    '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'big.key', '-out', 'big.pem',
    '-days', '2', '-config', 'big.cnf'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  return { cert: path.join(dir, 'big.pem'), key: path.join(dir, 'big.key') };
}

test('a first flight bigger than the socket buffers is written when the socket drains',
  { skip: VALGRIND && 'a 5 MB certificate under valgrind takes minutes' }, async (t) => {
    const big = makeBigCert(certs.dir, 260000); // about 5.4 MB of DER
    const pem = fs.readFileSync(big.cert, 'latin1');
    const derBytes = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').length;
    const server = await startTlsServer(certs, ['--request-timeout', String(ms(20000))], big);
    t.after(() => server.stop());
    // A client that speaks TLS could not take this certificate (Node's
    // limit is 100 KB), so the server's turns are told by plain HTTP: it
    // is refused and closed in the turn it arrives.
    const aTurn = async () => {
      const probe = new RawClient(server.port, { tls: false });
      await probe.connected;
      probe.write(GET('/'));
      await probe.closed(ms(5000));
    };

    const hello = await captureClientHello();
    const c = new RawClient(server.port, { tls: false });
    await c.connected;
    c.sock.pause(); // read nothing: the server's writes fill the socket
    c.write(hello);
    // The hello was readable before the probe was sent, so the server has
    // answered it as far as the socket took, and waits for POLLOUT.
    await aTurn();
    c.sock.resume();
    const got = await c.until((buf) => (buf.length > derBytes ? buf.length : undefined), ms(20000),
      'the rest of the flight, after the socket drained');
    assert.ok(got > derBytes, `${got} bytes, the certificate alone is ${derBytes}`);
    assert.strictEqual(c.buf[0], 0x16, 'a handshake record first');
    c.sock.destroy();
    await aTurn(); // and the server goes on serving
  });

// Under valgrind, echo only: raw and Autobahn run over TLS in the plain
// and ASan runs, and here would cost a minute for no new code path.
const OVER_TLS = VALGRIND
  ? [['echo.test.js']]
  : [['echo.test.js'], ['raw.test.js'], ['autobahn.test.js']];

test('the echo, raw and Autobahn test files pass over TLS', { concurrency: VALGRIND ? 1 : 2 }, async (t) => {
  await Promise.all(OVER_TLS.map(([file, ...extra]) => t.test(file, async (t2) => {
    const { pass } = await runOverTls([file], extra);
    t2.diagnostic(`${file} over TLS: ${pass} passed`);
  })));
});
