// client-api.js -- scenarios for client-api.test.js, run in one page with
// either client loaded (see client-api.html). Each records what the page
// observes, as plain JSON, so the test can compare the two clients.
// SPDX-License-Identifier: MIT
//
// window.events is the log of the scenario in progress; the test reads
// it with page.evaluate and waits on it with page.waitForFunction.
// Nothing here sleeps: every wait is for an event.
'use strict';

window.events = [];

function record(...entry) { window.events.push(entry); }

// The first time s emits ev: its arguments.
function once(s, ev) { return new Promise((resolve) => s.once(ev, (...args) => resolve(args))); }

// Wait for a message-back whose first argument is label, and return the
// labels of every message-back heard by then, in order.
function echoesUntil(s, label) {
  const heard = [];
  return new Promise((resolve) => {
    const fn = (first) => {
      heard.push(first);
      if (first !== label) return;
      s.off('message-back', fn);
      resolve(heard);
    };
    s.on('message-back', fn);
  });
}

// A JSON-safe description of what a listener was called with.
function describe(args) {
  return args.map((a) => (typeof a === 'function' ? '<function>' : a));
}

const scenarios = {};

// onAny / prependAny / offAny / listenersAny and the Outgoing ones.
scenarios.any = async (transports) => {
  const out = {};
  const s = io({ transports, autoConnect: false });
  const a = (...args) => record('any-a', ...describe(args));
  const b = (...args) => record('any-b', ...describe(args));
  const oa = (...args) => record('out-a', ...describe(args));
  const ob = (...args) => record('out-b', ...describe(args));
  out.chain = [s.onAny(a) === s, s.prependAny(b) === s,
    s.onAnyOutgoing(oa) === s, s.prependAnyOutgoing(ob) === s];
  out.listeners = [s.listenersAny().length, s.listenersAny()[0] === b, s.listenersAny()[1] === a,
    s.listenersAnyOutgoing().length, s.listenersAnyOutgoing()[0] === ob];
  // Emitted before connecting: the outgoing listeners hear it when it
  // is really sent (the log shows where that falls beside "connect").
  s.emit('message', 'buffered');
  record('emitted buffered');
  s.on('connect', () => record('connect'));
  s.connect();
  await echoesUntil(s, 'buffered');
  // An event with an ack from the server: the any-listeners get the
  // callback too; an emit with an ack: the outgoing ones do not.
  s.once('ask', (q, cb) => cb(q));
  s.emit('ask-me', 'q1');
  await once(s, 'answer');
  await new Promise((resolve) => s.emit('message-with-ack', 'w', { x: [1] }, resolve));
  // Removing one, then all.
  out.offOne = [s.offAny(a) === s, s.listenersAny().length, s.offAnyOutgoing(oa) === s,
    s.listenersAnyOutgoing().length];
  s.emit('message', 'after-off-one');
  await echoesUntil(s, 'after-off-one');
  s.offAny();
  s.offAnyOutgoing();
  out.offAll = [s.listenersAny().length, s.listenersAnyOutgoing().length];
  s.emit('message', 'after-off-all');
  await echoesUntil(s, 'after-off-all');
  s.disconnect();
  out.events = window.events;
  return out;
};

// volatile: sent when the transport can take it at once, dropped
// otherwise, never buffered.
scenarios.volatile = async (transports) => {
  const out = {};
  const s = io({ transports });
  // Before the handshake: no transport can write yet.
  s.volatile.emit('message', 'before-open');
  await once(s, 'connect');
  // Over a WebSocket: the first goes; the second, in the same task,
  // finds the transport busy.
  let done = echoesUntil(s, 'marker-1');
  s.volatile.emit('message', 'volatile-1');
  s.volatile.emit('message', 'volatile-2');
  s.emit('message', 'marker-1');
  out.connected = await done;
  // Disconnected: a plain emit waits for the connection, a volatile
  // one is gone.
  s.disconnect();
  s.volatile.emit('message', 'volatile-offline');
  s.emit('message', 'plain-offline');
  s.connect();
  out.reconnected = await echoesUntil(s, 'plain-offline');
  done = echoesUntil(s, 'marker-2');
  s.emit('message', 'marker-2');
  out.after = await done;
  out.compress = [s.compress(false) === s, s.compress(true) === s];
  out.compressed = await new Promise((resolve) => s.compress(false).emit('message-with-ack', 'c', resolve));
  s.disconnect();
  return out;
};

