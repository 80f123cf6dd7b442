/* socket.io.js -- wshub's browser client for Socket.IO v5 over Engine.IO v4
 * SPDX-License-Identifier: MIT
 *
 * A readable subset of the official socket.io-client API, with no
 * bundler and no dependencies, so that a page written for socket.io runs
 * unchanged against wshub. wshub serves it at /socket.io/socket.io.js.
 *
 *   const socket = io();                     // namespace "/" on this host
 *   const admin = io("/admin", { auth: { token: "abc" } });
 *   socket.on("connect", () => console.log(socket.id));
 *   socket.emit("hello", "world", (reply) => console.log(reply));
 *   socket.timeout(5000).emit("slow", (err, reply) => {});
 *   socket.io.engine.on("upgrade", (t) => console.log(t.name)); // "websocket"
 *
 * Four layers, as on the wire:
 *   Transport -- how packets travel: HTTP long-polling (one GET held open
 *                to receive, one POST at a time to send) or a WebSocket;
 *   Engine    -- one Engine.IO v4 session on a transport: the handshake,
 *                the heartbeat, the write buffer, and the upgrade from
 *                polling to WebSocket;
 *   Manager   -- one Engine per host, opened again with exponential
 *                backoff and jitter when it drops;
 *   Socket    -- one namespace on that Engine: Socket.IO v5 packets,
 *                events, acks, binary attachments, an offline buffer.
 *
 * As the official client does by default, it starts on long-polling, which
 * works through any proxy, and moves to a WebSocket once one is proven to
 * work (engine.io-protocol "Upgrade"). opts.transports picks the
 * transports and their order (["websocket"] skips polling; ["polling"]
 * never upgrades), and opts.upgrade = false stays on the first one. A
 * browser without window.WebSocket stays on polling.
 *
 * Left out, on purpose: WebTransport, rememberUpgrade, the query,
 * extraHeaders and withCredentials options, Blob arguments (they need an
 * async read; send an ArrayBuffer), volatile emits, and connection state
 * recovery.
 *
 * wshub extensions, for learners: manager.on("wire", (dir, data, transport)
 * => ...) reports every Engine.IO packet sent ("out") and received ("in"),
 * and manager.on("transport", (name, previous) => ...) says which transport
 * a connection starts on (previous undefined) and when it upgrades.
 *
 * References: engine.io-protocol v4 ("HTTP long-polling", "WebSocket",
 * "Handshake", "Heartbeat", "Upgrade", "Packet encoding"); socket.io-protocol
 * v5 ("Packet format", "Sending and receiving data").
 */
