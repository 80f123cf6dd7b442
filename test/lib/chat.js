// chat.js -- chat users on the official socket.io-client, for the tests
// that drive the chat next to something else (the REST API, restarts).
// SPDX-License-Identifier: MIT
//
// chatUser() connects over WebSocket, takes a name and joins rooms, each
// step acknowledged; closeSockets() closes every socket made so far.
'use strict';

const assert = require('node:assert');
const { io } = require('socket.io-client');
const { withTimeout } = require('./wshub');

const SLOW = process.env.WSHUB_SANITIZED ? 3 : 1; // as the tests' own ms()
const ms = (n) => n * SLOW;

const sockets = new Set();

// An event with an acknowledgement: resolves to the ack's first argument.
const ask = (socket, ...args) => socket.timeout(ms(5000)).emitWithAck(...args);

// A chat user: connected, named, and in these rooms (general comes free).
async function chatUser(server, name, rooms = []) {
  const socket = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.add(socket);
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), ms(5000), `${name} to connect`);
  assert.deepStrictEqual(await ask(socket, 'nick', name), { name });
  for (const room of rooms) assert.strictEqual((await ask(socket, 'join', room)).room, room);
  return socket;
}

function closeSockets() {
  for (const s of sockets) s.close();
  sockets.clear();
}

module.exports = { chatUser, ask, closeSockets };