// emitWithAck, timeout(ms), ackTimeout, and acks across a disconnect.
scenarios.acks = async (transports) => {
  const out = {};
  const s = io({ transports });
  await once(s, 'connect');
  const settle = (p) => p.then((v) => ['resolved', v], (e) => ['rejected', e instanceof Error, e.message]);
  out.withAck = await settle(s.emitWithAck('message-with-ack', 5, 6));
  out.timedWithAck = await settle(s.timeout(2000).emitWithAck('message-with-ack', { a: 1 }));
  out.timedOut = await settle(s.timeout(100).emitWithAck('nobody-acks-this', 1));
  out.callback = await new Promise((resolve) =>
    s.timeout(2000).emit('message-with-ack', 'x', 'y', (...args) => resolve(describe(args))));
  out.callbackTimedOut = await new Promise((resolve) =>
    s.timeout(100).emit('nobody-acks-this', (err, ...rest) => resolve([err instanceof Error, err.message, rest.length])));
  // A buffered emit whose timeout passes is never sent.
  s.disconnect();
  const late = new Promise((resolve) => s.timeout(50).emit('message', 'late', (err) => resolve(err.message)));
  out.bufferedTimedOut = await late;
  s.connect();
  const marker = echoesUntil(s, 'marker');
  s.emit('message', 'marker');
  out.echoesAfter = await marker;
  // The server disconnects us while acks are pending: those that take an
  // error hear it; a plain one is forgotten.
  const plain = [];
  s.emit('nobody-acks-this', (...args) => plain.push(args));
  const pending = settle(s.timeout(5000).emitWithAck('nobody-acks-this'));
  const pendingNoTimeout = settle(s.emitWithAck('nobody-acks-this'));
  const cb = new Promise((resolve) => s.timeout(5000).emit('nobody-acks-this', (err) => resolve(err.message)));
  const reason = once(s, 'disconnect');
  s.emit('kick-me');
  out.kicked = (await reason)[0];
  out.pending = [await pending, await pendingNoTimeout, await cb, plain.length];
  // ackTimeout: the default timeout of every emit with an ack.
  const t = io('/custom', { transports, ackTimeout: 100 });
  await once(t, 'connect');
  out.ackTimeout = await new Promise((resolve) =>
    t.emit('nobody-acks-this', (err) => resolve([err instanceof Error, err && err.message])));
  out.ackTimeoutReply = await new Promise((resolve) =>
    t.emit('message-with-ack', 'z', (...args) => resolve(describe(args))));
  t.disconnect();
  return out;
};

// Properties and constructors a page may look at.
scenarios.properties = async (transports) => {
  const out = {};
  out.io = [typeof io, typeof io.connect, typeof io.Manager, typeof io.Socket];
  const s = io({ transports, autoConnect: false, reconnectionAttempts: 7 });
  // socket.io.opts holds what was given, path filled in. (The official
  // client's Engine writes more into it as it opens: hostname, port, the
  // transports' classes; those are not compared.)
  const { path, autoConnect, reconnectionAttempts, reconnectionDelay } = s.io.opts;
  out.opts = { path, autoConnect, reconnectionAttempts, reconnectionDelay };
  out.managerOptions = [s.io.reconnection(), s.io.reconnectionAttempts(), s.io.reconnectionDelay(),
    s.io.reconnectionDelayMax(), s.io.randomizationFactor(), s.io.timeout()];
  out.before = [s.active, s.connected, s.disconnected, Boolean(s.recovered), s.id];
  out.instances = [s instanceof io.Socket, s.io instanceof io.Manager];
  // The transport at the handshake, and the one an upgrade moves to.
  const upgraded = new Promise((resolve) => {
    s.io.on('open', () => {
      out.firstTransport = s.io.engine.transport.name;
      s.io.engine.once('upgrade', (t) => resolve(t.name));
    });
  });
  s.connect();
  out.connecting = [s.active, s.connected, s.disconnected];
  await once(s, 'connect');
  out.after = [s.active, s.connected, s.disconnected, Boolean(s.recovered), typeof s.id];
  if (transports.includes('polling') && transports.includes('websocket')) {
    out.upgrade = await upgraded;
    out.transport = s.io.engine.transport.name;
  }
  // A second io() for a namespace already in use gets its own Manager;
  // another namespace shares the first one's, and its autoConnect: false
  // (so it waits for connect()).
  const again = io({ transports });
  const other = io('/custom', { transports });
  out.sharing = [again !== s, again.io !== s.io, other.io === s.io, again.active, other.active];
  other.connect();
  await Promise.all([once(again, 'connect'), once(other, 'connect')]);
  const reason = once(s, 'disconnect');
  s.emit('kick-me');
  out.kicked = [(await reason)[0], s.active, s.connected, s.disconnected];
  again.disconnect();
  other.disconnect();
  out.disconnected = [again.active, again.connected, again.disconnected, other.active];
  return out;
};

// socket.io's "ping": one per heartbeat, without arguments.
scenarios.ping = async (transports) => {
  const s = io({ transports });
  await once(s, 'connect');
  const pings = await new Promise((resolve) => {
    const seen = [];
    s.io.on('ping', (...args) => {
      seen.push(args.length);
      if (seen.length === 2) resolve(seen);
    });
  });
  s.disconnect();
  return { pings, connected: s.connected };
};

// The Manager's events, logged for the test: it stops and restarts the
// server and waits on window.events.
scenarios.watch = (transports, opts) => {
  const s = io(Object.assign({ transports }, opts));
  window.socket = s;
  const m = s.io;
  const message = (err) => (err instanceof Error ? err.message : String(err));
  s.on('connect', () => record('connect', s.active));
  s.on('disconnect', (reason) => record('disconnect', reason, s.active));
  s.on('connect_error', (err) => record('connect_error', message(err), s.active));
  m.on('open', () => record('open'));
  m.on('close', (reason) => record('close', reason));
  m.on('error', (err) => record('error', message(err)));
  m.on('reconnect_attempt', (...args) => record('reconnect_attempt', ...args));
  m.on('reconnect_error', (err) => record('reconnect_error', message(err)));
  m.on('reconnect', (...args) => record('reconnect', ...args));
  m.on('reconnect_failed', (...args) => record('reconnect_failed', ...args));
};

window.scenarios = scenarios;
