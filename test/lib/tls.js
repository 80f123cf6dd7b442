// tls.js -- certificates, TLS servers and TLS peers for the TLS tests.
// SPDX-License-Identifier: MIT
//
// makeCerts() runs the `openssl` command-line tool into a fresh temporary
// directory: a self-signed root CA, an intermediate CA it signs, and two
// server certificates for localhost and 127.0.0.1 (subjectAltName) that
// the intermediate signs, each with its own key and serial. The files the
// server is given hold the chain (leaf, then intermediate) and a client
// trusts only the root, so a connection that verifies proves the server
// sent the chain. A third key matches neither certificate.
//
// The rest are peers and plumbing: startTlsServer(), a wait for a process
// to exit, `openssl s_client` runs, a ClientHello captured from Node's own
// TLS client, and a TCP proxy that records (and may trickle) what passes.
// Nothing here sleeps to wait: as in wshub.js, every wait is for a line,
// bytes, an event or an exit, with a timeout.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const stream = require('node:stream');
const tls = require('node:tls');
const { startServer, withTimeout, REPO } = require('./wshub');

const BIN = path.resolve(__dirname, '..', process.env.WSHUB_BIN || '../wshub');

// Under ASan or valgrind the server is several times slower, and a TLS
// handshake (public-key arithmetic) more so: every time bound that
// depends on the server's speed goes through ms().
const SANITIZED = Boolean(process.env.WSHUB_SANITIZED);
const VALGRIND = Boolean(process.env.WSHUB_WRAP);
const SLOW = VALGRIND ? 6 : SANITIZED ? 3 : 1;
const ms = (n) => n * SLOW;

// ---- certificates ------------------------------------------------------------

// Extensions for each kind of certificate (RFC 5280 §4.2.1): CAs may sign,
// the intermediate only leaves (pathlen 0), and a leaf serves TLS for the
// names a client connects to (§4.2.1.6).
const EXTENSIONS = `
[req]
distinguished_name = dn
[dn]
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;

// The two server certificates' serial numbers, as Node's
// getPeerCertificate().serialNumber spells them (upper-case hex).
const SERIAL_1 = '5EED0001';
const SERIAL_2 = '5EED0002';

function openssl(dir, ...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

// P-256 keys: quick to make, and quick to sign with under valgrind.
function newKey(dir, name) {
  openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
}

// Sign a new certificate for key `name`.key with the CA `ca` (its .pem and
// .key), or self-signed when ca is null.
function newCert(dir, name, subject, kind, serial, ca) {
  if (!ca) {
    openssl(dir, 'req', '-x509', '-new', '-key', `${name}.key`, '-subj', subject, '-days', '7',
      '-set_serial', `0x${serial}`, '-config', 'ext.cnf', '-extensions', kind, '-out', `${name}.pem`);
    return;
  }
  openssl(dir, 'req', '-new', '-key', `${name}.key`, '-subj', subject, '-config', 'ext.cnf', '-out', `${name}.csr`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`,
    '-set_serial', `0x${serial}`, '-days', '7', '-extfile', 'ext.cnf', '-extensions', kind, '-out', `${name}.pem`);
}