(function (global) {
  'use strict';

  // ---- a tiny event emitter ----------------------------------------------

  class Emitter {
    constructor() { this._listeners = new Map(); }

    on(event, fn) {
      if (!this._listeners.has(event)) this._listeners.set(event, []);
      this._listeners.get(event).push(fn);
      return this;
    }

    once(event, fn) {
      const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
      wrapper.fn = fn;
      return this.on(event, wrapper);
    }

    off(event, fn) {
      if (event === undefined) { this._listeners.clear(); return this; }
      if (fn === undefined) { this._listeners.delete(event); return this; }
      const list = this._listeners.get(event) || [];
      const i = list.findIndex((l) => l === fn || l.fn === fn);
      if (i >= 0) list.splice(i, 1);
      return this;
    }

    // Call the listeners of event (a copy of the list: one may remove itself).
    emitLocal(event, ...args) {
      for (const fn of (this._listeners.get(event) || []).slice()) fn.apply(this, args);
      return this;
    }

    listeners(event) { return (this._listeners.get(event) || []).slice(); }
  }

  // Listen to event on obj; returns the function that stops listening.
  function subscribe(obj, event, fn) {
    obj.on(event, fn);
    return () => obj.off(event, fn);
  }

  // ---- binary arguments ------------------------------------------------------

  const isBinary = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);

  // Replace every ArrayBuffer or typed array inside data with a
  // {_placeholder:true, num:i} object; the buffers go into `out`.
  function deconstruct(data, out) {
    if (isBinary(data)) {
      const buf = data instanceof ArrayBuffer
        ? data
        : data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      out.push(buf);
      return { _placeholder: true, num: out.length - 1 };
    }
    if (Array.isArray(data)) return data.map((d) => deconstruct(d, out));
    if (data && typeof data === 'object' && !(data instanceof Date)) {
      const copy = {};
      for (const k of Object.keys(data)) copy[k] = deconstruct(data[k], out);
      return copy;
    }
    return data;
  }

  // The reverse: put the received buffers back where the placeholders are.
  function reconstruct(data, buffers) {
    if (Array.isArray(data)) return data.map((d) => reconstruct(d, buffers));
    if (data && typeof data === 'object') {
      if (data._placeholder === true && typeof data.num === 'number') {
        if (data.num < 0 || data.num >= buffers.length) throw new Error('illegal attachment');
        return buffers[data.num];
      }
      const copy = {};
      for (const k of Object.keys(data)) copy[k] = reconstruct(data[k], buffers);
      return copy;
    }
    return data;
  }

  // ---- Socket.IO packets ---------------------------------------------------

  const CONNECT = 0, DISCONNECT = 1, EVENT = 2, ACK = 3, CONNECT_ERROR = 4,
    BINARY_EVENT = 5, BINARY_ACK = 6;

  // <type>[<n>-][<nsp>,][<id>][JSON], the Socket.IO packet only, then the
  // buffers; the Manager sends each as an Engine.IO message (it adds the
  // "4"), as decode() below reads one with the "4" already removed.
  function encode(type, nsp, data, id) {
    const buffers = [];
    let json = '';
    if (data !== undefined) json = JSON.stringify(deconstruct(data, buffers));
    if (buffers.length && type === EVENT) type = BINARY_EVENT;
    if (buffers.length && type === ACK) type = BINARY_ACK;
    let text = String(type);
    if (buffers.length) text += buffers.length + '-';
    if (nsp !== '/') text += nsp + ',';
    if (id !== undefined) text += id;
    return [text + json, ...buffers];
  }

  // Decode the Socket.IO part of a server packet (the "4" removed).
  function decode(text) {
    let i = 0;
    const packet = { type: Number(text[i++]), nsp: '/', attachments: 0 };
    if (!(packet.type >= 0 && packet.type <= 6)) throw new Error('unknown packet type');
    if (packet.type === BINARY_EVENT || packet.type === BINARY_ACK) {
      const dash = text.indexOf('-', i);
      packet.attachments = Number(text.slice(i, dash));
      if (dash < 0 || !Number.isInteger(packet.attachments)) throw new Error('bad attachment count');
      i = dash + 1;
    }
    if (text[i] === '/') {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      packet.nsp = text.slice(i, end);
      i = end + 1;
    }
    let digits = '';
    while (i < text.length && text[i] >= '0' && text[i] <= '9') digits += text[i++];
    if (digits) packet.id = Number(digits);
    if (i < text.length) packet.data = JSON.parse(text.slice(i));
    return packet;
  }

  // ---- Engine.IO payloads: several packets in one HTTP body -----------------
  //
  // Everywhere in this file an Engine.IO packet is what a WebSocket frame
  // would carry: a string ("4hello", "2", "3probe") or, for a binary
  // message, an ArrayBuffer. Polling joins packets with the record
  // separator and writes binary as "b" + base64 (engine.io-protocol,
  // "Packet encoding", "HTTP long-polling"):
  //
  //   4hello \x1e 2 \x1e bAQIDBA==     (the last one is <01 02 03 04>)
  //
  // A Socket.IO packet never holds a raw \x1e: JSON.stringify writes every
  // control character as \u00XX.

  const SEPARATOR = '\x1e';
  const utf8 = new TextEncoder();

  function toBase64(buf) {
    const bytes = new Uint8Array(buf);
    let s = '';
    // String.fromCharCode takes the bytes as arguments, and a call may
    // have only so many: 32 KiB at a time.
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return global.btoa(s);
  }

  function fromBase64(text) {
    const s = global.atob(text);
    const bytes = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
    return bytes.buffer;
  }

  function encodePayload(packets) {
    return packets.map((p) => (typeof p === 'string' ? p : 'b' + toBase64(p))).join(SEPARATOR);
  }

  // Throws if a "b" packet is not valid base64.
  function decodePayload(body) {
    return body.split(SEPARATOR).map((p) => (p[0] === 'b' ? fromBase64(p.slice(1)) : p));
  }

  // The bytes a packet takes in a payload, to respect maxPayload.
  function payloadLength(packet) {
    if (typeof packet === 'string') return utf8.encode(packet).byteLength;
    return 1 + 4 * Math.ceil(packet.byteLength / 3);
  }

  // ---- transports ------------------------------------------------------------
  //
  // Both transports have the same small shape, callbacks in the manner of
  // the browser's own WebSocket: open(), write(packets) while `writable`,
  // close() (quiet: it calls no callback), and onopen(), onpacket(packet),
  // ondrain() (a write finished), onclose(reason, err) (the transport
  // failed or the server ended it; never called after close()).

  function noop() {}

  // Call fn(...args); if it throws, report the error as the browser
  // reports any uncaught one, and carry on. Used where a fetch answer is
  // handled and where "wire" listeners are called: an application's bug
  // must not stop the polling loop or the heartbeat.
  function guarded(fn, ...args) {
    try { fn(...args); } catch (err) { setTimeout(() => { throw err; }); }
  }

  // The Engine.IO URL of a transport: the page's host unless uri names one.
  function engineUrl(uri, path, transport) {
    const base = new URL(uri, global.location ? global.location.href : undefined);
    const secure = base.protocol === 'https:' || base.protocol === 'wss:';
    let scheme = secure ? 'https:' : 'http:';
    if (transport === 'websocket') scheme = secure ? 'wss:' : 'ws:';
    return `${scheme}//${base.host}${path.replace(/\/$/, '')}/?EIO=4&transport=${transport}`;
  }

  // HTTP long-polling (engine.io-protocol, "HTTP long-polling"). At most
  // one GET and one POST are in flight, as the protocol demands. The GET
  // is answered when the server has packets (at worst its next ping); it
  // is sent again as soon as its answer has been handled. While a POST is
  // in flight the Engine queues what it wants to send.
  class Polling {
    constructor(url) {
      this.name = 'polling';
      this.url = url;
      this.sid = undefined;      // set by the Engine from the handshake
      this.readyState = 'closed'; // opening -> open -> pausing -> paused; closing; closed
      this.writable = true;      // false while a POST is in flight
      this.polling = false;      // true while a GET is in flight
      this.requests = new Set(); // AbortControllers of the requests in flight
      this.onPause = null;       // pause()'s callback, until it is called
      this.requestCount = 0;     // makes each URL unique (the "t" parameter)
      this.onopen = this.onpacket = this.ondrain = this.onclose = noop;
    }

    // The URL of the next request. Every one differs, so no cache answers
    // it (the official client's "t" parameter, for the same reason).
    uri() {
      let u = this.url;
      if (this.sid) u += '&sid=' + encodeURIComponent(this.sid);
      return u + '&t=' + Date.now().toString(36) + '.' + (this.requestCount++);
    }

    // The handshake is the first GET, without a sid: its answer is "0{...}".
    open() {
      this.readyState = 'opening';
      this.poll();
    }

    // One HTTP request; resolves to the response body, rejects on a
    // network error, a status other than 200, or close().
    request(init) {
      const abort = new AbortController();
      this.requests.add(abort);
      return global.fetch(this.uri(), { ...init, cache: 'no-store', signal: abort.signal })
        .then((res) => {
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return res.text();
        })
        .finally(() => this.requests.delete(abort));
    }

    poll() {
      this.polling = true;
      this.request({ method: 'GET' }).then(
        (body) => this.onPayload(body),
        (err) => this.fail(err));
    }

    // A GET came back: hand each packet over, then ask again, unless a
    // packet closed us or we are pausing for an upgrade.
    onPayload(body) {
      if (this.readyState === 'closed') return;
      let packets;
      try { packets = decodePayload(body); } catch (err) { return this.fail(err, 'parse error'); }
      for (const packet of packets) {
        guarded(this.onpacket, packet);
        if (this.readyState === 'closed') return;
      }
      this.polling = false;
      if (this.readyState === 'opening') {
        // The handshake's answer must have given us a sid; asking again
        // without one would start a new session, and so on for ever.
        if (!this.sid) return this.fail(new Error('no handshake'), 'parse error');
        this.readyState = 'open';
      }
      if (this.readyState === 'open') this.poll();
      this.checkPaused();
      return undefined;
    }

    // Send packets in one POST, answered "ok". Call only while writable.
    write(packets) {
      this.writable = false;
      this.request({ method: 'POST', body: encodePayload(packets) }).then(() => {
        if (this.readyState === 'closed') return;
        this.writable = true;
        guarded(this.ondrain);
        this.checkPaused();
      }, (err) => this.fail(err));
    }

    // For an upgrade: stop polling, and call onPause once neither a GET
    // nor a POST is in flight, so that no packet is lost or reordered
    // between the two transports. The server ends the held GET with a
    // noop ("6") when the WebSocket probe reaches it.
    pause(onPause) {
      this.readyState = 'pausing';
      this.onPause = onPause;
      this.checkPaused();
    }

    checkPaused() {
      if (this.readyState !== 'pausing' || this.polling || !this.writable) return;
      this.readyState = 'paused';
      const fn = this.onPause;
      this.onPause = null;
      fn();
    }

    // The Engine is closing: send no new GET, which would reach a session
    // the server has ended (and get a 400); POSTs still go, to carry the
    // last packets and "1".
    stopPolling() {
      if (this.readyState !== 'closed') this.readyState = 'closing';
    }

    // The upgrade failed after all: poll again.
    resume() {
      if (this.readyState !== 'pausing' && this.readyState !== 'paused') return;
      this.readyState = 'open';
      this.onPause = null;
      if (!this.polling) this.poll();
    }

    // A request failed (the server is gone, or answered 400 for a sid it
    // no longer knows): the session is over.
    fail(err, reason = 'transport error') {
      if (this.readyState === 'closed') return;
      this.close();
      this.onclose(reason, new Error('poll error: ' + (err && err.message)));
    }

    // Abort whatever is in flight. (Saying goodbye with a close packet,
    // "1", is the Engine's business: it writes one before calling this.)
    close() {
      this.readyState = 'closed';
      for (const abort of this.requests) abort.abort();
      this.requests.clear();
    }
  }

  // A WebSocket (engine.io-protocol, "WebSocket"): each packet is one
  // frame, text or binary. The browser buffers what we send, so the
  // transport is always writable once open.
  class WebSocketTransport {
    constructor(url) {
      this.name = 'websocket';
      this.url = url;
      this.sid = undefined;      // set for an upgrade: the session to join
      this.ws = null;
      this.writable = false;     // true from the WebSocket's open event
      this.onopen = this.onpacket = this.ondrain = this.onclose = noop;
    }

    open() {
      let ws;
      try {
        ws = new global.WebSocket(this.sid ? this.url + '&sid=' + encodeURIComponent(this.sid) : this.url);
      } catch (err) {
        setTimeout(() => this.onclose('transport error', err));
        return;
      }
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onopen = () => { this.writable = true; this.onopen(); };
      ws.onmessage = (e) => this.onpacket(e.data);
      ws.onerror = noop; // a close event follows, and says the same
      ws.onclose = () => {
        this.close();
        this.onclose('transport close', new Error('websocket error'));
      };
    }

    write(packets) {
      for (const p of packets) this.ws.send(p);
    }

    close() {
      this.writable = false;
      if (!this.ws) return;
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = null;
      if (this.ws.readyState <= 1) this.ws.close();
      this.ws = null;
    }
  }

  const TRANSPORTS = { polling: Polling, websocket: WebSocketTransport };

  // Can this browser use the transport at all?
  function available(name) {
    if (name === 'polling') return typeof global.fetch === 'function';
    if (name === 'websocket') return typeof global.WebSocket === 'function';
    return false;
  }

  // ---- Engine: one Engine.IO session -----------------------------------------
  //
  // socket.io.engine, as in the official client. Events: "open" (the
  // handshake is in), "message" (a Socket.IO packet: its text without the
  // "4", or an ArrayBuffer), "close" (reason, err), "upgrading",
  // "upgrade" and "upgradeError" (see probe()), and wshub's "wire".

  class Engine extends Emitter {
    constructor(uri, opts) {
      super();
      this.uri = uri;
      this.opts = opts;
      this.id = undefined;           // the session id, from the handshake
      this.readyState = 'opening';   // opening -> open -> closing -> closed
      this.handshake = null;         // {sid, upgrades, pingInterval, pingTimeout, maxPayload}
      this.transport = null;         // what packets travel on now
      this.writeBuffer = [];         // packets waiting for the transport
      this.upgrading = false;        // from "3probe" until "5" is sent: hold writes
      this.probeTransport = null;    // the WebSocket being tried, if any
      this.pingTimer = null;         // fires if no ping comes in time
      // Start on the first transport in opts.transports this browser has.
      const name = opts.transports.find(available) || opts.transports[0];
      this.setTransport(new TRANSPORTS[name](engineUrl(uri, opts.path, name)));
    }

    open() {
      this.transport.open();
      return this;
    }

    // Make t the transport: its packets now come to us.
    setTransport(t) {
      t.onopen = noop;
      t.onpacket = (packet) => this.onPacket(packet);
      t.ondrain = () => this.onDrain();
      t.onclose = (reason, err) => this.onClose(reason, err);
      this.transport = t;
    }

    // Tell wshub's "wire" listeners about a packet. They only watch: if
    // one throws, the error is reported and the packet handled anyway.
    report(dir, packet, transportName) {
      guarded(() => this.emitLocal('wire', dir, packet, transportName));
    }

    // Queue an Engine.IO packet and write it when the transport can.
    send(packet) {
      if (this.readyState !== 'open') return;
      this.writeBuffer.push(packet);
      this.flush();
    }

    // Write what is queued: everything at once on a WebSocket; over
    // polling, as much as fits in one POST of maxPayload bytes (at least
    // one packet), the rest after that POST is answered ("drain").
    flush() {
      const t = this.transport;
      if (this.readyState === 'closed' || this.readyState === 'opening') return;
      if (this.upgrading || !t.writable || this.writeBuffer.length === 0) return;
      let n = this.writeBuffer.length;
      if (t.name === 'polling') {
        const limit = (this.handshake && this.handshake.maxPayload) || Infinity;
        let size = payloadLength(this.writeBuffer[0]);
        n = 1;
        while (n < this.writeBuffer.length) {
          size += 1 + payloadLength(this.writeBuffer[n]); // the separator, and the packet
          if (size > limit) break;
          n++;
        }
      }
      const packets = this.writeBuffer.splice(0, n);
      t.write(packets);
      for (const p of packets) this.report('out', p, t.name);
    }

    onDrain() {
      this.flush();
      if (this.readyState === 'closing') this.closeWhenFlushed();
    }

    onPacket(packet) {
      this.report('in', packet, this.transport.name);
      if (this.readyState === 'closed') return;
      if (typeof packet !== 'string') { this.emitLocal('message', packet); return; }
      if (this.readyState === 'opening' && packet[0] !== '0') { this.onClose('parse error'); return; }
      switch (packet[0]) {
        case '0': // open: the handshake ("Handshake")
          this.onHandshake(packet.slice(1));
          break;
        case '1': // close: the server ends the session
          this.onClose('transport close');
          break;
        case '2': // ping: answer pong at once ("Heartbeat")
          this.resetHeartbeat();
          this.send('3');
          break;
        case '4': // message: a Socket.IO packet
          this.emitLocal('message', packet.slice(1));
          break;
        default: // noop ("6", which ends a GET during an upgrade) and anything newer
          break;
      }
    }

    onHandshake(json) {
      try { this.handshake = JSON.parse(json); } catch (e) { this.onClose('parse error', e); return; }
      this.id = this.handshake.sid;
      this.transport.sid = this.id;
      this.readyState = 'open';
      this.resetHeartbeat();
      this.emitLocal('open');
      if (this.readyState !== 'open') return; // a listener closed it at once
      this.flush();
      const upgrades = Array.isArray(this.handshake.upgrades) ? this.handshake.upgrades : [];
      if (this.opts.upgrade !== false && this.transport.name === 'polling' &&
          upgrades.includes('websocket') && this.opts.transports.includes('websocket') &&
          available('websocket')) {
        this.probe();
      }
    }

    // Engine.IO v4 heartbeat: the server pings every pingInterval; if no
    // ping comes within pingInterval + pingTimeout, the link is dead.
    resetHeartbeat() {
      clearTimeout(this.pingTimer);
      this.pingTimer = setTimeout(() => this.onClose('ping timeout'),
        this.handshake.pingInterval + this.handshake.pingTimeout);
    }

    // The upgrade (engine.io-protocol, "Upgrade"). Polling goes on while
    // a WebSocket to the same session sends "2probe". When "3probe" comes
    // back, hold new writes ("upgrading"), pause polling, send "5" on the
    // WebSocket and make it the transport ("upgrade"); then flush what
    // was held. If the WebSocket fails on the way ("upgradeError"), stay
    // on polling, which is resumed if it had been paused.
    probe() {
      const t = new WebSocketTransport(engineUrl(this.uri, this.opts.path, 'websocket'));
      t.sid = this.id;
      this.probeTransport = t;
      t.onopen = () => {
        t.write(['2probe']);
        this.report('out', '2probe', t.name);
      };
      t.onclose = (reason, err) => this.probeFailed(t, err);
      t.onpacket = (packet) => {
        this.report('in', packet, t.name);
        if (packet !== '3probe') { this.probeFailed(t, new Error('probe error')); return; }
        this.upgrading = true;
        this.emitLocal('upgrading', t);
        this.transport.pause(() => {
          if (this.probeTransport !== t || this.readyState !== 'open') return;
          this.probeTransport = null;
          const polling = this.transport;
          this.setTransport(t);
          polling.close();
          t.write(['5']);
          this.report('out', '5', t.name);
          this.upgrading = false;
          this.emitLocal('upgrade', t);
          this.flush();
        });
      };
      t.open();
    }

    probeFailed(t, err) {
      if (this.probeTransport !== t) return;
      this.probeTransport = null;
      t.close();
      if (this.upgrading) {
        this.upgrading = false;
        if (this.readyState === 'open') this.transport.resume();
        this.flush();
      }
      this.emitLocal('upgradeError', err || new Error('probe error'));
    }

    // Close on purpose: write what is queued (a "41" DISCONNECT, say),
    // over polling a close packet "1" after it, then drop the transport.
    close() {
      if (this.readyState === 'closed' || this.readyState === 'closing') return;
      if (this.readyState === 'opening') { this.onClose('forced close'); return; }
      this.readyState = 'closing';
      if (this.probeTransport) this.probeFailed(this.probeTransport, new Error('socket closed'));
      if (this.transport.name === 'polling') {
        this.transport.stopPolling();
        this.writeBuffer.push('1');
      }
      this.flush();
      this.closeWhenFlushed();
    }

    closeWhenFlushed() {
      if (this.writeBuffer.length === 0 && this.transport.writable) this.onClose('forced close');
    }

    // The session is over: stop everything and say why, once.
    onClose(reason, err) {
      if (this.readyState === 'closed') return;
      this.readyState = 'closed';
      clearTimeout(this.pingTimer);
      if (this.probeTransport) this.probeTransport.close();
      this.probeTransport = null;
      this.transport.close();
      this.writeBuffer = [];
      this.emitLocal('close', reason, err);
    }
  }

  // ---- Manager: one Engine per host, and reconnection -------------------------

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      this.uri = uri;
      this.opts = opts;
      this.nsps = new Map();          // namespace -> Socket
      this.engine = null;             // the current (or last) Engine.IO session
      this.subs = [];                 // stop listening to this.engine
      this.readyState = 'closed';
      this.attempts = 0;              // reconnection attempts so far
      this.skipReconnect = false;     // set by an intentional close
      this.timers = {};
      this.pending = null;            // a binary packet awaiting buffers
    }

    open() {
      if (this.readyState === 'open' || this.readyState === 'opening') return this;
      this.readyState = 'opening';
      this.skipReconnect = false;
      const engine = new Engine(this.uri, this.opts);
      this.engine = engine;
      // "wire" is never unsubscribed, so a closing Engine's last packets
      // ("41", "1") still show.
      engine.on('wire', (dir, data, transport) => this.emitLocal('wire', dir, data, transport));
      this.subs = [
        subscribe(engine, 'open', () => this.onOpen()),
        subscribe(engine, 'message', (data) => this.onMessage(data)),
        subscribe(engine, 'close', (reason, err) => {
          if (this.readyState === 'opening') this.fail(err || new Error(reason));
          else this.onClose(reason);
        }),
        // An upgrade always leaves polling (see Engine.probe).
        subscribe(engine, 'upgrade', (t) => this.emitLocal('transport', t.name, 'polling')),
      ];
      this.timers.connect = setTimeout(() => this.fail(new Error('timeout')), this.opts.timeout);
      // Said in a microtask, so that a page that calls io() and then
      // socket.io.on("transport", ...) hears about the first transport.
      queueMicrotask(() => this.emitLocal('transport', engine.transport.name, undefined));
      engine.open();
      return this;
    }

    // The handshake is in: every socket that wants to be connected asks
    // the server for its namespace.
    onOpen() {
      clearTimeout(this.timers.connect);
      this.readyState = 'open';
      if (this.attempts > 0) this.emitLocal('reconnect', this.attempts);
      this.attempts = 0;
      this.emitLocal('open');
      for (const s of this.nsps.values()) if (s.active) s.onOpen();
    }

    // Opening failed: tell the sockets, then try again later.
    fail(err) {
      this.cleanup();
      this.readyState = 'closed';
      for (const s of this.nsps.values()) s.onError(err);
      this.emitLocal('error', err);
      this.reconnect();
    }

    // Stop the timers and close the Engine (gracefully, if it is open).
    cleanup() {
      for (const t of Object.values(this.timers)) clearTimeout(t);
      this.timers = {};
      this.pending = null;
      for (const unsubscribe of this.subs) unsubscribe();
      this.subs = [];
      if (this.engine) this.engine.close();
    }

    // Send one Socket.IO packet's text, or one of its buffers, as an
    // Engine.IO message: "4" + text, or the bytes as they are.
    send(data) {
      if (!this.engine || this.readyState !== 'open') return false;
      this.engine.send(typeof data === 'string' ? '4' + data : data);
      return true;
    }

    // A Socket.IO packet from the Engine: text, or one of its buffers.
    onMessage(data) {
      if (typeof data !== 'string') { this.onBuffer(data); return; }
      let packet;
      try { packet = decode(data); } catch (e) { this.onClose('parse error'); return; }
      if (packet.attachments > 0) {
        this.pending = { packet, buffers: [] };
        return;
      }
      this.dispatch(packet);
    }

    onBuffer(buf) {
      if (!this.pending) { this.onClose('parse error'); return; }
      this.pending.buffers.push(buf);
      if (this.pending.buffers.length < this.pending.packet.attachments) return;
      const { packet, buffers } = this.pending;
      this.pending = null;
      try { packet.data = reconstruct(packet.data, buffers); } catch (e) { this.onClose('parse error'); return; }
      this.dispatch(packet);
    }

    dispatch(packet) {
      const s = this.nsps.get(packet.nsp);
      if (s) s.onPacket(packet);
    }

    // The connection is gone: every socket hears why; then reconnect
    // unless someone closed it on purpose.
    onClose(reason) {
      const wasOpen = this.readyState === 'open';
      this.cleanup();
      this.readyState = 'closed';
      for (const s of this.nsps.values()) s.onClose(reason);
      this.emitLocal('close', reason);
      if (wasOpen && !this.skipReconnect) this.reconnect();
    }

    // Exponential backoff with jitter, as socket.io's defaults do:
    // reconnectionDelay doubles per attempt up to reconnectionDelayMax,
    // then moves by up to +-randomizationFactor of itself.
    delay() {
      const o = this.opts;
      let ms = o.reconnectionDelay * Math.pow(2, this.attempts - 1);
      if (o.randomizationFactor) {
        const rand = Math.random();
        const deviation = Math.floor(rand * o.randomizationFactor * ms);
        ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
      }
      return Math.min(ms, o.reconnectionDelayMax);
    }

    reconnect() {
      if (!this.opts.reconnection || this.skipReconnect || this.timers.reconnect) return;
      if (this.attempts >= this.opts.reconnectionAttempts) {
        this.emitLocal('reconnect_failed');
        return;
      }
      this.attempts++;
      this.timers.reconnect = setTimeout(() => {
        delete this.timers.reconnect;
        this.emitLocal('reconnect_attempt', this.attempts);
        this.open();
      }, this.delay());
    }

    socket(nsp, opts) {
      let s = this.nsps.get(nsp);
      if (!s) {
        s = new Socket(this, nsp, opts || {});
        this.nsps.set(nsp, s);
      }
      return s;
    }

    // A socket left: close the Engine once no socket is using it.
    onSocketClosed() {
      for (const s of this.nsps.values()) if (s.active) return;
      this.skipReconnect = true;
      this.cleanup();
      this.readyState = 'closed';
    }
  }

  // ---- Socket: one namespace -------------------------------------------------

  const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting',
    'newListener', 'removeListener'];

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      this.io = io;
      this.nsp = nsp;
      this.auth = opts.auth;
      this.id = undefined;
      this.connected = false;
      this.active = false;     // wants to be connected
      this.sendBuffer = [];    // emits made while offline
      this.acks = new Map();   // ack id -> callback
      this.nextId = 0;
      this.flags = {};
    }

    get disconnected() { return !this.connected; }

    connect() {
      if (this.connected) return this;
      this.active = true;
      if (this.io.readyState === 'open') this.onOpen();
      else this.io.open();
      return this;
    }

    open() { return this.connect(); }

    // The Engine.IO session is up: ask to join our namespace (CONNECT,
    // with the auth payload if any).
    onOpen() {
      const send = (auth) => {
        const [text] = encode(CONNECT, this.nsp, auth === undefined ? undefined : auth);
        this.io.send(text);
      };
      if (typeof this.auth === 'function') this.auth(send);
      else send(this.auth);
    }

    onPacket(packet) {
      switch (packet.type) {
        case CONNECT:
          this.id = packet.data && packet.data.sid;
          this.connected = true;
          this.emitLocal('connect');
          for (const frames of this.sendBuffer) for (const f of frames) this.io.send(f);
          this.sendBuffer = [];
          break;
        case CONNECT_ERROR: {
          this.active = false;
          const err = new Error((packet.data && packet.data.message) || 'connect error');
          err.data = packet.data && packet.data.data;
          this.emitLocal('connect_error', err);
          this.io.onSocketClosed();
          break;
        }
        case EVENT:
        case BINARY_EVENT: {
          const args = Array.isArray(packet.data) ? packet.data.slice() : [];
          if (packet.id !== undefined) args.push(this.ackFor(packet.id));
          if (args.length > 0) this.emitLocal(...args);
          break;
        }
        case ACK:
        case BINARY_ACK: {
          const fn = this.acks.get(packet.id);
          if (fn) {
            this.acks.delete(packet.id);
            fn(...(packet.data || []));
          }
          break;
        }
        case DISCONNECT:
          this.active = false;
          this.onClose('io server disconnect');
          this.io.onSocketClosed();
          break;
        default:
          break;
      }
    }

    // The function a handler calls to answer the server's ack request.
    ackFor(id) {
      let sent = false;
      return (...args) => {
        if (sent) return;
        sent = true;
        for (const f of encode(ACK, this.nsp, args, id)) this.io.send(f);
      };
    }

    emit(event, ...args) {
      if (RESERVED.includes(event)) throw new Error(`"${event}" is a reserved event name`);
      let id;
      if (typeof args[args.length - 1] === 'function') {
        id = this.nextId++;
        this.registerAck(id, args.pop());
      }
      const frames = encode(EVENT, this.nsp, [event, ...args], id);
      if (this.connected) for (const f of frames) this.io.send(f);
      else this.sendBuffer.push(frames);
      this.flags = {};
      return this;
    }

    send(...args) { return this.emit('message', ...args); }

    // With timeout(ms), the callback gets (err, ...reply); err is set if
    // no reply came in time.
    registerAck(id, fn) {
      const ms = this.flags.timeout;
      if (ms === undefined) {
        this.acks.set(id, fn);
        return;
      }
      const timer = setTimeout(() => {
        this.acks.delete(id);
        fn(new Error('operation has timed out'));
      }, ms);
      this.acks.set(id, (...reply) => { clearTimeout(timer); fn(null, ...reply); });
    }

    timeout(ms) { this.flags.timeout = ms; return this; }

    disconnect() {
      if (this.connected) this.io.send(encode(DISCONNECT, this.nsp)[0]);
      this.active = false;
      if (this.connected) this.onClose('io client disconnect');
      this.io.onSocketClosed();
      return this;
    }

    close() { return this.disconnect(); }

    onError(err) {
      if (this.active && !this.connected) this.emitLocal('connect_error', err);
    }

    onClose(reason) {
      if (!this.connected) return;
      this.connected = false;
      this.id = undefined;
      this.emitLocal('disconnect', reason);
    }
  }

  // ---- io() ------------------------------------------------------------------

  const managers = new Map();

  // io(), io("/ns"), io("http://host:port/ns", opts): one Manager (one
  // Engine.IO session) per host and path, shared by every namespace on it.
  function io(uri, opts) {
    if (typeof uri === 'object') { opts = uri; uri = undefined; }
    const given = {};  // an option set to undefined keeps its default
    for (const [k, v] of Object.entries(opts || {})) if (v !== undefined) given[k] = v;
    opts = Object.assign({
      path: '/socket.io',
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 20000,
      transports: ['polling', 'websocket'],
      upgrade: true,
      autoConnect: true,
    }, given);
    if (!Array.isArray(opts.transports) || !opts.transports.some((t) => t in TRANSPORTS)) {
      throw new Error('opts.transports names neither "polling" nor "websocket"');
    }
    opts.transports = opts.transports.filter((t) => t in TRANSPORTS);
    const page = global.location ? global.location.href : 'http://localhost/';
    const url = new URL(uri || '/', page);
    const nsp = url.pathname || '/';
    const key = url.host + opts.path;
    let manager = managers.get(key);
    if (!manager || opts.forceNew) {
      manager = new Manager(url.origin, opts);
      if (!opts.forceNew) managers.set(key, manager);
    }
    const socket = manager.socket(nsp, opts);
    if (opts.autoConnect) socket.connect();
    return socket;
  }

  io.connect = io;
  io.Manager = Manager;
  io.Socket = Socket;
  io.protocol = 5;
  global.io = io;
})(typeof window !== 'undefined' ? window : globalThis);
