// journal.test.js -- messages that survive a restart: --data DIR (issue 11)
// SPDX-License-Identifier: MIT
//
// The journal is DIR/journal, one record a line: a CRC32 (zlib's, as 8
// lowercase hex digits) of the JSON text, a space, the JSON. These tests
// drive a real wshub through the REST API (Node's fetch) and the official
// socket.io-client, stop it gracefully or with kill -9, start it again on the
// same DIR, and read back what it kept:
//
//   - posts, edits and deletes, from the API and from sockets, survive both
//     kinds of restart, and ids go on above the old ones;
//   - a burst cut by kill -9 in its middle loses nothing acknowledged;
//   - a torn last record (no newline, a bad CRC, bad JSON) is skipped and
//     logged, and the file is cut back to its last good record;
//   - a journal written by hand, in the documented format, is replayed;
//   - the rewrite (past 2x the live content and 64 KiB) keeps the same
//     state, and a crash at each of its five steps (WSHUB_JOURNAL_CRASH=N
//     makes the process exit 70 there) loses nothing and duplicates nothing.
//
// Nothing sleeps to wait: every wait is for a response, an ack, a line or an
// exit, with a timeout.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { chatUser, ask, closeSockets } = require('./lib/chat');
const { startServer, withTimeout } = require('./lib/wshub');

const SLOW = process.env.WSHUB_SANITIZED ? 3 : 1;
const ms = (n) => n * SLOW;
const KEEP = 50; // messages a room keeps (CHAT_HISTORY)
const TOKEN = `journal-${Math.random().toString(36).slice(2)}`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-journal-'));
const TOKEN_FILE = path.join(tmp, 'token');
fs.writeFileSync(TOKEN_FILE, `${TOKEN}\n`, { mode: 0o600 });
let dirs = 0;
const freshDir = () => fs.mkdtempSync(path.join(tmp, `data${dirs++}-`));

// ---- servers ---------------------------------------------------------------------

// startServer's options for a server with env set in its environment (null
// unsets): through env(1), then $WSHUB_WRAP as startServer itself would.
function withEnv(env) {
  const args = [];
  for (const [k, v] of Object.entries(env)) args.push(...(v === null ? ['-u', k] : [`${k}=${v}`]));
  const wrap = process.env.WSHUB_WRAP ? process.env.WSHUB_WRAP.split(/\s+/).filter(Boolean) : [];
  return { prefix: ['env', ...args, ...wrap] };
}

const running = new Set();

async function start(dir, env = {}) {
  const server = await startServer(['--data', dir, '--api-token-file', TOKEN_FILE],
    withEnv({ WSHUB_API_TOKEN: null, WSHUB_JOURNAL_CRASH: null, ...env }));
  running.add(server);
  server.exited.then(() => running.delete(server));
  return server;
}

async function stop(server) {
  await server.stop();
}

async function kill9(server) {
  server.proc.kill('SIGKILL');
  const e = await withTimeout(server.exited, ms(10000), 'wshub to die of SIGKILL');
  assert.strictEqual(e.signal, 'SIGKILL');
}

// ---- the API ----------------------------------------------------------------------

