// ws-echo.js -- the peer for the echo scenarios: Node's ws, compression off,
// every message sent straight back with its opcode.
// SPDX-License-Identifier: MIT
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => console.log(`ws listening on http://127.0.0.1:${wss.address().port}`));
