// redis.js -- a throwaway redis-server for a test, and clients for it.
// SPDX-License-Identifier: MIT
//
// startRedis() picks a free loopback port, runs /usr/bin/redis-server on
// it with persistence off, and resolves once the server has printed
// "Ready to accept connections". Nothing here sleeps to wait: like
// wshub.js, every wait is for a line or an exit, with a timeout.
//
// The handle's stop() kills that server by PID and waits for its exit;
// restart() starts a new one on the same port, so a wshub that was told
// --redis redis://127.0.0.1:PORT can find it again.
'use strict';

const { spawn } = require('node:child_process');
const net = require('node:net');
const { Lines, withTimeout } = require('./wshub');

const REDIS_BIN = process.env.REDIS_SERVER || '/usr/bin/redis-server';

// A port nobody is listening on right now: bind port 0, read it, close.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Run one redis-server on port. Resolves to { proc, exited, out } once it
// is ready, or rejects if it exits first (a port taken since freePort()).
async function spawnRedis(port, ms, extra = []) {
  const proc = spawn(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = new Lines(proc.stdout);
  const err = new Lines(proc.stderr);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const spawnFailed = new Promise((_, reject) => proc.once('error', reject));
  try {
    await withTimeout(Promise.race([
      out.wait(/Ready to accept connections/, ms),
      spawnFailed,
      exited.then((e) => {
        throw new Error(`redis-server on ${port} exited early: ${JSON.stringify(e)}\n${out.lines.concat(err.lines).slice(-10).join('\n')}`);
      }),
    ]), ms, `redis-server on port ${port} to be ready`);
  } catch (e) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    throw e;
  }
  return { proc, exited, out };
}

// Start a redis-server on a free port (args: more redis-server flags,
// e.g. ['--requirepass', 'pw']). Resolves to { port, url, stop(), restart() }.
async function startRedis({ ms = 10000, tries = 5, args = [] } = {}) {
  let port;
  let cur;
  let lastErr;
  for (let i = 0; i < tries && !cur; i++) {
    port = await freePort();
    try {
      cur = await spawnRedis(port, ms, args);
    } catch (e) {
      lastErr = e;
    }
  }
  if (!cur) throw lastErr;
  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() { return cur && cur.proc.pid; },
    // Kill by PID (SIGKILL: an outage, not a shutdown) and wait for the exit.
    async stop(signal = 'SIGKILL') {
      if (!cur) return;
      const { proc, exited } = cur;
      cur = null;
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, signal);
      await withTimeout(exited, ms, `redis-server ${proc.pid} to exit`);
    },
    // Start again on the same port (after stop()).
    async restart() {
      if (cur) await handle.stop();
      let e2;
      for (let i = 0; i < tries; i++) {
        try {
          cur = await spawnRedis(port, ms, args);
          return handle;
        } catch (e) {
          e2 = e;
        }
      }
      throw e2;
    },
  };
  return handle;
}

// A connected redis@4 client for url. opts go to createClient (e.g.
// { socket: { reconnectStrategy: false } }).
async function redisClient(url, opts = {}) {
  const { createClient } = require('redis');
  const client = createClient({ url, ...opts });
  client.on('error', () => { /* reconnects are the tests' business */ });
  await withTimeout(client.connect(), 5000, `redis client to connect to ${url}`);
  return client;
}

module.exports = { startRedis, redisClient, freePort };