async function api(server, method, target, body) {
  const headers = { Authorization: `Bearer ${TOKEN}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await withTimeout(fetch(server.url + target, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }), ms(5000), `${method} ${target}`);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

async function postApi(server, room, text) {
  const r = await api(server, 'POST', `/api/rooms/${room}/messages`, { text });
  assert.strictEqual(r.status, 201, r.text);
  return r.json;
}

async function history(server, room) {
  const r = await api(server, 'GET', `/api/rooms/${room}/messages?limit=200`);
  assert.strictEqual(r.status, 200, `${room}: ${r.text}`);
  return r.json;
}

// ---- sockets ----------------------------------------------------------------------

// A socket's post, acknowledged: the message as the room has it.
async function postSocket(socket, room, text) {
  const ack = room === 'general'
    ? await ask(socket, 'message', { text })
    : await ask(socket, 'room-message', { room, text });
  assert.strictEqual(typeof ack.id, 'number', JSON.stringify(ack));
  return ack;
}

// ---- the file ---------------------------------------------------------------------

const crcOf = (text) => zlib.crc32(Buffer.from(text)).toString(16).padStart(8, '0');
const line = (obj) => { const j = JSON.stringify(obj); return `${crcOf(j)} ${j}\n`; };

// Every record of DIR/journal, each checked: one line, 8 hex digits of the
// CRC32 of what follows the space, and that a JSON object.
function readJournal(dir) {
  const text = fs.readFileSync(path.join(dir, 'journal'), 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the journal does not end with a newline');
  return text.split('\n').slice(0, -1).map((l, i) => {
    const m = /^([0-9a-f]{8}) (\{.*\})$/.exec(l);
    assert.ok(m, `line ${i + 1} is not "<crc32> <json>": ${l.slice(0, 120)}`);
    assert.strictEqual(m[1], crcOf(m[2]), `line ${i + 1}: CRC`);
    return JSON.parse(m[2]);
  });
}

const journalSize = (dir) => fs.statSync(path.join(dir, 'journal')).size;

// A message object as the API makes one.
function apiMessage(id, room, text) {
  return { id, text, userId: 'api', name: 'api', room, timestamp: '2025-01-02T03:04:05.678Z', via: 'api' };
}

// ==================================================================================

after(async () => {
  closeSockets();
  for (const s of running) s.proc.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the journal: its format', () => {
  it('is one line per record: the CRC32 of the JSON, a space, the JSON', async () => {
    const dir = freshDir();
    const server = await start(dir);
    const alice = await chatUser(server, 'alice');
    const a = await postApi(server, 'general', 'first');
    const b = await postApi(server, 'general', 'second');
    const ack = await postSocket(alice, 'general', 'from a socket');
    const edited = await api(server, 'PUT', `/api/rooms/general/messages/${a.id}`, { text: 'first, edited' });
    assert.strictEqual(edited.status, 200, edited.text);
    assert.strictEqual((await api(server, 'DELETE', `/api/rooms/general/messages/${b.id}`)).status, 204);
    const live = await history(server, 'general');
    await stop(server);
    closeSockets();

    const recs = readJournal(dir);
    const posts = recs.filter((r) => r.op === 'post');
    assert.deepStrictEqual(posts.find((r) => r.msg.id === a.id).msg, a);
    assert.deepStrictEqual(posts.find((r) => r.msg.id === b.id).msg, b);
    assert.deepStrictEqual(posts.find((r) => r.msg.id === ack.id).msg, live.find((m) => m.id === ack.id));
    assert.strictEqual(new Set(posts.map((r) => r.msg.id)).size, posts.length, 'a message posted twice');
    const edit = recs.find((r) => r.op === 'edit');
    assert.ok(edit, 'no edit record');
    // An edit carries the whole message after it (history.c).
    assert.deepStrictEqual(edit, { op: 'edit', room: 'general', id: a.id, msg: edited.json });
    assert.deepStrictEqual(recs.find((r) => r.op === 'delete'), { op: 'delete', room: 'general', id: b.id });
  });
});

describe('the journal: restarts', () => {
  after(closeSockets);

  it('keeps what the API and Socket.IO posted across a graceful restart, and ids go on above', async () => {
    const dir = freshDir();
    let server = await start(dir);
    const alice = await chatUser(server, 'alice');
    await postApi(server, 'general', 'api one');
    await postSocket(alice, 'general', 'socket one');
    await postApi(server, 'general', 'api two');
    await postSocket(alice, 'general', 'socket two');
    const before = await history(server, 'general');
    assert.strictEqual(before.length, 4);
    await stop(server);
    alice.close();

    server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), before);
    const maxId = Math.max(...before.map((m) => m.id));
    assert.ok((await postApi(server, 'general', 'after')).id > maxId);
    const bob = await chatUser(server, 'bob');
    assert.ok((await postSocket(bob, 'general', 'after, by socket')).id > maxId);
    await stop(server);
  });

  it('keeps them across kill -9, in general and in a room of their own', async () => {
    const dir = freshDir();
    let server = await start(dir);
    const alice = await chatUser(server, 'alice', ['blue']);
    await postApi(server, 'general', 'api in general');
    await postSocket(alice, 'general', 'socket in general');
    await postApi(server, 'blue', 'api in blue');
    await postSocket(alice, 'blue', 'socket in blue');
    const general = await history(server, 'general');
    const blue = await history(server, 'blue');
    await kill9(server);
    alice.close();

    server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), general);
    assert.deepStrictEqual(await history(server, 'blue'), blue, 'the room blue after the restart');
    const maxId = Math.max(...general.map((m) => m.id), ...blue.map((m) => m.id));
    assert.ok((await postApi(server, 'general', 'after')).id > maxId);
    await stop(server);
  });

  it('keeps edits and deletes, from the API and from sockets, across both kinds of restart', async () => {
    const dir = freshDir();
    let server = await start(dir);
    let alice = await chatUser(server, 'alice');
    const [a, b, c] = [await postApi(server, 'general', 'a'), await postApi(server, 'general', 'b'),
      await postApi(server, 'general', 'c')];
    const mine = await postSocket(alice, 'general', 'alice typo');
    const mine2 = await postSocket(alice, 'general', 'alice regrets this');
    assert.strictEqual((await api(server, 'PUT', `/api/rooms/general/messages/${a.id}`, { text: 'a, edited' })).status, 200);
    assert.strictEqual((await api(server, 'DELETE', `/api/rooms/general/messages/${b.id}`)).status, 204);
    assert.deepStrictEqual(await ask(alice, 'edit', { room: 'general', id: mine.id, text: 'alice, fixed' }), { ok: true });
    assert.deepStrictEqual(await ask(alice, 'delete', { room: 'general', id: mine2.id }), { ok: true });
    const first = await history(server, 'general');
    assert.deepStrictEqual(first.map((m) => m.text), ['a, edited', 'c', 'alice, fixed']);
    await stop(server);
    alice.close();

    server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), first, 'after a graceful restart');
    assert.strictEqual((await api(server, 'PUT', `/api/rooms/general/messages/${c.id}`, { text: 'c, edited later' })).status, 200);
    assert.strictEqual((await api(server, 'DELETE', `/api/rooms/general/messages/${a.id}`)).status, 204);
    const second = await history(server, 'general');
    assert.deepStrictEqual(second.map((m) => m.text), ['c, edited later', 'alice, fixed']);
    await kill9(server);

    server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), second, 'after kill -9');
    await stop(server);
  });

  it('a burst cut by kill -9 in its middle: every acknowledged message is there once, and ids go on above', async () => {
    const dir = freshDir();
    let server = await start(dir);
    const alice = await chatUser(server, 'alice');
    const N = 40;          // API posts in the burst, 8 at a time
    const SOCKET_N = 10;   // socket posts alongside them, one at a time
    const KILL_AT = 15;    // kill -9 when this many posts (API or socket) are acknowledged
    const acked = [];
    const sent = new Set();
    let killed = false;
    let nextI = 0;
    // Both workers count toward KILL_AT: a socket ack may be the one that
    // reaches it, so the test is >=, not ===, and either worker may kill.
    const acknowledged = (m) => {
      acked.push(m);
      if (acked.length >= KILL_AT && !killed) {
        killed = true;
        server.proc.kill('SIGKILL');
      }
    };

    const apiWorker = async () => {
      while (!killed && nextI < N) {
        const text = `burst api ${nextI++}`;
        sent.add(text);
        let r;
        try {
          const res = await fetch(`${server.url}/api/rooms/general/messages`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ text }),
          });
          r = { status: res.status, json: await res.json() };
        } catch { return; } // the server is gone
        assert.strictEqual(r.status, 201);
        acknowledged(r.json);
      }
    };
    const gone = new Promise((resolve) => alice.once('disconnect', () => resolve(null)));
    const socketWorker = async () => {
      for (let i = 0; i < SOCKET_N && !killed; i++) {
        const text = `burst socket ${i}`;
        sent.add(text);
        const ack = await Promise.race([
          new Promise((resolve) => alice.emit('message', { text }, resolve)), gone]);
        if (!ack) return;
        assert.strictEqual(typeof ack.id, 'number', JSON.stringify(ack));
        acknowledged({ id: ack.id, text });
      }
    };
    await withTimeout(Promise.all([...Array.from({ length: 8 }, apiWorker), socketWorker()]),
      ms(20000), 'the burst');
    assert.ok(killed, 'the burst ended before the kill');
    const e = await withTimeout(server.exited, ms(10000), 'wshub to die');
    assert.strictEqual(e.signal, 'SIGKILL');
    alice.close();
    assert.ok(acked.length < N + SOCKET_N, 'nothing was in flight at the kill');

    server = await start(dir);
    const kept = await history(server, 'general');
    const ids = kept.map((m) => m.id);
    assert.strictEqual(new Set(ids).size, ids.length, 'a message is there twice');
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], 'history out of order');
    for (const m of kept) assert.ok(sent.has(m.text), `a message nobody sent: ${JSON.stringify(m)}`);
    const byId = new Map(kept.map((m) => [m.id, m]));
    for (const a of acked) {
      assert.ok(byId.has(a.id), `acknowledged message ${a.id} (${a.text}) lost`);
      assert.strictEqual(byId.get(a.id).text, a.text);
      if (a.userId) assert.deepStrictEqual(byId.get(a.id), a);
    }
    const maxId = Math.max(...ids);
    assert.ok((await postApi(server, 'general', 'after the burst')).id > maxId);
    const bob = await chatUser(server, 'bob');
    assert.ok((await postSocket(bob, 'general', 'bob after the burst')).id > maxId);
    await stop(server);
  });
});

describe('the journal: a torn or bad record', () => {
  // A journal with three good messages, written by wshub itself.
  async function threeMessages() {
    const dir = freshDir();
    const server = await start(dir);
    for (const t of ['one', 'two', 'three']) await postApi(server, 'general', t);
    const kept = await history(server, 'general');
    await stop(server);
    return { dir, kept, size: journalSize(dir), bytes: fs.readFileSync(path.join(dir, 'journal')) };
  }

  const torn = {
    'garbage without a newline': () => '0badc0de {"op":"post","msg":{"id":99,"te',
    'a line cut inside its CRC': () => '12ab',
    'a bad CRC': () => {
      const j = JSON.stringify({ op: 'post', msg: apiMessage(99, 'general', 'bad crc') });
      const good = crcOf(j);
      return `${good === '00000000' ? '00000001' : '00000000'} ${j}\n`;
    },
    'bad JSON under a good CRC': () => { const j = '{"op":"post","msg":{"id":99,'; return `${crcOf(j)} ${j}\n`; },
  };

  for (const [what, tail] of Object.entries(torn)) {
    it(`a last line with ${what} is skipped and logged; the file is cut back to its good records`, async () => {
      const { dir, kept, size, bytes } = await threeMessages();
      fs.appendFileSync(path.join(dir, 'journal'), tail());
      let server = await start(dir);
      await server.stderr.wait(new RegExp(`^wshub: journal: torn last record at byte ${size} skipped$`), ms(5000));
      assert.deepStrictEqual(await history(server, 'general'), kept);
      const more = await postApi(server, 'general', 'four');
      assert.ok(more.id > Math.max(...kept.map((m) => m.id)));
      await stop(server);

      // The torn bytes are gone, the good ones untouched, the new record after them.
      const now = fs.readFileSync(path.join(dir, 'journal'));
      assert.ok(now.subarray(0, size).equals(bytes), 'the good records changed');
      const recs = readJournal(dir);
      assert.deepStrictEqual(recs.filter((r) => r.op === 'post').map((r) => r.msg.text), ['one', 'two', 'three', 'four']);
      server = await start(dir);
      assert.deepStrictEqual((await history(server, 'general')).map((m) => m.text), ['one', 'two', 'three', 'four']);
      await stop(server);
      assert.ok(!server.stderr.lines.some((l) => /torn/.test(l)), 'torn again on the next start');
    });
  }

  it('a bad record that is not the last is skipped and logged, and the records after it are kept', async () => {
    const { dir, kept } = await threeMessages();
    const j = JSON.stringify({ op: 'post', msg: apiMessage(60, 'general', 'corrupted') });
    const bad = `${crcOf(j) === 'ffffffff' ? 'fffffffe' : 'ffffffff'} ${j}\n`;
    const m61 = apiMessage(61, 'general', 'after the bad one');
    const m62 = apiMessage(62, 'general', 'and another');
    fs.appendFileSync(path.join(dir, 'journal'), bad + line({ op: 'post', msg: m61 }) + line({ op: 'post', msg: m62 }));
    const server = await start(dir);
    await server.stderr.wait(/journal.*(skip|bad|crc|corrupt|invalid)/i, ms(5000));
    assert.deepStrictEqual(await history(server, 'general'), [...kept, m61, m62]);
    assert.strictEqual((await postApi(server, 'general', 'next')).id, 63);
    await stop(server);
  });
});

describe('the journal: written by hand, in the documented format', () => {
  it('posts, a room and a delete are replayed, and the next id is one above the largest seen', async () => {
    const dir = freshDir();
    const m5 = apiMessage(5, 'general', 'five');
    const m9 = { ...apiMessage(9, 'general', 'nine, by a socket'), userId: 'AAAAAAAAAAAAAAAAAAAA', name: 'alice' };
    delete m9.via;
    const m12 = apiMessage(12, 'blue', 'twelve');
    const m13 = apiMessage(13, 'blue', 'thirteen');
    fs.writeFileSync(path.join(dir, 'journal'), [
      line({ op: 'post', msg: m5 }),
      line({ op: 'post', msg: m9 }),
      line({ op: 'room', room: 'blue' }),
      line({ op: 'post', msg: m12 }),
      line({ op: 'post', msg: m13 }),
      line({ op: 'delete', room: 'blue', id: 13 }),
    ].join(''));
    const server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), [m5, m9]);
    assert.deepStrictEqual(await history(server, 'blue'), [m12]);
    const rooms = (await api(server, 'GET', '/api/rooms')).json;
    assert.deepStrictEqual(rooms.find((r) => r.room === 'blue'), { room: 'blue', members: 0, messages: 1 });
    assert.strictEqual((await postApi(server, 'general', 'next')).id, 14);
    await stop(server);
  });

  it('an edit record {op, room, id, msg} is replayed', async () => {
    const dir = freshDir();
    const m5 = apiMessage(5, 'general', 'five');
    const edited = '2025-01-02T04:05:06.789Z';
    fs.writeFileSync(path.join(dir, 'journal'), [
      line({ op: 'post', msg: m5 }),
      line({ op: 'edit', room: 'general', id: 5, msg: { ...m5, text: 'five, edited', edited } }),
    ].join(''));
    const server = await start(dir);
    assert.deepStrictEqual(await history(server, 'general'), [{ ...m5, text: 'five, edited', edited }]);
    await stop(server);
  });

  it('a leftover journal.new is removed on start, and not replayed', async () => {
    const dir = freshDir();
    const m5 = apiMessage(5, 'general', 'five');
    fs.writeFileSync(path.join(dir, 'journal'), line({ op: 'post', msg: m5 }));
    fs.writeFileSync(path.join(dir, 'journal.new'), line({ op: 'post', msg: apiMessage(6, 'general', 'half-written') }));
    const server = await start(dir);
    assert.ok(!fs.existsSync(path.join(dir, 'journal.new')), 'journal.new is still there');
    assert.deepStrictEqual(await history(server, 'general'), [m5]);
    await stop(server);
  });
});

// ---- the rewrite ------------------------------------------------------------------

// What general should hold: the last KEEP messages, as the API answered
// them, with edits and deletes applied. `pending` is the operation sent
// last whose answer never came (the server died): it may or may not have
// been kept.
class Room {
  constructor() { this.msgs = []; this.pending = null; this.maxId = 0; }
  post(m) { this.msgs.push(m); if (this.msgs.length > KEEP) this.msgs.shift(); this.maxId = Math.max(this.maxId, m.id); }
  edit(m) { this.msgs = this.msgs.map((x) => (x.id === m.id ? m : x)); }
  remove(id) { this.msgs = this.msgs.filter((x) => x.id !== id); }

  // The operation for step i: mostly posts, with edits and deletes of
  // messages still kept, ~400-byte texts so the file grows fast.
  pick(i) {
    const pad = (c) => c.repeat(400);
    if (i % 4 === 1 && this.msgs.length > 10) return { kind: 'edit', id: this.msgs[this.msgs.length - 10].id, text: `edit ${i} ${pad('e')}` };
    if (i % 4 === 3 && this.msgs.length > 20) return { kind: 'delete', id: this.msgs[this.msgs.length - 20].id };
    return { kind: 'post', text: `post ${i} ${pad('p')}` };
  }

  // The state a restart must show, given what it shows: without the pending
  // operation, or with it.
  expected(got) {
    const op = this.pending;
    if (!op) return this.msgs;
    if (op.kind === 'post') {
      const last = got[got.length - 1];
      if (last && last.text === op.text && last.id > this.maxId) return [...this.msgs, last].slice(-KEEP);
    } else if (op.kind === 'edit') {
      const now = got.find((m) => m.id === op.id);
      if (now && now.text === op.text) {
        const old = this.msgs.find((m) => m.id === op.id);
        return this.msgs.map((m) => (m.id === op.id ? { ...old, text: op.text, edited: now.edited } : m));
      }
    } else if (!got.some((m) => m.id === op.id)) {
      return this.msgs.filter((m) => m.id !== op.id);
    }
    return this.msgs;
  }
}

// Send room.pick(i) for i = 0, 1, ... until stopWhen() says so, or the
// server exits, or max operations. Each answered operation is applied to
// the model; one that got no answer is left as room.pending.
async function churn(server, room, { stopWhen = () => false, max = 2000, ops = (i) => room.pick(i) } = {}) {
  let exited = false;
  server.exited.then(() => { exited = true; });
  const died = server.exited.then(() => null);
  let i = 0;
  for (; i < max && !exited && !stopWhen(); i++) {
    const op = ops(i);
    room.pending = op;
    const target = op.kind === 'post' ? '/api/rooms/general/messages' : `/api/rooms/general/messages/${op.id}`;
    const method = { post: 'POST', edit: 'PUT', delete: 'DELETE' }[op.kind];
    const r = await Promise.race([
      api(server, method, target, op.kind === 'delete' ? undefined : { text: op.text }).catch(() => null),
      died]);
    if (!r) break;
    assert.strictEqual(r.status, { post: 201, edit: 200, delete: 204 }[op.kind], `${method} ${target}: ${r.text}`);
    if (op.kind === 'post') room.post(r.json);
    else if (op.kind === 'edit') room.edit(r.json);
    else room.remove(op.id);
    room.pending = null;
  }
  return i;
}

// After a restart: general holds what the model says, each message once.
async function expectKept(server, room) {
  const got = await history(server, 'general');
  const ids = got.map((m) => m.id);
  assert.strictEqual(new Set(ids).size, ids.length, 'a message is there twice');
  assert.deepStrictEqual(got, room.expected(got));
  return got;
}

describe('the journal: its rewrite', () => {
  it('past 2x its live content and 64 KiB the file is rewritten, and keeps the same state', async () => {
    const dir = freshDir();
    let server = await start(dir);
    const room = new Room();
    let biggest = 0;
    let rewritten = false;
    const done = await churn(server, room, {
      max: 1500,
      stopWhen: () => {
        const size = journalSize(dir);
        if (size < biggest) rewritten = true;
        biggest = Math.max(biggest, size);
        return rewritten;
      },
    });
    assert.ok(rewritten, `no rewrite after ${done} operations; the journal is ${journalSize(dir)} bytes`);
    assert.ok(biggest > 64 * 1024, `rewritten at ${biggest} bytes, under 64 KiB`);
    assert.ok(!fs.existsSync(path.join(dir, 'journal.new')), 'journal.new left behind');
    const recs = readJournal(dir);
    const postIds = recs.filter((r) => r.op === 'post').map((r) => r.msg.id);
    assert.strictEqual(new Set(postIds).size, postIds.length, 'the rewritten journal posts a message twice');
    await kill9(server);

    server = await start(dir);
    await expectKept(server, room);
    await stop(server);
  });

  it('ids stay above a deleted newest message that a rewrite left out', async () => {
    const dir = freshDir();
    let server = await start(dir);
    const room = new Room();
    // Fill the room, then post the newest message and delete it.
    await churn(server, room, { max: 60, ops: (i) => ({ kind: 'post', text: `post ${i} ${'p'.repeat(400)}` }) });
    const newest = await postApi(server, 'general', 'the newest, soon deleted');
    room.post(newest);
    assert.strictEqual((await api(server, 'DELETE', `/api/rooms/general/messages/${newest.id}`)).status, 204);
    room.remove(newest.id);
    // Edits alone until the journal is rewritten: no new ids meanwhile.
    let biggest = journalSize(dir);
    let rewritten = false;
    const target = room.msgs[0].id;
    await churn(server, room, {
      max: 1500,
      ops: (i) => ({ kind: 'edit', id: target, text: `edit ${i} ${'e'.repeat(400)}` }),
      stopWhen: () => {
        const size = journalSize(dir);
        if (size < biggest) rewritten = true;
        biggest = Math.max(biggest, size);
        return rewritten;
      },
    });
    assert.ok(rewritten, 'no rewrite');
    await kill9(server);

    server = await start(dir);
    const next = await postApi(server, 'general', 'after the restart');
    assert.ok(next.id > newest.id, `id ${next.id} again, after ${newest.id} was deleted`);
    await stop(server);
  });

  for (const step of [1, 2, 3, 4, 5]) {
    const what = {
      1: 'after creating journal.new',
      2: 'after writing half of it',
      3: 'after writing it all',
      4: 'after its fsync',
      5: 'after the rename',
    }[step];
    it(`a crash at step ${step} of the rewrite (${what}) loses nothing acknowledged and duplicates nothing`, async () => {
      const dir = freshDir();
      let server = await start(dir, { WSHUB_JOURNAL_CRASH: String(step) });
      const room = new Room();
      const done = await churn(server, room, { max: 1500 });
      const e = await withTimeout(server.exited, ms(10000),
        `wshub to exit at step ${step} of a rewrite (${done} operations sent, journal ${journalSize(dir)} bytes)`);
      assert.deepStrictEqual(e, { code: 70, signal: null }, server.stderr.lines.slice(-10).join('\n'));

      server = await start(dir);
      assert.ok(!fs.existsSync(path.join(dir, 'journal.new')), 'journal.new is still there after the start');
      const kept = await expectKept(server, room);
      const maxId = Math.max(room.maxId, ...kept.map((m) => m.id));
      assert.ok((await postApi(server, 'general', 'after the crash')).id > maxId, 'ids did not go on above');
      await stop(server);
      const recs = readJournal(dir);
      const postIds = recs.filter((r) => r.op === 'post').map((r) => r.msg.id);
      assert.strictEqual(new Set(postIds).size, postIds.length, 'the journal posts a message twice');
    });
  }
});
