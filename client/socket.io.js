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
 *   const reply = await socket.timeout(5000).emitWithAck("slow");
 *   socket.onAny((event, ...args) => console.log(event, args));
 *   socket.io.on("reconnect_attempt", (n) => console.log("try", n));
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
 * Beyond emit and on, what pages written for socket.io commonly use:
 * onAny and onAnyOutgoing (with prepend, off and listeners), volatile,
 * timeout(ms), emitWithAck, compress (accepted, no effect), ackTimeout,
 * and the Manager's events (socket.io.on("reconnect_attempt"), ...,
 * "ping", "error") and the reconnectionAttempts option, each as the
 * official client 4.8 behaves.
 *
 * Left out, on purpose: WebTransport, rememberUpgrade, the query,
 * extraHeaders and withCredentials options, Blob arguments (they need an
 * async read; send an ArrayBuffer), the retries option, and connection
 * state recovery (socket.recovered is always false).
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

  // The error a failed transport reports (engine.io-client's
  // TransportError): message says which transport and which way,
  // description holds the underlying cause.
  function transportError(message, cause) {
    const err = new Error(message);
    err.type = 'TransportError';
    err.description = cause;
    return err;
  }

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
      this.writable = false;     // true from the handshake on, but while a POST is in flight
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
        // The handshake ("0{...}") opens the transport for writing.
        if (this.readyState === 'opening' && typeof packet === 'string' && packet[0] === '0') this.writable = true;
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
      }, (err) => this.fail(err, 'transport error', 'xhr post error'));
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
    // no longer knows): the session is over. The error a page sees is
    // named as the official client's (XMLHttpRequest) transport names
    // it, "xhr poll error" for a GET and "xhr post error" for a POST,
    // though this one uses fetch; the cause is in its description.
    fail(err, reason = 'transport error', what = 'xhr poll error') {
      if (this.readyState === 'closed') return;
      this.close();
      this.onclose(reason, transportError(what, err));
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
  // frame, text or binary. The browser buffers what we send, so a write
  // never waits; still, as in the official client, the transport stays
  // unwritable until the current task's microtasks have run, so that
  // what is sent in one go is written as one batch, and a volatile emit
  // right behind another is dropped (see Socket.emit).
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
      // A close event follows an error; it reports both. A WebSocket that
      // failed ends the session with "transport error", one the server
      // closed with "transport close".
      let failed = false;
      ws.onerror = () => { failed = true; };
      ws.onclose = (e) => {
        this.close();
        if (failed) this.onclose('transport error', transportError('websocket error', e));
        else this.onclose('transport close', new Error('websocket connection closed'));
      };
    }

    write(packets) {
      this.writable = false;
      for (const p of packets) this.ws.send(p);
      queueMicrotask(() => {
        if (!this.ws) return; // closed meanwhile
        this.writable = true;
        this.ondrain();
      });
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
  // "4", or an ArrayBuffer), "ping" (the server's heartbeat), "error"
  // (the transport failed; "close" follows), "close" (reason, err),
  // "upgrading", "upgrade" and "upgradeError" (see probe()), and wshub's
  // "wire".

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
      t.onclose = (reason, err) => {
        if (reason === 'transport error' && this.readyState !== 'closed') this.emitLocal('error', err);
        this.onClose(reason, err);
      };
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
          this.emitLocal('ping');
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
  //
  // socket.io, as in the official client. Events: "open"; "close"
  // (reason); "error" (the connection could not be opened, or its
  // transport failed); "ping" (each heartbeat from the server);
  // "reconnect_attempt" (n, counting from 1), "reconnect_error" (err),
  // "reconnect" (n, the attempt that worked) and "reconnect_failed"
  // (after reconnectionAttempts tries); and wshub's "wire" and
  // "transport".
  //
  // The reconnection loop runs as the official client runs it. When an
  // open session drops (or the very first open fails), wait, say
  // "reconnect_attempt", and open. If that fails: "error" (sockets still
  // connecting hear it as connect_error), then the next try is scheduled,
  // or after the last one "reconnect_failed" is said, and then
  // "reconnect_error". If it works: "open" (the sockets send CONNECT),
  // then "reconnect".

  // Drop the options set to undefined or null: they keep their defaults.
  function given(opts) {
    const out = {};
    for (const [k, v] of Object.entries(opts || {})) if (v !== undefined && v !== null) out[k] = v;
    return out;
  }

  // The options with their defaults. As in the official client, 0 for
  // reconnectionAttempts, reconnectionDelay or reconnectionDelayMax means
  // the default, and timeout: false means no connect timeout. Throws if
  // transports names no transport this file has.
  function withDefaults(opts) {
    const o = Object.assign({
      path: '/socket.io',
      reconnection: true,
      randomizationFactor: 0.5,
      timeout: 20000,
      transports: ['polling', 'websocket'],
      upgrade: true,
      autoConnect: true,
    }, given(opts));
    o.reconnectionAttempts = o.reconnectionAttempts || Infinity;
    o.reconnectionDelay = o.reconnectionDelay || 1000;
    o.reconnectionDelayMax = o.reconnectionDelayMax || 5000;
    if (!Array.isArray(o.transports) || !o.transports.some((t) => t in TRANSPORTS)) {
      throw new Error('opts.transports names neither "polling" nor "websocket"');
    }
    o.transports = o.transports.filter((t) => t in TRANSPORTS);
    return o;
  }

  function pageUrl() {
    return global.location ? global.location.href : 'http://localhost/';
  }

  class Manager extends Emitter {
    // new io.Manager(uri?, opts?), as io() makes them; it opens at once
    // unless opts.autoConnect is false. opts is kept as it was given,
    // with path filled in (socket.io.opts); the options in force, the
    // defaults filled in, are this.settings.
    constructor(uri, opts) {
      super();
      if (uri && typeof uri === 'object') { opts = uri; uri = undefined; }
      this.opts = Object.assign({}, opts);
      this.opts.path = this.opts.path || '/socket.io';
      this.settings = withDefaults(this.opts);
      this.uri = new URL(uri || '/', pageUrl()).origin;
      this.nsps = new Map();          // namespace -> Socket
      this.engine = null;             // the current (or last) Engine.IO session
      this.subs = [];                 // stop listening to this.engine
      this.readyState = 'closed';     // closed -> opening -> open -> closed
      this.attempts = 0;              // tries in this reconnection loop so far
      this.reconnecting = false;      // a reconnection loop is waiting or trying
      this.skipReconnect = false;     // set by an intentional close
      this.timers = {};               // connect (the timeout), reconnect (the wait)
      this.pending = null;            // a binary packet awaiting buffers
      if (this.settings.autoConnect) this.open();
    }

    // The official client's getters and setters: manager.reconnection()
    // says whether it reconnects; manager.reconnection(false) stops it
    // and returns the manager. The others are below the class.
    reconnection(v) {
      if (v === undefined) return this.settings.reconnection;
      this.settings.reconnection = !!v;
      if (!v) this.skipReconnect = true;
      return this;
    }

    // Open an Engine.IO session, unless one is open or opening. done(err)
    // is called once it opens (err undefined) or fails; without done, a
    // failure starts the reconnection loop.
    open(done) {
      if (this.readyState === 'open' || this.readyState === 'opening') return this;
      this.readyState = 'opening';
      this.skipReconnect = false;
      const engine = new Engine(this.uri, this.settings);
      this.engine = engine;
      // "wire" is never unsubscribed, so a closing Engine's last packets
      // ("41", "1") still show.
      engine.on('wire', (dir, data, transport) => this.emitLocal('wire', dir, data, transport));
      this.subs = [
        subscribe(engine, 'open', () => {
          this.onOpen();
          if (done) done();
        }),
        subscribe(engine, 'ping', () => this.emitLocal('ping')),
        subscribe(engine, 'message', (data) => this.onMessage(data)),
        // A transport error: while opening, the open failed; once open,
        // "error" is said, and "close" follows.
        subscribe(engine, 'error', (err) => {
          if (this.readyState === 'opening') this.openFailed(err, done);
          else this.onError(err);
        }),
        subscribe(engine, 'close', (reason, err) => {
          if (this.readyState === 'opening') this.openFailed(err || new Error(reason), done);
          else this.onClose(reason, err);
        }),
        // An upgrade always leaves polling (see Engine.probe).
        subscribe(engine, 'upgrade', (t) => this.emitLocal('transport', t.name, 'polling')),
      ];
      if (this.settings.timeout !== false) {
        this.timers.connect = setTimeout(() => this.openFailed(new Error('timeout'), done),
          this.settings.timeout);
      }
      // Said in a microtask, so that a page that calls io() and then
      // socket.io.on("transport", ...) hears about the first transport.
      queueMicrotask(() => this.emitLocal('transport', engine.transport.name, undefined));
      engine.open();
      return this;
    }

    connect(done) { return this.open(done); }

    // The handshake is in: every socket that wants to be connected asks
    // the server for its namespace.
    onOpen() {
      clearTimeout(this.timers.connect);
      delete this.timers.connect;
      this.readyState = 'open';
      for (const s of this.nsps.values()) if (s.active) s.onOpen();
      this.emitLocal('open');
    }

    // Opening failed: stop, say so, then call done(err); or, without done,
    // start the reconnection loop if this was a first try.
    openFailed(err, done) {
      this.cleanup();
      this.readyState = 'closed';
      this.onError(err);
      if (done) done(err);
      else if (!this.reconnecting && this.attempts === 0) this.reconnect();
    }

    // Sockets still connecting hear err as connect_error; then the
    // manager says "error".
    onError(err) {
      for (const s of this.nsps.values()) s.onError(err);
      this.emitLocal('error', err);
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
      try { packet = decode(data); } catch (e) { this.onClose('parse error', e); return; }
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
      try { packet.data = reconstruct(packet.data, buffers); } catch (e) { this.onClose('parse error', e); return; }
      this.dispatch(packet);
    }

    dispatch(packet) {
      const s = this.nsps.get(packet.nsp);
      if (s) s.onPacket(packet);
    }

    // The open session is gone: every socket hears why; then the
    // reconnection loop starts, unless someone closed it on purpose.
    onClose(reason, err) {
      this.cleanup();
      this.attempts = 0;
      this.readyState = 'closed';
      for (const s of this.nsps.values()) s.onClose(reason, err);
      this.emitLocal('close', reason, err);
      if (!this.skipReconnect) this.reconnect();
    }

    // Exponential backoff with jitter, as socket.io's defaults do:
    // reconnectionDelay doubles per attempt up to reconnectionDelayMax,
    // then moves by up to +-randomizationFactor of itself.
    delay() {
      const o = this.settings;
      let ms = o.reconnectionDelay * Math.pow(2, this.attempts - 1);
      if (o.randomizationFactor) {
        const rand = Math.random();
        const deviation = Math.floor(rand * o.randomizationFactor * ms);
        ms = (Math.floor(rand * 10) & 1) === 0 ? ms - deviation : ms + deviation;
      }
      return Math.min(ms, o.reconnectionDelayMax);
    }

    // Schedule the next try of the reconnection loop, or end the loop
    // with "reconnect_failed" after reconnectionAttempts tries.
    reconnect() {
      if (!this.settings.reconnection || this.skipReconnect || this.reconnecting) return;
      if (this.attempts >= this.settings.reconnectionAttempts) {
        this.attempts = 0;
        this.emitLocal('reconnect_failed');
        return;
      }
      this.attempts++;
      this.reconnecting = true;
      this.timers.reconnect = setTimeout(() => {
        delete this.timers.reconnect;
        if (this.skipReconnect) return;
        this.emitLocal('reconnect_attempt', this.attempts);
        if (this.skipReconnect) return; // a listener closed it
        this.open((err) => {
          this.reconnecting = false;
          if (err) {
            this.reconnect();
            this.emitLocal('reconnect_error', err);
          } else {
            const n = this.attempts;
            this.attempts = 0;
            this.emitLocal('reconnect', n);
          }
        });
      }, this.delay());
    }

    // The socket for namespace nsp, made on first use; with autoConnect,
    // it is connected (again, if it had been disconnected).
    socket(nsp, opts) {
      let s = this.nsps.get(nsp);
      if (!s) {
        s = new Socket(this, nsp, opts || {});
        this.nsps.set(nsp, s);
        if (this.settings.autoConnect) s.connect();
      } else if (this.settings.autoConnect && !s.active) {
        s.connect();
      }
      return s;
    }

    // A socket left: close the Engine once no socket is using it, and
    // stop any reconnection loop ("forced close").
    onSocketClosed() {
      for (const s of this.nsps.values()) if (s.active) return;
      this.skipReconnect = true;
      this.reconnecting = false;
      this.attempts = 0;
      this.cleanup();
      this.readyState = 'closed';
      this.emitLocal('close', 'forced close');
    }
  }

  // manager.reconnectionAttempts(), manager.reconnectionAttempts(5) and
  // the same for the other numbers: read or set an option in force.
  for (const name of ['reconnectionAttempts', 'reconnectionDelay', 'reconnectionDelayMax',
    'randomizationFactor', 'timeout']) {
    Manager.prototype[name] = function (v) {
      if (v === undefined) return this.settings[name];
      this.settings[name] = v;
      return this;
    };
  }

  // ---- Socket: one namespace -------------------------------------------------
  //
  // Events: "connect", "disconnect" (reason, description),
  // "connect_error" (err), and the server's events. onAny listeners hear
  // every event from the server (first, before the event's own
  // listeners), onAnyOutgoing listeners every event sent to it.

  const RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting',
    'newListener', 'removeListener'];

  // Remove fn from list, or empty the list if fn is undefined.
  function removeFrom(list, fn) {
    if (fn === undefined) { list.length = 0; return; }
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
  }

  class Socket extends Emitter {
    constructor(io, nsp, opts) {
      super();
      this.io = io;
      this.nsp = nsp;
      this.auth = opts.auth;
      this.ackTimeout = opts.ackTimeout; // ms, for an ack without timeout(ms)
      this.id = undefined;
      this.connected = false;
      this.recovered = false;  // connection state recovery is left out
      this.active = false;     // wants to be connected
      this.sendBuffer = [];    // {id, data} of emits made while offline
      this.acks = new Map();   // ack id -> callback; .withError: it takes an error first
      this.nextId = 0;
      this.flags = {};         // for the next emit: volatile, timeout, compress
      this.anyListeners = [];
      this.anyOutgoingListeners = [];
    }

    get disconnected() { return !this.connected; }

    // Connect, unless connected: at once if the Engine is open, else when
    // it opens (now, or at the next try of a reconnection loop).
    connect() {
      if (this.connected) return this;
      this.active = true;
      if (!this.io.reconnecting) this.io.open();
      if (this.io.readyState === 'open') this.onOpen();
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
          // The emits buffered while offline go first, then "connect".
          this.id = packet.data && packet.data.sid;
          this.connected = true;
          for (const p of this.sendBuffer) this.sendEvent(p);
          this.sendBuffer = [];
          this.emitLocal('connect');
          break;
        case CONNECT_ERROR: {
          this.active = false;
          this.io.onSocketClosed();
          const err = new Error((packet.data && packet.data.message) || 'connect error');
          err.data = packet.data && packet.data.data;
          this.emitLocal('connect_error', err);
          break;
        }
        case EVENT:
        case BINARY_EVENT: {
          const args = Array.isArray(packet.data) ? packet.data.slice() : [];
          if (packet.id !== undefined) args.push(this.ackFor(packet.id));
          for (const fn of this.anyListeners.slice()) fn.apply(this, args);
          if (args.length > 0) this.emitLocal(...args);
          break;
        }
        case ACK:
        case BINARY_ACK: {
          const fn = this.acks.get(packet.id);
          if (fn) {
            this.acks.delete(packet.id);
            const reply = packet.data || [];
            if (fn.withError) fn(null, ...reply);
            else fn(...reply);
          }
          break;
        }
        case DISCONNECT:
          this.active = false;
          this.io.onSocketClosed();
          this.onClose('io server disconnect');
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

    // Emit event with args to the server; a function as the last argument
    // asks for an ack. Sent at once if connected, else buffered until the
    // socket connects. A volatile emit is never buffered: as in the
    // official client, it is dropped whenever the transport cannot take
    // it this moment (the Engine is closed, a polling POST is in flight,
    // or a WebSocket write was made in this same task).
    emit(event, ...args) {
      if (RESERVED.includes(event)) throw new Error(`"${event}" is a reserved event name`);
      const flags = this.flags;
      this.flags = {};
      const packet = { id: undefined, data: [event, ...args] };
      if (typeof args[args.length - 1] === 'function') {
        packet.id = this.nextId++;
        this.registerAck(packet.id, packet.data.pop(), flags.timeout);
      }
      const transport = this.io.engine && this.io.engine.transport;
      if (flags.volatile && !(transport && transport.writable)) return this;
      if (this.connected) this.sendEvent(packet);
      else this.sendBuffer.push(packet);
      return this;
    }

    // Send an EVENT packet {id, data}; the outgoing any-listeners hear
    // it first, without its ack callback.
    sendEvent(packet) {
      for (const fn of this.anyOutgoingListeners.slice()) fn.apply(this, packet.data);
      for (const f of encode(EVENT, this.nsp, packet.data, packet.id)) this.io.send(f);
    }

    send(...args) { return this.emit('message', ...args); }

    // Keep fn until the ack with this id arrives. With a timeout (ms, from
    // timeout(ms) or the ackTimeout option) fn takes an error first: null
    // with the reply, or Error("operation has timed out") once ms pass
    // without one (the emit, if still buffered, is then not sent).
    registerAck(id, fn, ms = this.ackTimeout) {
      if (ms === undefined) {
        this.acks.set(id, fn);
        return;
      }
      const timer = setTimeout(() => {
        this.acks.delete(id);
        this.sendBuffer = this.sendBuffer.filter((p) => p.id !== id);
        fn.call(this, new Error('operation has timed out'));
      }, ms);
      const withTimer = (...reply) => { clearTimeout(timer); fn.apply(this, reply); };
      withTimer.withError = true;
      this.acks.set(id, withTimer);
    }

    // Emit and return a Promise of the ack's first argument; it rejects
    // with the timeout's (or the disconnection's) Error.
    emitWithAck(event, ...args) {
      return new Promise((resolve, reject) => {
        const fn = (err, reply) => (err ? reject(err) : resolve(reply));
        fn.withError = true;
        this.emit(event, ...args, fn);
      });
    }

    // Flags for the next emit; each returns the socket, to chain.
    timeout(ms) { this.flags.timeout = ms; return this; }

    get volatile() { this.flags.volatile = true; return this; }

    // Accepted for the official API; wshub does not implement
    // permessage-deflate (RFC 7692), so nothing is ever compressed.
    compress(compress) { this.flags.compress = compress; return this; }

    onAny(fn) { this.anyListeners.push(fn); return this; }

    prependAny(fn) { this.anyListeners.unshift(fn); return this; }

    offAny(fn) { removeFrom(this.anyListeners, fn); return this; }

    listenersAny() { return this.anyListeners.slice(); }

    onAnyOutgoing(fn) { this.anyOutgoingListeners.push(fn); return this; }

    prependAnyOutgoing(fn) { this.anyOutgoingListeners.unshift(fn); return this; }

    offAnyOutgoing(fn) { removeFrom(this.anyOutgoingListeners, fn); return this; }

    listenersAnyOutgoing() { return this.anyOutgoingListeners.slice(); }

    disconnect() {
      const wasConnected = this.connected;
      if (wasConnected) this.io.send(encode(DISCONNECT, this.nsp)[0]);
      this.active = false;
      this.io.onSocketClosed();
      if (wasConnected) this.onClose('io client disconnect');
      return this;
    }

    close() { return this.disconnect(); }

    onError(err) {
      if (this.active && !this.connected) this.emitLocal('connect_error', err);
    }

    // Disconnected: say why, then fail the acks that take an error first
    // (timeout(ms), emitWithAck) with Error("socket has been
    // disconnected"), unless their emit is still buffered. Plain acks are
    // forgotten.
    onClose(reason, description) {
      if (!this.connected) return;
      this.connected = false;
      this.id = undefined;
      this.emitLocal('disconnect', reason, description);
      for (const [id, fn] of this.acks) {
        if (this.sendBuffer.some((p) => p.id === id)) continue;
        this.acks.delete(id);
        if (fn.withError) fn.call(this, new Error('socket has been disconnected'));
      }
    }
  }

  // ---- io() ------------------------------------------------------------------

  const managers = new Map(); // origin + path -> the shared Manager

  // io(), io("/ns"), io("http://host:port/ns", opts): one Manager (one
  // Engine.IO session) per host and path, shared by every namespace on
  // it. As in the official client, a namespace that Manager already has,
  // opts.forceNew, or opts.multiplex === false gets a Manager of its own.
  function io(uri, opts) {
    if (typeof uri === 'object') { opts = uri; uri = undefined; }
    opts = opts || {};
    const url = new URL(uri || '/', pageUrl());
    const nsp = url.pathname || '/';
    const key = url.origin + (opts.path || '/socket.io');
    let manager = managers.get(key);
    if (opts.forceNew || opts.multiplex === false || (manager && manager.nsps.has(nsp))) {
      manager = new Manager(url.href, opts);
    } else if (!manager) {
      manager = new Manager(url.href, opts);
      managers.set(key, manager);
    }
    return manager.socket(nsp, opts);
  }

  io.connect = io;
  io.Manager = Manager;
  io.Socket = Socket;
  io.protocol = 5; // socket.io-protocol v5 (the official bundle's global lacks it)
  global.io = io;
})(typeof window !== 'undefined' ? window : globalThis);
