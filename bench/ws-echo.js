// ws-echo.js -- the peer for the echo scenarios: Node's ws, compression off,
// every message sent straight back with its opcode.
// SPDX-License-Identifier: MIT
//
//   node ws-echo.js PORT [--tls-cert FILE --tls-key FILE]
//
// With --tls-cert and --tls-key (PEM, as wshub takes them) it serves wss://
// from Node's https.createServer, which takes Node's TLS defaults: TLS 1.2
// and 1.3, session tickets on. The first line then says https://.
'use strict';
const fs = require('node:fs');
const https = require('node:https');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const port = Number(args[0] || 0);
const cert = opt('--tls-cert');
const key = opt('--tls-key');
if (Boolean(cert) !== Boolean(key)) {
  console.error('ws-echo.js: --tls-cert and --tls-key go together');
  process.exit(2);
}

const options = { perMessageDeflate: false, maxPayload: 16 << 20 };
const echo = (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
};

if (cert) {
  const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
  new WebSocketServer({ server, ...options }).on('connection', echo);
  server.listen(port, '127.0.0.1', () => {
    console.log(`ws listening on https://127.0.0.1:${server.address().port}`);
  });
} else {
  const wss = new WebSocketServer({ host: '127.0.0.1', port, ...options });
  wss.on('connection', echo);
  wss.on('listening', () => console.log(`ws listening on http://127.0.0.1:${wss.address().port}`));
}
