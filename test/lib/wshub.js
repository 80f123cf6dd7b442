// wshub.js -- start a real wshub for a test, and speak raw RFC 6455 to it.
// SPDX-License-Identifier: MIT
//
// startServer() runs the binary named by $WSHUB_BIN (default ../wshub) on
// port 0 and waits for its first line, "wshub listening on http://H:P".
// Nothing here sleeps to wait: every wait is for a line, bytes or a close,
// and each has a timeout that fails the test with a message.
//
// The raw helpers build masked client frames and read server frames by
// hand, so tests can send what no well-behaved client library would.
//
// $WSHUB_TLS, when set, names a directory that lib/tls.js filled
// (chain.pem, server.key, ca.pem). Every server then starts with
// --tls-cert and --tls-key on that pair, its url and wsUrl say https://
// and wss://, and RawClient speaks TLS, trusting ca.pem. tls.test.js runs
// echo.test.js, raw.test.js and autobahn.test.js this way, with
// NODE_EXTRA_CA_CERTS=ca.pem so that ws trusts the CA too.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const tls = require('node:tls');
const path = require('node:path');
const crypto = require('node:crypto');

const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.resolve(__dirname, '..', process.env.WSHUB_BIN || '../wshub');
const TLS_DIR = process.env.WSHUB_TLS || '';

// The options RawClient gives tls.connect() when $WSHUB_TLS is set, or
// null for plain TCP.
function defaultTls() {
  return TLS_DIR ? { ca: fs.readFileSync(path.join(TLS_DIR, 'ca.pem')) } : null;
}

// Resolve with fn's value, or reject with `what` after ms.
function withTimeout(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// Collects a stream's lines and lets a test wait for one that matches.
class Lines {
  constructor(stream) {
    this.lines = [];
    this.waiters = [];
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      partial += chunk;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => !w(line));
      }
    });
  }

  // Wait for a line matching re, counting lines already seen from `from`.
  wait(re, ms = 5000, from = 0) {
    const seen = this.lines.slice(from).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    const p = new Promise((resolve) => {
      this.waiters.push((line) => {
        if (!re.test(line)) return false;
        resolve(line);
        return true;
      });
    });
    return withTimeout(p, ms, `a line matching ${re}`);
  }
}

// Start wshub with extra flags. Resolves to a handle with port, url,
// stdout/stderr Lines, and stop(). opts.prefix runs the binary through
// another command (e.g. ['sh', '-c', 'ulimit -n 32; exec "$0" "$@"']).
async function startServer(args = [], opts = {}) {
  const tlsArgs = TLS_DIR && !args.includes('--tls-cert')
    ? ['--tls-cert', path.join(TLS_DIR, 'chain.pem'), '--tls-key', path.join(TLS_DIR, 'server.key')]
    : [];
  const argv = ['--port', '0', ...tlsArgs, ...args];
  // $WSHUB_WRAP runs every server under a tool, e.g. valgrind.
  if (!opts.prefix && process.env.WSHUB_WRAP) opts = { ...opts, prefix: process.env.WSHUB_WRAP.split(/\s+/) };
  const cmd = opts.prefix ? opts.prefix[0] : BIN;
  const cmdArgs = opts.prefix ? [...opts.prefix.slice(1), BIN, ...argv] : argv;
  const proc = spawn(cmd, cmdArgs, { cwd: opts.cwd || REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new Lines(proc.stdout);
  const stderr = new Lines(proc.stderr);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let first;
  try {
    first = await withTimeout(
      Promise.race([stdout.wait(/.*/, 10000), exited.then((e) => { throw new Error(`wshub exited early: ${JSON.stringify(e)} ${stderr.lines.join('\n')}`); })]),
      10000, 'wshub to print its first line');
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  const m = /^wshub listening on (https?):\/\/(.+):(\d+)$/.exec(first);
  if (!m) throw new Error(`unexpected first line: ${first}`);
  const port = Number(m[3]);
  const secure = m[1] === 'https';
  return {
    proc, stdout, stderr, port, host: m[2], tls: secure,
    url: `${m[1]}://127.0.0.1:${port}`,
    wsUrl: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    exited,
    // Graceful stop: SIGTERM, then the exit status (0 unless something,
    // a sanitizer included, went wrong).
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const result = await withTimeout(exited, 10000, 'wshub to exit');
      if (result.code !== 0) {
        throw new Error(`wshub exited ${JSON.stringify(result)}; stderr:\n${stderr.lines.slice(-40).join('\n')}`);
      }
      return result;
    },
  };
}

// ---- raw sockets ---------------------------------------------------------

// A TCP socket that buffers what it receives, so tests can wait for bytes.
// opts.tls: options for tls.connect() (a TLS socket), or false for plain
// TCP; left out, it is TLS trusting $WSHUB_TLS's CA if that is set.
class RawClient {
  constructor(port, opts = {}) {
    const tlsOpts = opts.tls === undefined ? defaultTls() : opts.tls;
    this.sock = tlsOpts
      ? tls.connect({ port, host: '127.0.0.1', ...tlsOpts })
      : net.connect(port, '127.0.0.1');
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.listeners = [];
    this.sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.poke(); });
    this.sock.on('end', () => { this.ended = true; this.poke(); });
    this.sock.on('close', () => { this.ended = true; this.poke(); });
    this.sock.on('error', () => { this.ended = true; this.poke(); });
    this.connected = new Promise((resolve, reject) => {
      this.sock.once(tlsOpts ? 'secureConnect' : 'connect', resolve);
      this.sock.once('error', reject);
    });
  }

  poke() { for (const f of this.listeners.slice()) f(); }

  // Wait until test(buf, ended) returns a value other than undefined.
  until(test, ms, what) {
    const p = new Promise((resolve) => {
      const check = () => {
        const v = test(this.buf, this.ended);
        if (v === undefined) return;
        this.listeners = this.listeners.filter((f) => f !== check);
        resolve(v);
      };
      this.listeners.push(check);
      check();
    });
    return withTimeout(p, ms, what);
  }

  write(bytes) { this.sock.write(bytes); }

  // Resolve once the server has closed its side.
  closed(ms = 5000) { return this.until((_, ended) => (ended ? true : undefined), ms, 'the server to close'); }

  // Read one complete HTTP response head (and a Content-Length body).
  async response(ms = 5000) {
    return this.until((buf, ended) => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return ended ? null : undefined;
      const head = buf.subarray(0, end).toString('latin1');
      const lines = head.split('\r\n');
      const status = Number(lines[0].split(' ')[1]);
      const headers = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers['content-length'] || 0);
      if (buf.length < end + 4 + len && !ended) return undefined;
      const body = buf.subarray(end + 4, end + 4 + len);
      this.buf = buf.subarray(end + 4 + len);
      return { status, headers, body: body.toString('utf8'), head };
    }, ms, 'an HTTP response');
  }

  // Read one server frame: { fin, opcode, payload }, or null at EOF.
  async frame(ms = 5000) {
    return this.until((buf, ended) => {
      const f = parseServerFrame(buf);
      if (!f) return ended ? null : undefined;
      this.buf = buf.subarray(f.size);
      return f;
    }, ms, 'a WebSocket frame');
  }

  // Read frames until a Close; resolves to { code, reason, before } where
  // before holds the frames that came first. code is null if the server
  // dropped TCP without a Close frame.
  async closeFrame(ms = 5000) {
    const before = [];
    for (;;) {
      const f = await this.frame(ms);
      if (f === null) return { code: null, reason: '', before };
      if (f.opcode === 8) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        return { code, reason: f.payload.subarray(2).toString('utf8'), before };
      }
      before.push(f);
    }
  }

  destroy() { this.sock.destroy(); }
}

