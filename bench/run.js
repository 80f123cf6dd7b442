// run.js -- `make bench`: wshub measured against Node's ws, socket.io and faye,
// side by side, in one run, on this machine.
// SPDX-License-Identifier: MIT
//
// Each scenario runs against wshub and against its peer in alternation,
// three times each; the server is pinned to CPU 0 and the load generator
// (build/wsload) to CPU 1 with taskset. The table shows medians and the
// ratio wshub/peer. Nothing here is a test: no time is asserted.
//
// The cross-node row runs a cluster: its own redis-server on a free port,
// two nodes (wshub --redis, or sio-chat.js --redis on socket.io's Redis
// adapter) and the load against both. With two cores there is no core
// per node, so both nodes and Redis share CPU 0 and the load keeps CPU 1
// to itself, as in every other row: the cluster gets the one core a
// single server gets, the load tool is not slowed by what it measures
// (at 1,000,000 deliveries/s it needs the whole of CPU 1), and the
// comparison with one node on CPU 0 shows what the Redis hop and the
// second node cost, not what a second core would buy.
//
// A row with no peer compares wshub with itself: its base runs another
// load (base) or wshub with other arguments (baseArgs), and the peer
// column says which (baseLabel). The --data rows are such: wshub with a
// journal against wshub in memory. A row's arguments may name files of
// the run's own (DATA, TOKEN_FILE, TLS_CERT, TLS_KEY below), made fresh
// for every run.
//
// The wss:// rows (`--only wss`) run wshub --tls-cert --tls-key against
// ws-echo.js with the same flags (Node's https.createServer under ws),
// both with the same throwaway certificate, and build/wsload --tls. The
// idle wss row also runs wshub on plain ws:// as its base, so the cost
// of TLS per connection shows beside it.
//
//   node bench/run.js [--reps N] [--seconds S] [--only NAME] [--wshub PATH]
//                     [--wsload PATH]
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const net = require('node:net');

const ROOT = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const REPS = Number(opt('--reps', 3));
const SECONDS = String(opt('--seconds', 5));
const ONLY = opt('--only', '');
const WSHUB = path.resolve(opt('--wshub', path.join(ROOT, 'wshub'))); // e.g. an older build, for "before"
const WSLOAD = path.resolve(opt('--wsload', path.join(ROOT, 'build', 'wsload')));
const REDIS = '/usr/bin/redis-server';

const servers = {
  wshub: (extra = []) => [WSHUB, '--port', '0', '--max-conns', '20000', '--root', path.join(ROOT, 'www'), ...extra],
  ws: (extra = []) => ['node', path.join(__dirname, 'ws-echo.js'), '0', ...extra],
  'socket.io': (extra = []) => ['node', path.join(__dirname, 'sio-chat.js'), '0', ...extra],
  faye: () => ['node', path.join(__dirname, 'faye-server.js'), '0'],
};

// Stand-ins, in a row's server arguments or load, for files of one run's
// own: DATA, an empty directory (--data), and TOKEN_FILE, a file whose
// line is a random API token (wshub's --api-token-file, wsload's
// --token-file: neither takes a token in argv, where ps shows it). They
// live in a new directory under os.tmpdir() (set TMPDIR to put the
// journal on another disk), removed once the run's server has stopped,
// so no run replays another's journal.
//
// TLS_CERT and TLS_KEY are a self-signed certificate for 127.0.0.1 (in
// its subjectAltName, so wsload --ca TLS_CERT checks it) and its key,
// made by the openssl command-line tool. The key is RSA 2048, still the
// most common on the web. It also keeps the handshake row about the
// server: the server's RSA signature costs about 0.4 ms on this machine,
// the client's check of it 0.03 ms. With ECDSA P-256 that turns around
// (a signature about 0.04 ms, its check 0.12 ms), and the one CPU of the
// load tool would be measured instead. Even with RSA the tool spends
// about 0.9 ms of CPU on a handshake (OpenSSL 3.0's own costs, the
// signature check the least of them), close to what wshub spends: the
// row's load tool CPU line says how close to its one CPU it is.
const DATA = Symbol('DATA');
const TOKEN_FILE = Symbol('TOKEN_FILE');
const TLS_CERT = Symbol('TLS_CERT');
const TLS_KEY = Symbol('TLS_KEY');
const TLS_ARGS = ['--tls-cert', TLS_CERT, '--tls-key', TLS_KEY]; // wshub's flags, and ws-echo.js's

