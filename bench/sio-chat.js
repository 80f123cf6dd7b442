// sio-chat.js -- the socket.io peer: the same contracts as wshub's apps, so
// both servers do the same work.
//   node sio-chat.js PORT        the chat (chat.c): on connection a socket
//       joins "general" and the room hears presence; "message" {text} is
//       broadcast to "general" as {id, text, userId, name, room,
//       timestamp} and acked with {id, timestamp}.
//   node sio-chat.js PORT echo   the protocol app (echoapp.c), as in the
//       Socket.IO protocol's test suite: "auth" is emitted on connection,
//       "message" comes back as "message-back" with the same arguments,
//       "message-with-ack" is acked with them; used for the idle-session
//       and long-polling scenarios.
//   node sio-chat.js PORT [echo] --redis redis://HOST:PORT
//       either app as one node of a cluster, as wshub --redis: the
//       adapter is @socket.io/redis-adapter's classic createAdapter(pub,
//       sub) on node-redis 4, so a broadcast to "general" is published
//       to Redis and every node delivers it to its own members. The
//       listening line comes once both Redis connections are up.
// Both transports are accepted (socket.io's default), as wshub does:
// polling for the long-polling rows, WebSocket for the others.
// SPDX-License-Identifier: MIT
'use strict';
const http = require('node:http');
const { Server } = require('socket.io');

const argv = process.argv.slice(2);
const redisAt = argv.indexOf('--redis');
const redisUrl = redisAt >= 0 ? argv.splice(redisAt, 2)[1] : null;
const port = Number(argv[0] || 0);
const echoApp = argv[1] === 'echo';
const server = http.createServer();
const io = new Server(server, { perMessageDeflate: false, serveClient: false });
let nextId = 0;

io.on('connection', (socket) => {
  if (echoApp) {
    socket.emit('auth', socket.handshake.auth);
    socket.on('message', (...args) => socket.emit('message-back', ...args));
    socket.on('message-with-ack', (...args) => {
      const ack = args.pop();
      ack(...args);
    });
    return;
  }
  const name = `guest-${socket.id.slice(0, 4)}`;
  socket.join('general');
  io.to('general').emit('presence', { room: 'general', userId: socket.id, name, action: 'join' });
  socket.on('message', (msg, ack) => {
    if (!msg || typeof msg.text !== 'string' || msg.text.length === 0 || msg.text.length > 2000) {
      if (typeof ack === 'function') ack({ error: 'text must be a string of 1 to 2000 bytes' });
      return;
    }
    const timestamp = new Date().toISOString();
    const id = ++nextId;
    io.to('general').emit('message', { id, text: msg.text, userId: socket.id, name, room: 'general', timestamp });
    if (typeof ack === 'function') ack({ id, timestamp });
  });
});

async function main() {
  if (redisUrl) {
    const { createClient } = require('redis');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on('error', (e) => console.error(`sio-chat: redis: ${e.message}`));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  server.listen(port, '127.0.0.1', () => console.log(`socket.io listening on http://127.0.0.1:${server.address().port}`));
}
main().catch((e) => { console.error(e); process.exit(1); });
