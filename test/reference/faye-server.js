#!/usr/bin/env node
// faye-server.js -- the REFERENCE for test/faye.test.js: faye 1.4.3's own
// NodeAdapter behind wshub's command line. It accepts wshub's flags and
// honours --port (last wins), --host, --faye PATH and --faye-timeout; every
// other flag is read and ignored. First line on stdout, as wshub prints it:
// "wshub listening on http://H:P". SIGTERM exits 0.
'use strict';
const http = require('node:http');
const faye = require('faye');

const BOOL = new Set(['--trace', '--admin', '--admin-readonly']);
const opt = { port: 8080, host: '127.0.0.1', mount: null, timeout: 60 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (BOOL.has(a)) continue;
  const v = argv[++i];
  if (a === '--port') opt.port = Number(v);
  else if (a === '--host') opt.host = v;
  else if (a === '--faye') opt.mount = v;
  else if (a === '--faye-timeout') opt.timeout = Number(v);
  else if (process.env.FAYE_REF_VERBOSE) process.stderr.write(`faye-ref: ignoring ${a} ${v}\n`);
}

const server = http.createServer();
let adapter = null;
if (opt.mount) adapter = new faye.NodeAdapter({ mount: opt.mount, timeout: opt.timeout });

// Debugging aids, never used in the reference run itself.
// FAYE_REF_MUTATE=name breaks one thing, to see that a test notices.
const mutate = process.env.FAYE_REF_MUTATE || '';
if (adapter && mutate === 'no-unsubscribe') {
  adapter.addExtension({ incoming(m, next) { if (m.channel === '/meta/unsubscribe') m.subscription = '/elsewhere'; next(m); } });
}
if (adapter && mutate === 'double-delivery') {
  const eng = adapter._server._engine;
  const orig = eng.deliver.bind(eng);
  eng.deliver = (id, msgs) => orig(id, msgs && msgs.concat(msgs.map((m) => ({ ...m }))));
}
if (adapter && mutate === 'ext-kept') { /* faye keeps ext: nothing to do */ }
// FAYE_REF_EMULATE=1 adds wshub's token guard, ext stripping and clientId
// check as faye extensions, to try the mechanics of those wshub-only tests.
if (adapter && process.env.FAYE_REF_EMULATE === '1') {
  let token = null;
  const i = argv.indexOf('--faye-token-file');
  if (i >= 0) token = require('node:fs').readFileSync(argv[i + 1], 'utf8').replace(/\n$/, '');
  const guarded = (ch) => ch.startsWith('/private/') || ch === '/**';
  const engine = adapter._server._engine;
  adapter.addExtension({
    incoming(m, next) {
      const ok = token === null || (m.ext && m.ext.token === token);
      if (m.channel === '/meta/subscribe' && !ok) {
        const bad = [].concat(m.subscription || []).find(guarded);
        if (bad) m.error = `403:${bad}:Authentication required`;
      } else if (!m.channel.startsWith('/meta/')) {
        if (m.channel.startsWith('/private/') && !ok) m.error = `403:${m.channel}:Authentication required`;
        if (!m.clientId) m.error = '402:clientId:Missing required parameter';
        else return engine.clientExists(m.clientId, (yes) => { if (!yes) m.error = `401:${m.clientId}:Unknown client`; next(m); });
      }
      next(m);
    },
    outgoing(m, next) {
      if (m.successful === undefined && m.data !== undefined) {
        for (const k of Object.keys(m)) if (!['channel', 'data', 'id'].includes(k)) delete m[k];
      }
      next(m);
    },
  });
}

// wshub's rule for --faye /: Bayeux is POST /, OPTIONS /, GET /?message=,
// or an upgrade on /; anything else is the web server's (here: 404).
function claims(req) {
  if (!adapter) return false;
  if (opt.mount !== '/') return adapter.check(req);
  const u = new URL(req.url, 'http://x');
  if (u.pathname !== '/') return /\.js$/.test(u.pathname) && u.pathname === '/client.js';
  if (req.method === 'POST' || req.method === 'OPTIONS') return true;
  if (req.headers.upgrade) return true;
  return req.method === 'GET' && u.searchParams.has('message');
}

server.on('request', (req, res) => {
  if (claims(req)) return adapter.handle(req, res);
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Not found');
});
server.on('upgrade', (req, socket, head) => {
  if (claims(req)) return adapter.handleUpgrade(req, socket, head);
  socket.destroy();
});
process.on('SIGTERM', () => process.exit(0));
server.listen(opt.port, opt.host, () => {
  process.stdout.write(`wshub listening on http://${opt.host}:${server.address().port}\n`);
});