// The files of one run: fill(list) returns list with the stand-ins
// replaced by paths, making the directory the first time one is used;
// remove() deletes it, if it was made.
function runFiles() {
  let dir = null;
  let cert = false;
  const made = () => {
    if (!dir) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-bench-'));
      fs.mkdirSync(path.join(dir, 'data'));
      fs.writeFileSync(path.join(dir, 'token'), `${crypto.randomBytes(16).toString('hex')}\n`, { mode: 0o600 });
    }
    return dir;
  };
  const tls = () => {
    if (!cert) {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', path.join(made(), 'key.pem'), '-out', path.join(made(), 'cert.pem')],
      { stdio: 'ignore' });
      cert = true;
    }
    return dir;
  };
  const fill = (a) => {
    if (a === DATA) return path.join(made(), 'data');
    if (a === TOKEN_FILE) return path.join(made(), 'token');
    if (a === TLS_CERT) return path.join(tls(), 'cert.pem');
    if (a === TLS_KEY) return path.join(tls(), 'key.pem');
    return a;
  };
  return {
    fill: (list) => list.map(fill),
    remove: () => dir && fs.rmSync(dir, { recursive: true, force: true }),
  };
}

// Each row: what to run, which numbers to show, and the target. A
// target's test gets the ratio, the wshub figure and the peer's (or
// base's) figure.
const scenarios = [
  {
    name: 'echo latency 1x1x32 B (busy-poll)', peer: 'ws',
    load: ['echo', '--conns', '1', '--depth', '1', '--size', '32', '--busy'],
    show: [['p50_us', 'p50 round trip, us', 'at most 0.85x', (r) => r <= 0.85], ['p99_us', 'p99 round trip, us']],
  },
  {
    name: 'echo throughput 100x16x32 B', peer: 'ws',
    load: ['echo', '--conns', '100', '--depth', '16', '--size', '32'],
    show: [['msgs_per_s', 'messages/s', 'at least 10x', (r) => r >= 10], ['server_ns_per_msg', 'server CPU ns/message'],
      ['tool_cpu', 'load tool CPU'], ['server_cpu', 'server CPU']],
  },
  {
    name: 'echo 100x4x16 KiB', peer: 'ws',
    load: ['echo', '--conns', '100', '--depth', '4', '--size', '16384'],
    show: [['msgs_per_s', 'messages/s'], ['server_ns_per_msg', 'server CPU ns/message']],
  },
  {
    name: 'fan-out to 1,000 Socket.IO receivers, 50 msg/s', peer: 'socket.io',
    load: ['fanout', '--conns', '1000', '--rate', '50', '--sources', '2'],
    show: [['server_ns_per_delivery', 'server CPU ns/delivery', 'at most 0.05x', (r) => r <= 0.05],
      ['p99_us', 'p99 delivery latency, us', 'at most 0.2x', (r) => r <= 0.2], ['p50_us', 'p50 delivery latency, us'],
      ['deliveries_per_s', 'deliveries/s'], ['missing', 'deliveries missing', '0', (r, a) => a === 0]],
  },
  {
    // The cost of --data on the row above: each chat message is one
    // journal record, written before the message is acknowledged or
    // delivered, whatever the room's size. The target (issue 11) is that
    // deliveries/s stays at least 0.9x the in-memory figure. At 50 msg/s
    // the sender fixes deliveries/s (50,000 whenever the server keeps up
    // at all), so that ratio is 1 by construction; the cost shows in the
    // CPU per delivery and the latency, shown beside it. The next row
    // makes the ratio mean something.
    name: 'fan-out to 1,000 Socket.IO receivers, 50 msg/s, --data vs in memory', peer: null,
    wshubArgs: ['--data', DATA], baseArgs: [], baseLabel: 'in memory',
    load: ['fanout', '--conns', '1000', '--rate', '50', '--sources', '2'],
    show: [['deliveries_per_s', 'deliveries/s', 'at least 0.9x', (r) => r >= 0.9],
      ['server_ns_per_delivery', 'server CPU ns/delivery'],
      ['p99_us', 'p99 delivery latency, us'], ['p50_us', 'p50 delivery latency, us'],
      ['missing', 'deliveries missing', '0', (r, a, b) => a === 0 && b === 0]],
  },
  {
    // The same at 1 msg/ms, the cross-node row's rate: about 1,000,000
    // deliveries/s, about the most the load tool can check (it then needs
    // all of CPU 1, see the top), so a higher rate would measure the
    // tool, with or without --data. wshub uses about half of CPU 0 here.
    // A server the journal slows falls behind the sender, so deliveries/s
    // counts only those that came while it was sending (in_window_per_s),
    // and the 0.9x target is a real one, if a loose one: a record costs
    // microseconds once per message, a thousandth of that per delivery,
    // so the CPU per delivery is the finer measure. The API row shows a
    // record's cost on its own.
    name: 'fan-out to 1,000 Socket.IO receivers, 1 msg/ms, --data vs in memory', peer: null,
    wshubArgs: ['--data', DATA], baseArgs: [], baseLabel: 'in memory',
    load: ['fanout', '--conns', '1000', '--rate', '1000', '--sources', '2', '--settle', '300'],
    show: [['in_window_per_s', 'deliveries/s while sending', 'at least 0.9x', (r) => r >= 0.9],
      ['server_ns_per_delivery', 'server CPU ns/delivery'],
      ['p99_us', 'p99 delivery latency, us'],
      ['missing', 'deliveries missing 10 s after the last send', '0', (r, a, b) => a === 0 && b === 0]],
  },
  {
    // Half the receivers on each node, the sender on node 1: every message
    // is delivered by node 1 to its 500 and published to Redis, and node 2
    // delivers it to its 500. A server that cannot keep up at 1 msg/ms is
    // still delivering after the sender stops, so deliveries/s counts only
    // those that came while it was sending (wsload's in_window_per_s).
    // base: wshub alone with all 1,000 receivers, same rate.
    name: 'cross-node fan-out, 2 nodes x 500 Socket.IO receivers, 1 msg/ms', peer: 'socket.io', nodes: 2,
    load: ['fanout', '--conns', '1000', '--rate', '1000', '--sources', '2', '--settle', '300'],
    show: [['in_window_per_s', 'deliveries/s while sending', 'at least 5x', (r) => r >= 5],
      ['p99_us', 'p99 delivery latency, us'], ['p50_us', 'p50 delivery latency, us'],
      ['node1_p99_us', 'p99 delivery latency on node 1 (sender\'s), us'],
      ['node2_p99_us', 'p99 delivery latency on node 2 (via Redis), us'],
      ['missing', 'deliveries missing 10 s after the last send', '0', (r, a) => a === 0],
      ['server_ns_per_delivery', 'server CPU ns/delivery, both nodes']],
    base: ['fanout', '--conns', '1000', '--rate', '1000', '--sources', '2', '--settle', '300'],
    baseLabel: '1 node', baseShow: [['in_window_per_s', 'deliveries/s while sending, 2 nodes vs 1 node'],
      ['p99_us', 'p99 delivery latency, us, 2 nodes vs 1 node'],
      ['server_ns_per_delivery', 'server CPU ns/delivery, 2 nodes vs 1 node']],
  },
  {
    name: 'idle 10,000 WebSockets', peer: 'ws',
    load: ['idle', '--conns', '10000', '--sources', '4'],
    show: [['bytes_per_conn', 'server RSS bytes/connection', 'at most 512 B', (r, a) => a <= 512], ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    name: 'idle 10,000 Socket.IO sessions', peer: 'socket.io', wshubArgs: ['--app', 'echo'], peerArgs: ['echo'],
    load: ['idle', '--conns', '10000', '--sio', '--sources', '4'],
    show: [['bytes_per_conn', 'server RSS bytes/session', 'at most 1024 B', (r, a) => a <= 1024], ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    name: 'scaling: echo 100x16x32 B beside 10,000 idle', peer: null, baseLabel: '100 idle',
    load: ['echo', '--conns', '100', '--depth', '16', '--size', '32', '--idle', '10000', '--sources', '4'],
    base: ['echo', '--conns', '100', '--depth', '16', '--size', '32', '--idle', '100'],
    show: [['server_ns_per_msg', 'server CPU ns/message, 10,000 idle vs 100 idle', 'at most 2x', (r) => r <= 2]],
  },
  {
    name: 'quiet client among 10,000 idle, no other load', peer: 'ws',
    load: ['echo', '--conns', '0', '--quiet', '600', '--size', '32', '--idle', '10000', '--sources', '4', '--seconds', '15'],
    show: [['quiet_p50_us', 'quiet client RTT p50, us', 'at most 1,000 us', (r, a) => a <= 1000],
      ['quiet_max_us', 'quiet client RTT max, us'], ['quiet_samples', 'samples']],
  },
  {
    name: 'quiet client among 10,000 idle, 100 hot 4x32 B', peer: 'ws',
    load: ['echo', '--conns', '100', '--depth', '4', '--quiet', '600', '--size', '32', '--idle', '10000', '--sources', '4', '--seconds', '15'],
    show: [['quiet_p50_us', 'quiet client RTT p50, us', 'at most 2,000 us', (r, a) => a <= 2000],
      ['quiet_max_us', 'quiet client RTT max, us', 'at most 10,000 us', (r, a) => a <= 10000],
      ['quiet_samples', 'samples'], ['server_ns_per_msg', 'hot clients: server CPU ns/message']],
  },
  {
    name: 'polling echo 100x1x32 B', peer: 'socket.io', wshubArgs: ['--app', 'echo'], peerArgs: ['echo'],
    load: ['echo', '--polling', '--conns', '100', '--size', '32', '--path', '/socket.io/'],
    show: [['msgs_per_s', 'messages/s', 'at least 5x', (r) => r >= 5],
      ['server_ns_per_msg', 'server CPU ns/message', 'at most 0.2x', (r) => r <= 0.2],
      ['p50_us', 'p50 round trip, us'], ['tool_cpu', 'load tool CPU'], ['server_cpu', 'server CPU'],
      ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    name: 'idle 5,000 Socket.IO sessions on polling', peer: 'socket.io', wshubArgs: ['--app', 'echo'], peerArgs: ['echo'],
    load: ['idle', '--polling', '--conns', '5000', '--sources', '4', '--path', '/socket.io/'],
    show: [['bytes_per_conn', 'server RSS bytes/session', 'at most 2048 B', (r, a) => a <= 2048],
      ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    // faye's NodeAdapter (bench/faye-server.js) against wshub --faye: 1,000
    // subscribers and one publisher, each handshaken over HTTP POST and
    // then on a WebSocket, as faye's clients do. The publisher keeps 16
    // publishes in flight (unanswered, or not yet delivered to all), so
    // deliveries/s is what the server sustains. The window matters to a
    // server that writes what is queued for a socket in one go: wshub's
    // CPU per delivery falls as it grows (one publish in flight: one
    // write per delivery), faye's does not (a frame and a write for each).
    // Delivery latency is not shown: with the window full it is the
    // window over the rate (Little's law), nothing more.
    name: 'Bayeux fan-out to 1,000 subscribers over WebSocket', peer: 'faye', wshubArgs: ['--faye', '/faye'],
    load: ['bayeux', '--conns', '1000', '--window', '16', '--sources', '4'],
    show: [['deliveries_per_s', 'deliveries/s', 'at least 10x', (r) => r >= 10],
      ['server_ns_per_delivery', 'server CPU ns/delivery'], ['server_cpu', 'server CPU'],
      ['tool_cpu', 'load tool CPU'], ['lost', 'deliveries lost', '0', (r, a) => a === 0],
      ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    name: 'idle 2,000 Bayeux clients on WebSocket', peer: 'faye', wshubArgs: ['--faye', '/faye'],
    load: ['idle', '--bayeux', '--conns', '2000', '--sources', '4'],
    show: [['bytes_per_conn', 'server RSS bytes/client'], ['errors', 'errors', '0', (r, a) => a === 0]],
  },
  {
    // The REST API's write path, with --data (each POST appends a journal
    // record, write(2) returning before the 201 goes) against without;
    // the rest (HTTP, the JSON body, the chat's checks, the broadcast to
    // a room nobody is in) is the same. 50 keep-alive connections, one
    // POST of a 32-byte text out on each. No peer: socket.io has no REST
    // API, and one we wrote for it would be our code, not theirs.
    name: 'API writes, POST with keep-alive, 50 connections, --data vs in memory', peer: null,
    wshubArgs: ['--api-token-file', TOKEN_FILE, '--data', DATA],
    baseArgs: ['--api-token-file', TOKEN_FILE], baseLabel: 'in memory',
    load: ['api', '--conns', '50', '--size', '32', '--token-file', TOKEN_FILE,
      '--path', '/api/rooms/general/messages'],
    show: [['msgs_per_s', 'writes/s'], ['server_ns_per_msg', 'server CPU ns/write'],
      ['p50_us', 'p50 round trip, us'], ['p99_us', 'p99 round trip, us'],
      ['server_cpu', 'server CPU'], ['tool_cpu', 'load tool CPU'],
      ['errors', 'errors', '0', (r, a, b) => a === 0 && b === 0]],
  },
  {
    // The echo throughput row over TLS 1.3: each record carries the
    // frames one write sends, so the cost of TLS per message falls as
    // more are in flight.
    name: 'wss echo throughput 100x16x32 B', peer: 'ws', wshubArgs: TLS_ARGS, peerArgs: TLS_ARGS,
    load: ['echo', '--conns', '100', '--depth', '16', '--size', '32', '--tls', '--ca', TLS_CERT],
    show: [['msgs_per_s', 'messages/s', 'at least 5x', (r) => r >= 5], ['server_ns_per_msg', 'server CPU ns/message'],
      ['p50_us', 'p50 round trip, us'], ['tool_cpu', 'load tool CPU'], ['server_cpu', 'server CPU']],
  },
  {
    // New connections per second, 16 on their way at any time: each a new
    // TCP connection, a full TLS 1.3 handshake (wsload offers no session
    // to resume: resumed is 0) and the WebSocket upgrade, counted at its
    // 101 and then closed. What a reconnecting crowd costs; no target.
    name: 'TLS handshakes per second, new wss connections', peer: 'ws', wshubArgs: TLS_ARGS, peerArgs: TLS_ARGS,
    load: ['handshake', '--conns', '16', '--tls', '--ca', TLS_CERT],
    show: [['handshakes_per_s', 'connections/s (TCP, full TLS handshake, upgrade)'],
      ['server_ns_per_handshake', 'server CPU ns/connection'], ['p50_us', 'p50 connect to 101, us'],
      ['tool_cpu', 'load tool CPU'], ['server_cpu', 'server CPU'],
      ['resumed', 'TLS sessions resumed', '0', (r, a, b) => a === 0 && b === 0],
      ['errors', 'errors', '0', (r, a, b) => a === 0 && b === 0]],
  },
  {
    // The idle WebSocket row's method at 5,000, over TLS; its base is
    // wshub at 5,000 on plain ws://, so the second line is what TLS
    // adds to an idle connection. Both open 128 at a time (--ahead), not
    // all at once: 5,000 TLS handshakes take a server seconds, and
    // meanwhile connects beyond its listen backlog (511) are dropped and
    // retried 1, 3, 7, 15 s later, so some missed wsload's 30 s. Opened
    // that way or all at once, plain ws:// measures the same (481 and
    // 479 B on 2026-12-02).
    name: 'idle 5,000 wss connections', peer: 'ws', wshubArgs: TLS_ARGS, peerArgs: TLS_ARGS,
    load: ['idle', '--conns', '5000', '--sources', '4', '--ahead', '128', '--tls', '--ca', TLS_CERT],
    show: [['bytes_per_conn', 'server RSS bytes/connection', 'at most 0.5x', (r) => r <= 0.5],
      ['errors', 'errors', '0', (r, a, b) => a === 0 && b === 0]],
    base: ['idle', '--conns', '5000', '--sources', '4', '--ahead', '128'], baseArgs: [], baseLabel: 'ws://',
    baseShow: [['bytes_per_conn', 'server RSS bytes/connection, wss:// vs ws://']],
  },
];

// Start a server pinned to CPU 0; resolve with its pid and port once it
// prints its "listening on http://H:P" (or https://) line.
function startServer(argv) {
  return new Promise((resolve, reject) => {
    const proc = spawn('taskset', ['-c', '0', ...argv], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line from ${argv.join(' ')}`)), 10000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout.removeAllListeners('data');
        proc.stdout.resume();
        resolve({ proc, pid: proc.pid, port: Number(m[1]) });
      }
    });
    proc.on('exit', () => reject(new Error(`${argv[0]} exited early`)));
  });
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve(); // gone already
    s.proc.removeAllListeners('exit');
    s.proc.on('exit', resolve);
    s.proc.kill('SIGTERM');
    setTimeout(() => s.proc.kill('SIGKILL'), 3000);
  });
}

// A free TCP port on 127.0.0.1 (the kernel's pick, released again).
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const redisCli = (port, ...cmd) => {
  try {
    return execFileSync('redis-cli', ['-p', String(port), ...cmd], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
};

// A redis-server of this run's own, pinned to CPU 0 with the nodes, no
// persistence; ready once it answers PING. The port is free when picked,
// so a retry covers the rare race with someone else taking it.
async function startRedis() {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const proc = spawn('taskset', ['-c', '0', REDIS, '--port', String(port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i++) {
      if (redisCli(port, 'ping').trim() === 'PONG') return { proc, pid: proc.pid, port };
      await sleep(50);
    }
    if (!exited) await stopServer({ proc });
  }
  throw new Error(`${REDIS} did not start`);
}

// Redis connections with a subscription (SUBSCRIBE or PSUBSCRIBE).
const subscribers = (redis) => redisCli(redis.port, 'client', 'list').split('\n')
  .filter((l) => /\bp?sub=[1-9]/.test(l)).length;

// Wait (up to 10 s) until at least n Redis connections are subscribed,
// then 200 ms more; return how many are. A node says it listens before
// its adapter has subscribed, and what is published before that is not
// delivered on that node.
async function waitSubscribers(redis, n) {
  for (let i = 0; i < 200 && subscribers(redis) < n; i++) await sleep(50);
  await sleep(200);
  const got = subscribers(redis);
  if (got < n) process.stderr.write(`warning: ${got} Redis subscribers after 10 s, not ${n}\n`);
  return got;
}

// taskset runs the server via exec, so its pid is the server's.
function runLoad(server, load) {
  // A scenario that needs a longer window (one sample per 600 ms) says so.
  const argv = ['-c', '1', WSLOAD, ...load,
    '--port', String(server.port), '--server-pid', String(server.pid),
    ...(load.includes('--seconds') ? [] : ['--seconds', SECONDS])];
  if (load.includes('echo') && !load.includes('--path')) argv.push('--path', '/echo');
  let out;
  try {
    out = execFileSync('taskset', argv, { encoding: 'utf8', timeout: 120000 });
  } catch (e) {
    out = e.stdout || '';
  }
  const line = out.trim().split('\n').pop() || '';
  const r = {};
  for (const kv of line.split(' ')) {
    const [k, v] = kv.split('=');
    if (v !== undefined) r[k] = Number.isNaN(Number(v)) ? v : Number(v);
  }
  return r;
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

// One run: the server (or two nodes and Redis), the load, its figures.
// extra is the server's arguments beyond its defaults: the row's
// wshubArgs or peerArgs unless given (a base run gives baseArgs; a row
// without baseArgs, undefined here, has its wshubArgs).
async function once(kind, scenario, load, nodes = 1,
  extra = kind === 'wshub' ? scenario.wshubArgs : scenario.peerArgs) {
  const files = runFiles();
  const given = files.fill(extra || []);
  const argv = (more) => servers[kind]([...given, ...more]);
  try {
    return await onceWith(argv, files.fill(load), nodes);
  } finally {
    files.remove(); // its servers have stopped
  }
}

async function onceWith(argv, load, nodes) {
  if (nodes === 1) {
    const s = await startServer(argv([]));
    try {
      return runLoad(s, load);
    } finally {
      await stopServer(s);
    }
  }
  // Two nodes on one Redis: the load's sender and first half on node 1.
  const redis = await startRedis();
  const started = [];
  try {
    const url = ['--redis', `redis://127.0.0.1:${redis.port}`];
    started.push(await startServer(argv(url)));
    const one = await waitSubscribers(redis, 1); // node 1's subscribed connections
    started.push(await startServer(argv(url)));
    await waitSubscribers(redis, 2 * one); // node 2 has as many
    const [n1, n2] = started;
    return runLoad(n1, [...load, '--port2', String(n2.port), '--server-pid2', String(n2.pid),
      '--redis-pid', String(redis.pid)]);
  } finally {
    for (const s of started) await stopServer(s);
    await stopServer(redis);
  }
}

function fmt(x) {
  if (typeof x !== 'number' || Number.isNaN(x)) return 'n/a';
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toFixed(2);
}

async function main() {
  const rows = [];
  for (const sc of scenarios) {
    if (ONLY && !sc.name.includes(ONLY)) continue;
    const a = [];
    const b = [];
    const c = []; // a row with a peer and a base: wshub on one node
    for (let rep = 0; rep < REPS; rep++) {
      a.push(await once('wshub', sc, sc.load, sc.nodes));
      b.push(sc.peer ? await once(sc.peer, sc, sc.load, sc.nodes)
        : await once('wshub', sc, sc.base || sc.load, 1, sc.baseArgs));
      if (sc.peer && sc.base) c.push(await once('wshub', sc, sc.base, 1, sc.baseArgs));
      process.stderr.write(`${sc.name}: run ${rep + 1}/${REPS} done\n`);
    }
    for (const [key, label, target, ok] of sc.show) {
      const x = median(a.map((r) => r[key]));
      const y = median(b.map((r) => r[key]));
      const ratio = y ? x / y : NaN;
      rows.push({
        scenario: sc.name, metric: label, wshub: fmt(x),
        peer: sc.peer ? fmt(y) : `${fmt(y)} (${sc.baseLabel})`,
        ratio: Number.isFinite(ratio) ? `${ratio.toFixed(3)}x` : '',
        target: target || '', met: ok ? (ok(ratio, x, y) ? 'yes' : 'NO') : '',
      });
    }
    for (const [key, label] of c.length ? sc.baseShow : []) {
      const x = median(a.map((r) => r[key]));
      const y = median(c.map((r) => r[key]));
      const ratio = y ? x / y : NaN;
      rows.push({
        scenario: sc.name, metric: label, wshub: fmt(x), peer: `${fmt(y)} (${sc.baseLabel})`,
        ratio: Number.isFinite(ratio) ? `${ratio.toFixed(3)}x` : '', target: '', met: '',
      });
    }
  }
  const cpu = os.cpus()[0].model;
  console.log(`\nwshub vs peers, medians of ${REPS} runs, ${SECONDS} s each, ${os.cpus().length} cores (${cpu}), ` +
    `server on CPU 0, load on CPU 1, Node ${process.version}\n`);
  console.log('| scenario | measure | wshub | peer | wshub/peer | target | met |');
  console.log('| --- | --- | ---: | ---: | ---: | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.scenario} | ${r.metric} | ${r.wshub} | ${r.peer} | ${r.ratio} | ${r.target} | ${r.met} |`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
