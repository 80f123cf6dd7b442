/* faye.js -- wshub's browser client for Bayeux 1.0 publish/subscribe
 * SPDX-License-Identifier: MIT
 *
 * A small, readable client with the API of faye's browser client, so that a
 * page written for faye runs unchanged against wshub. wshub serves it at
 * {mount}/client.js and {mount}.js.
 *
 *   const client = new Faye.Client('/faye', { timeout: 60, retry: 5 });
 *   const sub = client.subscribe('/chat/*', (data) => console.log(data));
 *   sub.then(() => {}, (err) => console.log(err.code, err.params, err.message));
 *   await client.publish('/chat/general', { text: 'hi' });
 *   sub.cancel();
 *   client.addExtension({ outgoing(message, next) { next(message); } });
 *   client.on('transport:down', () => console.log('offline'));   // or bind()
 *
 * The first subscribe or publish sends a /meta/handshake, always as an HTTP
 * POST, for a clientId. Then a WebSocket opens on the same URL (ws: or wss:)
 * and carries one held /meta/connect, which the server answers when its
 * timeout runs out, pushing deliveries meanwhile. If the socket will not
 * open, or the page called disable('websocket'), the held connect is a
 * long-polling POST instead. A page on another origin POSTs form bodies
 * under CORS, which the server must allow (wshub: --origin).
 *
 * A failed request fires 'transport:down' and goes again, same ids, after
 * `retry` seconds. Advice {reconnect: "handshake"} (with "401:<id>:Unknown
 * client") means the server has forgotten us (it restarted, or the session
 * expired): the client handshakes again and re-subscribes by itself.
 *
 * Left out: JSONP and EventSource, setHeader, publish's attempts/deadline,
 * withChannel, Faye.logger. For learners, client.on('wire', (dir, message,
 * type) => ...) reports each message sent ("out") and received ("in").
 *
 * References: the Bayeux 1.0 specification (docs.cometd.org): §3 channels
 * and wildcards, §4 meta messages, §5 advice, §7 error strings; faye 1.4.3
 * on the wire: ../shared/specs/bayeux-faye.md (§2 transports, §5 holds).
 */
