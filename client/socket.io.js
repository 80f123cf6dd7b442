/* socket.io.js -- wshub's browser client for Socket.IO v5 over WebSocket
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
 *
 * Two layers, as on the wire:
 *   Manager  -- one WebSocket, Engine.IO v4 (open, ping/pong, close) and
 *               reconnection with exponential backoff and jitter;
 *   Socket   -- one namespace on that WebSocket: Socket.IO v5 packets,
 *               events, acks, binary attachments, an offline buffer.
 *
 * Left out, on purpose: HTTP long-polling (wshub speaks WebSocket only),
 * Blob arguments (they need an async read; send an ArrayBuffer), volatile
 * emits, and connection state recovery.
 *
 * One wshub extension, for learners: manager.on("wire", (dir, data) => ...)
 * reports every packet sent ("out") and received ("in").
 *
 * References: engine.io-protocol v4; socket.io-protocol v5.
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

  // <type>[<n>-][<nsp>,][<id>][JSON], as text frames, then the buffers.
  function encode(type, nsp, data, id) {
    const buffers = [];
    let json = '';
    if (data !== undefined) json = JSON.stringify(deconstruct(data, buffers));
    if (buffers.length && type === EVENT) type = BINARY_EVENT;
    if (buffers.length && type === ACK) type = BINARY_ACK;
    let text = '4' + type;
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

  // ---- Manager: the WebSocket, Engine.IO, and reconnection -------------------

  class Manager extends Emitter {
    constructor(uri, opts) {
      super();
      this.uri = uri;
      this.opts = opts;
      this.nsps = new Map();          // namespace -> Socket
      this.ws = null;
      this.readyState = 'closed';
      this.attempts = 0;              // reconnection attempts so far
      this.skipReconnect = false;     // set by an intentional close
      this.timers = {};
      this.pending = null;            // a binary packet awaiting buffers
    }

    // The WebSocket URL: same host as the page unless the URI names one.
    url() {
      const base = new URL(this.uri, global.location ? global.location.href : undefined);
      const scheme = base.protocol === 'https:' || base.protocol === 'wss:' ? 'wss:' : 'ws:';
      let path = this.opts.path.replace(/\/$/, '');
      return `${scheme}//${base.host}${path}/?EIO=4&transport=websocket`;
    }

    open() {
      if (this.readyState === 'open' || this.readyState === 'opening') return this;
      if (!this.opts.transports.includes('websocket')) {
        throw new Error('wshub serves the websocket transport only');
      }
      this.readyState = 'opening';
      this.skipReconnect = false;
      const ws = new WebSocket(this.url());
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      this.timers.connect = setTimeout(() => this.fail(new Error('timeout')), this.opts.timeout);
      ws.onmessage = (e) => this.onData(e.data);
      ws.onerror = () => {};
      ws.onclose = () => {
        if (this.ws !== ws) return;
        if (this.readyState === 'opening') this.fail(new Error('websocket error'));
        else this.onClose('transport close');
      };
      return this;
    }

    // Opening failed: tell the sockets, then try again later.
    fail(err) {
      this.cleanup();
      this.readyState = 'closed';
      for (const s of this.nsps.values()) s.onError(err);
      this.emitLocal('error', err);
      this.reconnect();
    }

    cleanup() {
      for (const t of Object.values(this.timers)) clearTimeout(t);
      this.timers = {};
      this.pending = null;
      if (this.ws) {
        this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
        if (this.ws.readyState <= 1) this.ws.close();
        this.ws = null;
      }
    }

    send(data) {
      if (!this.ws || this.ws.readyState !== 1) return false;
      this.emitLocal('wire', 'out', data);
      this.ws.send(data);
      return true;
    }

    // Engine.IO v4 heartbeat: the server pings every pingInterval; if no
    // ping comes within pingInterval + pingTimeout, the link is dead.
    resetHeartbeat() {
      clearTimeout(this.timers.heartbeat);
      this.timers.heartbeat = setTimeout(() => this.onClose('ping timeout'),
        this.handshake.pingInterval + this.handshake.pingTimeout);
    }

    onData(data) {
      this.emitLocal('wire', 'in', data);
      if (typeof data !== 'string') return this.onBuffer(data);
      switch (data[0]) {
        case '0': // open: the handshake ("Handshake")
          this.handshake = JSON.parse(data.slice(1));
          clearTimeout(this.timers.connect);
          this.readyState = 'open';
          this.resetHeartbeat();
          if (this.attempts > 0) this.emitLocal('reconnect', this.attempts);
          this.attempts = 0;
          this.emitLocal('open');
          for (const s of this.nsps.values()) if (s.active) s.onOpen();
          break;
        case '2': // ping: answer pong at once
          this.resetHeartbeat();
          this.send('3');
          break;
        case '4': { // message: a Socket.IO packet
          let packet;
          try { packet = decode(data.slice(1)); } catch (e) { return this.onClose('parse error'); }
          if (packet.attachments > 0) {
            this.pending = { packet, buffers: [] };
            return undefined;
          }
          this.dispatch(packet);
          break;
        }
        case '1': // close
          this.onClose('transport close');
          break;
        default: // noop and anything newer: ignore
          break;
      }
      return undefined;
    }

    onBuffer(buf) {
      if (!this.pending) return this.onClose('parse error');
      this.pending.buffers.push(buf);
      if (this.pending.buffers.length < this.pending.packet.attachments) return undefined;
      const { packet, buffers } = this.pending;
      this.pending = null;
      try { packet.data = reconstruct(packet.data, buffers); } catch (e) { return this.onClose('parse error'); }
      this.dispatch(packet);
      return undefined;
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

    // A socket left: close the WebSocket once no socket is using it.
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
  // WebSocket) per host and path, shared by every namespace on it.
  function io(uri, opts) {
    if (typeof uri === 'object') { opts = uri; uri = undefined; }
    opts = Object.assign({
      path: '/socket.io',
      reconnection: true,
      reconnectionAttempts: Infinity,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 20000,
      transports: ['websocket'],
      autoConnect: true,
    }, opts || {});
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
