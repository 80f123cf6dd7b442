// lab.js -- what the lab's checks share: the server, the real clients, waits
// SPDX-License-Identifier: MIT
//
// The checks use the peers the tests use (socket.io-client, faye, ws, from
// test/node_modules, exactly as test/package-lock.json pins them) and
// test/lib/wshub.js's startServer, which runs $WSHUB_BIN on port 0 and
// reads the port from its first line. Nothing here sleeps to wait: every
// wait is for an event, a line or a close, with a timeout that names it.
'use strict';

const path = require('node:path');
const { createRequire } = require('node:module');

const REPO = path.resolve(__dirname, '..', '..');
// Resolve packages as test/ does, so the lab needs no install of its own.
const peers = createRequire(path.join(REPO, 'test', 'package.json'));
const wshub = require(path.join(REPO, 'test', 'lib', 'wshub.js'));
const { withTimeout } = wshub;

const { io } = peers('socket.io-client');

// Connect to the chat on WebSocket and wait for 'connect'.
async function connect(server, opts = {}) {
  const socket = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), 5000, 'the socket.io client to connect');
  return socket;
}

// Wait for one event; resolves to its first argument.
function once(emitter, event, ms = 3000) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (arg) => resolve(arg))), ms, `event "${event}"`);
}

// Emit with an ack and wait for the answer (ms, then a clear failure).
function ask(socket, event, ...args) {
  const ms = 2000;
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, resolve)), ms,
    `the server to answer "${event}"'s ack (is there a handler for it?)`);
}

// Subtests that stop at the first failure: the rest are skipped, since
// each builds on the one before and would only wait out its timeouts.
//   const step = stepper(t);
//   await step('what it checks', async () => { ... });
function stepper(t) {
  let failed = false;
  return (name, fn) => t.test(name, { skip: failed ? 'an earlier step failed' : false }, async (st) => {
    try {
      await fn(st);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

module.exports = { REPO, peers, connect, once, ask, stepper, withTimeout, ...wshub };