// Make every file in a new temporary directory; returns their paths and
// remove() to delete the directory. The names chain.pem, server.key and
// ca.pem are the ones wshub.js's $WSHUB_TLS mode reads.
function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-tls-'));
  fs.writeFileSync(path.join(dir, 'ext.cnf'), EXTENSIONS);
  newKey(dir, 'ca.key');
  newCert(dir, 'ca', '/CN=wshub test root CA', 'root', '01', null);
  newKey(dir, 'intermediate.key');
  newCert(dir, 'intermediate', '/CN=wshub test intermediate CA', 'intermediate', '02', 'ca');
  newKey(dir, 'server.key');
  newCert(dir, 'server', '/CN=localhost', 'leaf', SERIAL_1, 'intermediate');
  newKey(dir, 'server2.key');
  newCert(dir, 'server2', '/CN=localhost', 'leaf', SERIAL_2, 'intermediate');
  newKey(dir, 'other.key');
  const read = (f) => fs.readFileSync(path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'chain.pem'), Buffer.concat([read('server.pem'), read('intermediate.pem')]));
  fs.writeFileSync(path.join(dir, 'chain2.pem'), Buffer.concat([read('server2.pem'), read('intermediate.pem')]));
  const p = (f) => path.join(dir, f);
  return {
    dir,
    caFile: p('ca.pem'),
    ca: read('ca.pem'), // what a client trusts: the root alone
    chain: p('chain.pem'), key: p('server.key'), serial: SERIAL_1,
    chain2: p('chain2.pem'), key2: p('server2.key'), serial2: SERIAL_2,
    leafOnly: p('server.pem'),
    otherKey: p('other.key'),
    remove() { fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

// ---- the server -----------------------------------------------------------------

// startServer() with --tls-cert and --tls-key (the chain and its key,
// unless opts.cert and opts.key name others). The handle's url is https.
async function startTlsServer(certs, args = [], opts = {}) {
  const server = await startServer(
    ['--tls-cert', opts.cert || certs.chain, '--tls-key', opts.key || certs.key, ...args], opts);
  if (!server.tls) {
    await server.stop();
    throw new Error(`wshub with --tls-cert did not say https: ${server.url}`);
  }
  return server;
}

// Run wshub (under $WSHUB_WRAP if set) with args and wait for it to exit,
// as it must when it refuses its flags. Resolves to { code, signal,
// stdout, stderr }.
async function runToExit(args, limit = ms(10000)) {
  const wrap = process.env.WSHUB_WRAP ? process.env.WSHUB_WRAP.split(/\s+/) : [];
  const argv = ['--port', '0', ...args];
  const proc = wrap.length
    ? spawn(wrap[0], [...wrap.slice(1), BIN, ...argv], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(BIN, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  try {
    const r = await withTimeout(exited, limit, `wshub ${args.join(' ')} to exit`);
    return { ...r, stdout, stderr };
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

// ---- Node TLS clients ---------------------------------------------------------

// Connect with tls.connect() to 127.0.0.1:port, trusting the test CA
// unless opts say otherwise. Resolves to the socket once the handshake is
// done; rejects with the handshake's error. sock.session() resolves to
// the latest session the server gave it, for a resumption.
function tlsConnect(certs, port, opts = {}, limit = ms(5000)) {
  const sock = tls.connect({ port, host: '127.0.0.1', ca: certs.ca, ...opts });
  let latest = null;
  sock.on('session', (s) => { latest = s; });
  sock.session = () => withTimeout(latest ? Promise.resolve(latest)
    : new Promise((resolve) => sock.once('session', resolve)), limit, 'a session to resume');
  const done = new Promise((resolve, reject) => {
    sock.once('secureConnect', () => resolve(sock));
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('closed before the handshake finished')));
  });
  return withTimeout(done, limit, 'the TLS handshake').catch((err) => { sock.destroy(); throw err; });
}

// The first record of Node's TLS client, a whole ClientHello (for TLS 1.3
// unless opts say otherwise), captured without any server: the client
// writes to a stream that keeps what it is given, and is then destroyed.
function captureClientHello(opts = {}) {
  let sock;
  const hello = new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const wire = new stream.Duplex({
      read() {},
      write(chunk, _enc, cb) {
        got = Buffer.concat([got, chunk]);
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
        cb();
      },
    });
    sock = tls.connect({ socket: wire, servername: 'localhost', ALPNProtocols: ['http/1.1'], ...opts });
    sock.on('error', () => {}); // it is destroyed unanswered
  });
  return withTimeout(hello, 5000, 'a ClientHello from Node').finally(() => sock.destroy());
}

// The fields of a TLS record that holds a ClientHello (RFC 8446 §4.1.2,
// RFC 5246 §7.4.1.2): the record's version, the hello's legacy_version,
// and the versions its supported_versions extension lists, if any.
function parseClientHello(buf) {
  if (buf.length < 5 || buf[0] !== 0x16) return null;
  const rec = buf.readUInt16BE(1);
  const body = buf.subarray(5, 5 + buf.readUInt16BE(3));
  if (body[0] !== 1) return null; // HandshakeType client_hello
  const legacy = body.readUInt16BE(4);
  let off = 4 + 2 + 32; // type+length, legacy_version, random
  off += 1 + body[off]; // session id
  off += 2 + body.readUInt16BE(off); // cipher suites
  off += 1 + body[off]; // compression methods
  const supported = [];
  if (off + 2 <= body.length) {
    const end = off + 2 + body.readUInt16BE(off);
    for (off += 2; off + 4 <= end;) {
      const type = body.readUInt16BE(off);
      const len = body.readUInt16BE(off + 2);
      if (type === 43) { // supported_versions
        for (let i = 1; i < len; i += 2) supported.push(body.readUInt16BE(off + 4 + i));
      }
      off += 4 + len;
    }
  }
  return { record: rec, legacy, supported };
}

// ---- a TCP proxy that records, and may trickle ---------------------------

// Listens on a free port and forwards each connection to 127.0.0.1:target.
// Every connection is recorded in proxy.conns, in order, as:
//   upPort       the upstream socket's local port: the peer wshub logs;
//   fromClient   every byte the client sent, fromServer every byte back;
//   serverBytes  a promise of the server's first bytes;
//   upEnded      a promise that the upstream socket has closed;
//   writes       how many writes carried the client's bytes upstream.
// With trickle set, the client's bytes go upstream one byte per write,
// each once the one before has been handed to the kernel and the event
// loop has turned, with Nagle's algorithm off: each leaves in a TCP
// segment of its own.
async function startProxy(target, { trickle = false } = {}) {
  const conns = [];
  const server = net.createServer((down) => {
    const up = net.connect(target, '127.0.0.1');
    up.setNoDelay(true);
    const rec = { up, upPort: null, fromClient: Buffer.alloc(0), fromServer: Buffer.alloc(0), writes: 0 };
    up.once('connect', () => { rec.upPort = up.localPort; });
    rec.serverBytes = new Promise((resolve) => up.once('data', resolve));
    rec.upEnded = new Promise((resolve) => up.once('close', resolve));
    conns.push(rec);
    let queue = Promise.resolve();
    down.on('data', (d) => {
      rec.fromClient = Buffer.concat([rec.fromClient, d]);
      if (!trickle) { up.write(d); return; }
      down.pause();
      queue = queue.then(async () => {
        for (let i = 0; i < d.length && !up.destroyed; i++) {
          await new Promise((resolve) => up.write(d.subarray(i, i + 1), resolve));
          await new Promise((resolve) => setImmediate(resolve));
          rec.writes++;
        }
        down.resume();
      });
    });
    up.on('data', (d) => { rec.fromServer = Buffer.concat([rec.fromServer, d]); down.write(d); });
    const end = () => { queue.then(() => { up.end(); }); };
    down.on('end', end);
    up.on('end', () => down.end());
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    conns,
    close() { for (const c of conns) c.up.destroy(); server.close(); },
  };
}

// ---- openssl s_client -----------------------------------------------------

// Run `openssl s_client` against 127.0.0.1:port with extra args, and
// give it input, then the end of its stdin; with -ign_eof it does not
// quit at that end but waits for the server to close. Resolves to
// { code, out } once it exits, out being its stdout and stderr.
async function sClient(port, args, input = '', limit = ms(10000)) {
  const proc = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-ign_eof', ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { out += d; });
  proc.stdin.on('error', () => {}); // it may exit before reading it all
  proc.stdin.end(input);
  const exited = new Promise((resolve) => proc.on('close', (code) => resolve(code)));
  try {
    const code = await withTimeout(exited, limit, `openssl s_client ${args.join(' ')} to exit`);
    return { code, out };
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
}

module.exports = {
  makeCerts, startTlsServer, runToExit, tlsConnect, captureClientHello, parseClientHello,
  startProxy, sClient, ms, SANITIZED, VALGRIND, SERIAL_1, SERIAL_2,
};