// Parse an unmasked server frame at the start of buf, or return null if
// it is not all there yet.
function parseServerFrame(buf) {
  if (buf.length < 2) return null;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  if (buf[1] & 0x80) throw new Error('server sent a masked frame (RFC 6455 §5.1)');
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  if (buf.length < off + len) return null;
  return { fin, opcode, rsv: (buf[0] >> 4) & 7, payload: buf.subarray(off, off + len), size: off + len };
}

// Build a client frame. Options: fin (default true), rsv, mask (default
// a random key; false for an unmasked frame), len (to lie about length).
function frame(opcode, payload = Buffer.alloc(0), o = {}) {
  payload = Buffer.from(payload);
  const fin = o.fin === undefined ? true : o.fin;
  const masked = o.mask !== false;
  const len = o.len === undefined ? BigInt(payload.length) : BigInt(o.len);
  const head = [((fin ? 0x80 : 0) | ((o.rsv || 0) << 4) | opcode)];
  const m = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len <= 125n) head.push(m | Number(len));
  else if (len <= 0xffffn) { head.push(m | 126); ext = Buffer.alloc(2); ext.writeUInt16BE(Number(len)); }
  else { head.push(m | 127); ext = Buffer.alloc(8); ext.writeBigUInt64BE(len); }
  const key = masked ? crypto.randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

// A close payload: 2-byte code and a reason.
function closePayload(code, reason = '') {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);
}

const GOOD_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function upgradeRequest(port, extra = {}, path = '/echo') {
  const headers = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': GOOD_KEY,
    'Sec-WebSocket-Version': '13',
    ...extra,
  };
  let req = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) if (v !== null) req += `${k}: ${v}\r\n`;
  return req + '\r\n';
}

// Open a raw WebSocket on /echo: handshake done, ready for frames.
// opts as for RawClient.
async function rawWebSocket(port, opts = {}) {
  const c = new RawClient(port, opts);
  await c.connected;
  c.write(upgradeRequest(port));
  const res = await c.response();
  if (res.status !== 101) throw new Error(`upgrade failed: ${res.status} ${res.body}`);
  return c;
}

module.exports = {
  startServer, Lines, RawClient, rawWebSocket, frame, closePayload, upgradeRequest,
  parseServerFrame, withTimeout, GOOD_KEY, REPO,
  OP: { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 },
};