(function (global) {
  'use strict';

  const DEFAULT_TIMEOUT = 60; // seconds a held connect may last, until advised
  const DEFAULT_RETRY = 5;    // seconds to wait after a failed request
  const HTTP_BATCH = 20;      // messages per POST (wshub refuses over 100)

  // ---- small pieces: errors, results, channel patterns ----------------------

  // §7 error strings are "code:params:text", params comma-separated, as in
  // "403:/private/x:Authentication required". Any other text keeps code null.
  function parseError(text) {
    const m = /^(\d{3}):([^:]*):([\s\S]*)$/.exec(text || '');
    return m ? { code: Number(m[1]), params: m[2].split(','), message: m[3] }
      : { code: null, params: [], message: text || '' };
  }

  // A result settled once, and thenable: `await` works on it, and so do
  // faye's callback(fn) and errback(fn). The native promise is made only when
  // someone asks, so a refusal nobody waits for is not an unhandled rejection.
  class Deferred {
    _settle(ok, value) {
      if (this._ok !== undefined) return;
      this._ok = ok;
      this._value = value;
      if (this._finish) this._finish();
    }

    then(onResolved, onRejected) {
      if (!this._promise) {
        this._promise = new Promise((resolve, reject) => {
          this._finish = () => (this._ok ? resolve(this._value) : reject(this._value));
        });
        if (this._ok !== undefined) this._finish();
      }
      return this._promise.then(onResolved, onRejected);
    }

    catch(onRejected) { return this.then(undefined, onRejected); }
    callback(fn) { this.then(fn, () => {}); return this; }
    errback(fn) { this.then(() => {}, fn); return this; }
  }

  // One subscribe() call. It resolves, with no value (so `await` cannot
  // loop on it), when the server confirms the channel.
  class Subscription extends Deferred {
    constructor(client, channel, callback, context) {
      super();
      Object.assign(this, { _client: client, _channel: channel, _callback: callback, _context: context });
    }

    cancel() { this._client.unsubscribe(this._channel, this); }
    unsubscribe() { this.cancel(); }
  }

  // §3.3 wildcards are only ever the last segment: "/a/*" is one more
  // segment ("/a/b", not "/a/b/c"), "/a/**" one or more. The server sends a
  // message once; the client runs every subscription it matches.
  function matches(pattern, channel) {
    if (pattern === channel) return true;
    const star = pattern.endsWith('/**') ? 2 : pattern.endsWith('/*') ? 1 : 0;
    const prefix = pattern.slice(0, pattern.length - star);
    if (!star || channel.length <= prefix.length || !channel.startsWith(prefix)) return false;
    return star === 2 || channel.indexOf('/', prefix.length) < 0;
  }

  // ---- transports ------------------------------------------------------------
  //
  // Both send "entries" (a message, its reply callback, its deadline) and
  // give each an abort() that ends the request carrying it. Replies go to
  // client._receive(); a failed request hands its entries to
  // client._failed(); a socket that closes calls client._lost().

  // HTTP POST: a JSON body on the page's own origin ("long-polling"), a
  // form body under CORS from another ("cross-origin-long-polling"). A held
  // /meta/connect gets a request of its own, so that it never keeps the
  // other replies waiting.
  class HttpTransport {
    constructor(client, url) {
      this.client = client;
      this.url = url;
      this.crossOrigin = new URL(url).origin !== global.location.origin;
      this.connectionType = this.crossOrigin ? 'cross-origin-long-polling' : 'long-polling';
    }

    send(entries) {
      const others = entries.filter((e) => e.message.channel !== '/meta/connect');
      for (let i = 0; i < others.length; i += HTTP_BATCH) this._post(others.slice(i, i + HTTP_BATCH));
      for (const e of entries) if (e.message.channel === '/meta/connect') this._post([e]);
    }

    _post(entries) {
      const controller = new AbortController();
      for (const e of entries) e.abort = () => controller.abort();
      const json = JSON.stringify(entries.map((e) => e.message));
      // A form body makes a "simple" CORS request: no preflight.
      const request = this.crossOrigin
        ? { credentials: 'include', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'message=' + encodeURIComponent(json) }
        : { credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: json };
      fetch(this.url, Object.assign(request, { method: 'POST', signal: controller.signal, cache: 'no-store' }))
        .then((res) => (res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status))))
        .then((replies) => this.client._receive(replies), () => this.client._failed(entries));
    }
  }

  // A WebSocket on the endpoint's URL, no subprotocol. Each message goes in
  // a text frame of its own, as a one-element array (as faye's client sends
  // them); the server may put several in a frame. One object is one
  // attempt: a socket that closes is not reopened here.
  class SocketTransport {
    constructor(client, url) {
      this.client = client;
      this.url = url.replace(/^http/, 'ws');
      this.connectionType = 'websocket';
      this.open = false;
    }

    // Resolves true once the socket is open, false if it never opens.
    connect() {
      return new Promise((resolve) => {
        try { this.ws = new global.WebSocket(this.url); } catch (e) { resolve(false); return; }
        this.ws.onopen = () => { this.open = true; resolve(true); };
        this.ws.onmessage = (event) => {
          let replies;
          try { replies = JSON.parse(event.data); } catch (e) { return; }
          this.client._receive(replies);
        };
        this.ws.onclose = () => {
          const wasOpen = this.open;
          this.open = false;
          if (wasOpen) this.client._lost(this); else resolve(false);
        };
      });
    }

    send(entries) {
      for (const e of entries) {
        e.abort = () => this.ws.close();
        this.ws.send(JSON.stringify([e.message]));
      }
    }

    close() { if (this.ws) this.ws.close(); }
  }

  // ---- the client --------------------------------------------------------------
  //
  // _state: "unconnected" (no session), "handshaking", "connected" (we have
  // a clientId; messages flow once a transport is chosen), "disconnected"
  // (the page called disconnect(): for good).

  class Client {
    constructor(url, options) {
      options = options || {};
      this._url = new URL(url || '/bayeux', global.location.href).href;
      this._retry = 1000 * (options.retry || DEFAULT_RETRY);  // ms
      this._advice = {                                        // §5, in ms
        reconnect: 'retry',
        interval: 1000 * (options.interval || 0),
        timeout: 1000 * (options.timeout || DEFAULT_TIMEOUT),
      };
      this._state = 'unconnected';
      this._clientId = null;
      this._offered = [];            // the server's supportedConnectionTypes
      this._http = new HttpTransport(this, this._url);
      this._socket = null;           // the latest SocketTransport tried
      this._transport = null;        // what carries messages; null while choosing
      this._channels = new Map();    // pattern -> { subs: [Subscription], confirmed }
      this._waiting = [];            // entries to send once connected
      this._inflight = new Map();    // message id -> entry, until its reply
      this._count = 0;               // the last message id, as a number
      this._connecting = null;       // the /meta/connect entry in flight
      this._timer = null;            // the pause after a failure
      this._probing = false;         // after a failure: is our session still there?
      this._up = null;               // did the last request get through?
      this._disabled = new Set();    // 'websocket', 'autodisconnect'
      this._extensions = [];
      this._listeners = new Map();   // event -> [fn]
      global.addEventListener('beforeunload', () => {
        if (!this._disabled.has('autodisconnect')) this.disconnect();
      });
    }

    // -- events, extensions, options --

    on(event, fn) {
      this._listeners.set(event, (this._listeners.get(event) || []).concat(fn));
      return this;
    }

    off(event, fn) {
      this._listeners.set(event, (this._listeners.get(event) || []).filter((f) => f !== fn));
      return this;
    }

    bind(event, fn) { return this.on(event, fn); }
    unbind(event, fn) { return this.off(event, fn); }
    _emit(event, ...args) { for (const fn of this._listeners.get(event) || []) fn.apply(this, args); }

    // { incoming(message, next), outgoing(message, next) }, either optional,
    // run in the order added. Each calls next(message) once; next(null)
    // drops the message.
    addExtension(extension) {
      this._extensions.push(extension);
      if (typeof extension.added === 'function') extension.added(this);
    }

    removeExtension(extension) { this._extensions = this._extensions.filter((e) => e !== extension); }
    disable(feature) { this._disabled.add(feature); }
    getClientId() { return this._clientId; }
    connect() { this._start(); }

    // -- subscribe, unsubscribe, publish, disconnect --

    // A second subscription to a confirmed channel resolves at once, and
    // nothing is sent. Before the handshake nothing can be: its success
    // subscribes every channel in the map, this one included.
    subscribe(channel, callback, context) {
      const sub = new Subscription(this, channel, callback, context);
      const record = this._channels.get(channel);
      if (record) {
        record.subs.push(sub);
        if (record.confirmed) sub._settle(true);
        return sub;
      }
      this._channels.set(channel, { subs: [sub], confirmed: false });
      if (this._state === 'connected') this._subscribeTo(channel); else this._start();
      return sub;
    }

    // Drop the subscriptions to channel made with this callback (or this
    // Subscription; all, if neither). When none is left, tell the server.
    unsubscribe(channel, which) {
      const record = this._channels.get(channel);
      if (!record) return;
      record.subs = which ? record.subs.filter((s) => s !== which && s._callback !== which) : [];
      if (record.subs.length > 0) return;
      this._channels.delete(channel);
      if (this._state === 'connected') this._send({ channel: '/meta/unsubscribe', subscription: channel }, () => {});
    }

    // Resolves when the server has taken the message; rejects with
    // {code, params, message} when it refuses it.
    publish(channel, data) {
      const done = new Deferred();
      this._send({ channel, data }, (reply) => this._answer(done, reply));
      this._start();
      return done;
    }

    // End the session; the server forgets our subscriptions. For good: make
    // a new client to start again.
    disconnect() {
      const done = new Deferred();
      const live = this._state === 'connected' && this._transport;
      this._state = 'disconnected';
      clearTimeout(this._timer);
      this._channels.clear();
      this._waiting = [];
      const close = () => { if (this._socket) this._socket.close(); };
      if (!live) { close(); done._settle(true); return done; }
      this._transmit(this._transport, [this._entry({ channel: '/meta/disconnect' }, (reply) => {
        close();
        this._answer(done, reply);
      })]);
      return done;
    }

    _answer(deferred, reply) {
      deferred._settle(reply.successful, reply.successful ? undefined : parseError(reply.error));
    }

    // -- the session: handshake, transport, the connect loop --

    _start() {
      if (this._state === 'unconnected' && !this._timer) this._handshake();
    }

    // §4.1: offer the types we can use. The handshake always goes over
    // HTTP: a socket can only be tied to a session that exists.
    _handshake() {
      if (this._state !== 'unconnected' || this._advice.reconnect === 'none') return;
      this._state = 'handshaking';
      const types = [this._http.connectionType];
      if (!this._disabled.has('websocket') && global.WebSocket) types.unshift('websocket');
      const message = { channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: types };
      this._transmit(this._http, [this._entry(message, (reply) => this._handshaken(reply))]);
    }

    // On success, subscribe again to every channel we know (the first time:
    // those subscribed while we waited), ahead of anything queued.
    _handshaken(reply) {
      if (this._state !== 'handshaking') return;
      if (!reply.successful) { this._state = 'unconnected'; this._later(); return; }
      Object.assign(this, { _clientId: reply.clientId, _state: 'connected', _probing: false, _transport: null });
      this._offered = reply.supportedConnectionTypes || [];
      const queued = this._waiting;
      this._waiting = [];
      for (const channel of this._channels.keys()) this._subscribeTo(channel);
      this._waiting.push(...queued);
      this._resume();
    }

    // Move things along: handshake without a session, choose a transport
    // without one, else send what waits and hold a connect.
    _resume() {
      clearTimeout(this._timer);
      this._timer = null;
      if (this._state === 'unconnected') this._handshake();
      if (this._state !== 'connected') return;
      if (!this._transport) { this._choose(); return; }
      this._flush();
      this._connect();
    }

    // A WebSocket if the server offers one, the page allows it, and it
    // opens (an open one is kept across handshakes); otherwise HTTP.
    _choose() {
      if (this._choosing) return;
      this._choosing = true;
      const wanted = this._offered.includes('websocket') && !this._disabled.has('websocket') && global.WebSocket;
      let ready = Promise.resolve(Boolean(wanted && this._socket && this._socket.open));
      if (wanted && !(this._socket && this._socket.open)) {
        this._socket = new SocketTransport(this, this._url);
        ready = this._socket.connect();
      }
      ready.then((open) => {
        this._choosing = false;
        if (this._state !== 'connected') return;
        this._transport = open ? this._socket : this._http;
        this._resume();
      });
    }

    // §4.2: keep one /meta/connect at the server; after its reply, wait
    // advice.interval and send the next. After a failure the first connect
    // asks for an answer at once (advice.timeout 0), and what waits goes only
    // once it says the session still exists: a restarted server would take
    // a publish under our old clientId before anyone had subscribed again.
    _connect() {
      if (this._state !== 'connected' || !this._transport || this._connecting) return;
      const message = { channel: '/meta/connect', connectionType: this._transport.connectionType };
      if (this._probing) message.advice = { timeout: 0 };
      const entry = this._entry(message, (reply) => {
        if (this._connecting !== entry) return;  // from an older session
        this._connecting = null;
        if (reply.successful && this._probing) { this._probing = false; this._flush(); }
        if (reply.successful) setTimeout(() => this._connect(), this._advice.interval);
        else if (this._advice.reconnect === 'retry') this._later();
        // "handshake" was acted on with the advice; "none" stops here.
      });
      this._connecting = entry;
      this._transmit(this._transport, [entry]);
    }

    // The server has forgotten our clientId: a new session, after
    // advice.interval.
    _rehandshake() {
      Object.assign(this, { _state: 'unconnected', _clientId: null, _connecting: null, _transport: null });
      clearTimeout(this._timer);
      this._timer = setTimeout(() => this._resume(), this._advice.interval);
    }

    // After a failure: wait `retry` seconds, or the advised interval if longer.
    _later() {
      if (this._timer || this._state === 'disconnected' || this._advice.reconnect === 'none') return;
      this._timer = setTimeout(() => this._resume(), Math.max(this._retry, this._advice.interval));
    }

    _setUp(up) {
      if (this._up !== up) this._emit(up ? 'transport:up' : 'transport:down');
      this._up = up;
    }

    // -- sending --

    _entry(message, reply) { return { id: null, message, reply, piped: false }; }

    _subscribeTo(channel) {
      this._send({ channel: '/meta/subscribe', subscription: channel }, (reply) => {
        const record = this._channels.get(channel);
        if (!record) return;
        if (reply.successful) record.confirmed = true; else this._channels.delete(channel);
        for (const sub of record.subs) this._answer(sub, reply);
      });
    }

    // Everything queued in one turn of the page's event loop leaves
    // together, in order: a subscribe written before a publish arrives first.
    _send(message, reply) {
      this._waiting.push(this._entry(message, reply));
      if (!this._flushSoon) this._flushSoon = setTimeout(() => { this._flushSoon = null; this._flush(); });
    }

    _flush() {
      if (this._state !== 'connected' || !this._transport || this._probing || !this._waiting.length) return;
      const batch = this._waiting;
      this._waiting = [];
      this._transmit(this._transport, batch);
    }

    // Give each entry an id (a base-36 counter; kept when sent again), run
    // the outgoing extensions once, stamp the current clientId, and start
    // its deadline: 1.2 x advice.timeout, the longest a held connect lasts.
    _transmit(transport, entries) {
      const out = [];
      let left = entries.length;
      const go = () => {
        if (--left > 0) return;
        const ready = out.filter(Boolean);
        for (const e of ready) {
          if (e.message.channel !== '/meta/handshake') e.message.clientId = this._clientId;
          e.via = transport;
          e.timer = setTimeout(() => e.abort && e.abort(), 1.2 * (this._advice.timeout || this._retry));
          this._inflight.set(e.id, e);
          this._emit('wire', 'out', e.message, transport.connectionType);
        }
        if (ready.length) transport.send(ready);
      };
      entries.forEach((e, i) => {
        if (e.id === null) e.id = (++this._count).toString(36);
        e.message.id = e.id;
        if (e.piped) { out[i] = e; go(); return; }
        this._pipe('outgoing', e.message, (m) => {
          e.piped = true;
          if (m) { e.message = m; out[i] = e; }  // dropped: no reply will come
          go();
        });
      });
    }

    // Pass message through each extension's stage, then to done. faye's
    // extensions may take (message, request, next); a client has no request.
    _pipe(stage, message, done) {
      const step = (i, m) => {
        const ext = this._extensions[i];
        if (!m || !ext) { done(m); return; }
        const fn = ext[stage];
        const next = (result) => step(i + 1, result);
        if (typeof fn !== 'function') next(m);
        else if (fn.length >= 3) fn.call(ext, m, null, next);
        else fn.call(ext, m, next);
      };
      step(0, message);
    }

    // -- receiving --

    // Replies are matched to our messages by id, and only messages with a
    // "successful" field are replies: a delivery has none (§4.5).
    _receive(messages) {
      this._setUp(true);
      for (const raw of [].concat(messages)) {
        if (!raw || typeof raw !== 'object') continue;
        const entry = raw.successful !== undefined ? this._inflight.get(raw.id) : undefined;
        if (entry) { this._inflight.delete(raw.id); clearTimeout(entry.timer); }
        this._pipe('incoming', raw, (message) => {
          if (!message) return;
          this._emit('wire', 'in', message);
          if (message.advice) this._advise(message.advice);
          if (entry) entry.reply(message);
          else if (message.channel && message.data !== undefined) this._deliver(message);
        });
      }
    }

    // §5: any message may carry advice, and we keep what it says.
    // reconnect "handshake" means the server has forgotten us.
    _advise(advice) {
      Object.assign(this._advice, advice);
      if (advice.reconnect === 'handshake' && this._state === 'connected') this._rehandshake();
    }

    // message.data to every subscription whose pattern matches. A callback
    // that throws is reported, and does not stop the others.
    _deliver(message) {
      for (const [pattern, record] of this._channels) {
        if (!matches(pattern, message.channel)) continue;
        for (const sub of record.subs.slice()) {
          if (typeof sub._callback !== 'function') continue;
          try { sub._callback.call(sub._context, message.data); } catch (err) { setTimeout(() => { throw err; }); }
        }
      }
    }

    // A request failed or passed its deadline. The handshake and the
    // connect start again after the pause; the rest is sent again then.
    _failed(entries) {
      const again = [];
      for (const e of entries) {
        if (this._inflight.get(e.id) !== e) continue;  // already answered
        this._inflight.delete(e.id);
        clearTimeout(e.timer);
        const channel = e.message.channel;
        if (channel === '/meta/handshake') { if (this._state === 'handshaking') this._state = 'unconnected'; }
        else if (channel === '/meta/connect') { if (this._connecting === e) this._connecting = null; }
        else if (channel !== '/meta/disconnect') again.push(e);
      }
      this._waiting.unshift(...again);
      this._probing = true;
      this._setUp(false);
      this._later();
    }

    // An open WebSocket closed: fail what it carried, and choose again after
    // the pause (a new socket, or HTTP if none opens).
    _lost(socket) {
      const carried = [...this._inflight.values()].filter((e) => e.via === socket);
      if (this._state === 'disconnected' || (this._transport !== socket && !carried.length)) return;
      if (this._transport === socket) this._transport = null;
      this._failed(carried);
    }
  }

  global.Faye = { Client };
})(typeof window !== 'undefined' ? window : this);
