// faye.js -- raw Bayeux for faye.test.js: HTTP requests, a WebSocket
// peer, and a log of what arrived that tests can wait on.
// SPDX-License-Identifier: MIT
//
// The messages are written by hand, so a test can send what faye's own
// client never would (an unknown clientId, a wildcard publish, a batch
// one over the limit). Nothing here sleeps: every wait is for a reply, a
// frame or a close, with a timeout that names what was awaited.
'use strict';

const http = require('node:http');
const assert = require('node:assert');
const WebSocket = require('ws');
const { withTimeout } = require('./wshub');

// Everything that arrived (messages, events), in order, and a way to wait
// for one: wait(test, ms, what, from) resolves to the first item at index
// `from` or later that passes test, as Lines.wait does for lines.
class Log {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  get length() { return this.items.length; }

  push(item) {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => !w(item));
  }

  wait(test, ms = 5000, what = 'a matching message', from = 0) {
    const seen = this.items.slice(from).find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    let waiter;
    const p = new Promise((resolve) => {
      waiter = (item) => {
        if (!test(item)) return false;
        resolve(item);
        return true;
      };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, what).catch((err) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      throw err;
    });
  }

  // The item at index i, once it has arrived.
  at(i, ms = 5000, what = `item ${i}`) {
    return this.wait(() => true, ms, what, i);
  }
}

// One HTTP request on a connection of its own (no keep-alive, so a held
// request never blocks the next). Returns { wrote, answer }: `wrote`
// resolves once the whole request is in the kernel's hands, `answer` to
// { status, headers, body, ms }, ms being how long the answer took.
function send(port, method, path, { body, headers = {} } = {}) {
  let written;
  const wrote = new Promise((resolve) => { written = resolve; });
  const started = Date.now();
  const answer = new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body, () => written());
  });
  return { wrote, answer };
}

// One HTTP request; resolves to { status, headers, body, ms }.
function request(port, method, path, opts = {}) {
  return send(port, method, path, opts).answer;
}

// Assert res is a 200 JSON reply with faye's caching headers; return the
// array of replies.
function replies(res, what = '') {
  assert.strictEqual(res.status, 200, `${what}: ${res.status} ${res.body}`);
  assert.strictEqual(res.headers['content-type'], 'application/json; charset=utf-8', what);
  assert.strictEqual(res.headers['cache-control'], 'no-cache, no-store', what);
  assert.strictEqual(res.headers['x-content-type-options'], 'nosniff', what);
  const list = JSON.parse(res.body);
  assert.ok(Array.isArray(list), `a JSON array: ${res.body}`);
  return list;
}

// POST Bayeux messages as JSON; resolves to the reply array.
async function post(server, messages, path = '/faye', headers = {}) {
  const res = await request(server.port, 'POST', path, {
    body: JSON.stringify(messages),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  return replies(res, `POST ${path} ${JSON.stringify(messages).slice(0, 200)}`);
}

// Start a POST that may be held (a /meta/connect). `wrote` resolves once
// it is sent; `answer` to { replies, ms }. A held request can still be
// open when its server stops, so an unawaited `answer` is not an error.
function postHeld(server, messages, path = '/faye') {
  const s = send(server.port, 'POST', path, {
    body: JSON.stringify(messages),
    headers: { 'Content-Type': 'application/json' },
  });
  const answer = s.answer.then((res) => ({ replies: replies(res, 'held POST'), ms: res.ms }));
  answer.catch(() => {});
  return { wrote: s.wrote, answer };
}

// A round trip on another connection. The server runs one loop; once it
// has answered this, it has read every request written before it, so a
// connect written first is held by now. (`[]` changes nothing.)
async function barrier(server, path = '/faye') {
  assert.deepStrictEqual(await post(server, [], path), []);
}

const HANDSHAKE = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling', 'websocket'] };

// A new session over HTTP; resolves to its clientId.
async function handshake(server, path = '/faye') {
  const [reply] = await post(server, [{ ...HANDSHAKE, id: 'h' }], path);
  assert.strictEqual(reply.successful, true, JSON.stringify(reply));
  assert.match(reply.clientId, /^[0-9a-z]{31}$/);
  return reply.clientId;
}

function connectMessage(clientId, id, extra = {}) {
  return { channel: '/meta/connect', clientId, connectionType: 'long-polling', id, ...extra };
}

// Subscribe (or unsubscribe) over HTTP; resolves to the one reply.
async function subscribe(server, clientId, subscription, id = 's', channel = '/meta/subscribe') {
  const [reply] = await post(server, [{ channel, clientId, subscription, id }]);
  return reply;
}

// Publish over HTTP; resolves to the one reply.
async function publish(server, clientId, channel, data, id = 'p') {
  const [reply] = await post(server, [{ channel, data, clientId, id }]);
  return reply;
}

// A raw WebSocket on the endpoint (the `ws` package). Each text frame is
// parsed and its messages pushed one by one to `messages`; a frame that
// is not a JSON array goes to `notArrays`. `closed` resolves to
// { code, reason }.
class Peer {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.messages = new Log();
    this.notArrays = [];
    this.ws.on('message', (data, isBinary) => {
      let parsed;
      try { parsed = JSON.parse(data.toString('utf8')); } catch { parsed = undefined; }
      if (isBinary || !Array.isArray(parsed)) { this.notArrays.push(data.toString('utf8')); return; }
      for (const m of parsed) this.messages.push(m);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {});
    this.opened = withTimeout(new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('unexpected-response', (_, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
      this.ws.once('error', reject);
    }), 5000, 'the WebSocket to open');
  }

  // Send one frame holding these messages, an array, as faye does.
  send(messages) { this.ws.send(JSON.stringify(messages)); }

  // The reply (a message with `successful`) whose id is id.
  reply(id, ms = 5000) {
    return this.messages.wait((m) => m.id === id && m.successful !== undefined, ms, `the reply to ${id}`);
  }

  close() { this.ws.terminate(); }
}

async function openPeer(server, path = '/faye') {
  const p = new Peer(`${server.wsUrl}${path}`);
  await p.opened;
  return p;
}

module.exports = {
  Log, send, request, replies, post, postHeld, barrier, HANDSHAKE, handshake,
  connectMessage, subscribe, publish, Peer, openPeer,
};
