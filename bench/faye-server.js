// faye-server.js -- the Bayeux peer: faye 1.4.3's own server, as its README
// sets it up, for the Bayeux rows of run.js.
//   node faye-server.js PORT
// A NodeAdapter mounted at /faye (HTTP and WebSocket upgrades alike) on a
// bare http.createServer(), held connects answered after 60 s, no
// extensions, the in-memory engine: what wshub --faye /faye stands in for.
// Its first line is the one wshub prints, "wshub listening on
// http://127.0.0.1:PORT", so that run.js and the tests' helpers, which
// wait for that line, start either server the same way.
// SPDX-License-Identifier: MIT
'use strict';
const http = require('node:http');
const faye = require('faye');

const port = Number(process.argv[2] || 0);
const server = http.createServer();
const bayeux = new faye.NodeAdapter({ mount: '/faye', timeout: 60 });
bayeux.attach(server);
server.listen(port, '127.0.0.1', () => console.log(`wshub listening on http://127.0.0.1:${server.address().port}`));
