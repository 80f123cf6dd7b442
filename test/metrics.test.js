// metrics.test.js -- /metrics and /healthz: the Prometheus text format, and
// counters that move when the thing they count happens.
// SPDX-License-Identifier: MIT
//
// Every scrape is read three ways: by parse-prometheus-text-format from
// npm (what a JavaScript consumer of the page uses), by a stricter
// line-by-line check of the 0.0.4 grammar written here (escapes, one
// HELP and TYPE before a family's samples, families contiguous, no
// duplicate series, histograms cumulative with +Inf equal to _count),
// and by Prometheus's own `promtool check metrics` when it is installed
// (Debian's `prometheus` package).
//
// A counter is checked by a scrape before and after the event: the
// difference is the event, exactly, since each server here has no other
// clients. Waits are for responses and log lines, never for time.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const WebSocket = require('ws');
const { io } = require('socket.io-client');
const parsePrometheusTextFormat = require('parse-prometheus-text-format');
const { startServer, RawClient, withTimeout } = require('./lib/wshub');

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// ---- the grammar, checked strictly ---------------------------------------

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// A Go float, as Prometheus parses sample values.
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

// Read a label set `{a="x",b="y"}` from line at i; returns { labels, end }.
// Throws on anything the 0.0.4 format does not allow, escapes included.
function readLabels(line, i) {
  const labels = {};
  assert.strictEqual(line[i], '{');
  i++;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    assert.ok(eq > i, `a label name at ${i}: ${line}`);
    const name = line.slice(i, eq);
    assert.match(name, LABEL_NAME, `label name in: ${line}`);
    assert.ok(!name.startsWith('__'), `reserved label name in: ${line}`);
    assert.ok(!(name in labels), `label ${name} twice in: ${line}`);
    assert.strictEqual(line[eq + 1], '"', `a quoted value in: ${line}`);
    let v = '';
    let j = eq + 2;
    for (;;) {
      const ch = line[j];
      assert.ok(ch !== undefined, `unterminated label value in: ${line}`);
      if (ch === '"') break;
      if (ch === '\\') {
        const next = line[j + 1];
        assert.ok(next === '\\' || next === '"' || next === 'n', `bad escape \\${next} in: ${line}`);
        v += next === 'n' ? '\n' : next;
        j += 2;
        continue;
      }
      v += ch;
      j++;
    }
    labels[name] = v;
    i = j + 1;
    if (line[i] === ',') i++;
    else assert.strictEqual(line[i], '}', `',' or '}' after a label in: ${line}`);
  }
  return { labels, end: i + 1 };
}

// Check the whole text and return its families: name -> { type, help,
// samples: [{ name, labels, value }] }.
function strictCheck(text) {
  assert.ok(text.endsWith('\n'), 'the last line ends in LF');
  assert.ok(!text.includes('\r'), 'LF only, no CR');
  const families = new Map();
  let current = null; // the family whose samples are being read
  const done = new Set(); // families whose samples are over
  const series = new Set();
  const familyOf = (sampleName) => {
    if (families.has(sampleName) && families.get(sampleName).type !== 'histogram') return sampleName;
    const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
    if (m && families.has(m[1]) && families.get(m[1]).type === 'histogram') return m[1];
    return sampleName;
  };
  const open = (name) => {
    if (current !== name) {
      assert.ok(!done.has(name), `family ${name} is split in two`);
      if (current) done.add(current);
      current = name;
    }
    if (!families.has(name)) families.set(name, { type: null, help: null, samples: [] });
    return families.get(name);
  };
  for (const line of text.slice(0, -1).split('\n')) {
    assert.notStrictEqual(line, '', 'no blank lines');
    let m;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      assert.match(m[1], NAME);
      const fam = open(m[1]);
      assert.strictEqual(fam.help, null, `one HELP for ${m[1]}`);
      assert.strictEqual(fam.samples.length, 0, `HELP of ${m[1]} before its samples`);
      assert.ok(!/\\[^\\n]/.test(m[2].replace(/\\\\/g, '')), `HELP escapes only \\\\ and \\n: ${line}`);
      fam.help = m[2];
    } else if ((m = /^# TYPE (\S+) (\S+)$/.exec(line))) {
      assert.match(m[1], NAME);
      assert.ok(TYPES.has(m[2]), `a known type: ${line}`);
      const fam = open(m[1]);
      assert.strictEqual(fam.type, null, `one TYPE for ${m[1]}`);
      assert.strictEqual(fam.samples.length, 0, `TYPE of ${m[1]} before its samples`);
      fam.type = m[2];
    } else {
      assert.ok(!line.startsWith('#'), `no other comments: ${line}`);
      const nameEnd = line.search(/[{ ]/);
      assert.ok(nameEnd > 0, `a sample line: ${line}`);
      const name = line.slice(0, nameEnd);
      assert.match(name, NAME);
      let labels = {};
      let rest = nameEnd;
      if (line[nameEnd] === '{') ({ labels, end: rest } = readLabels(line, nameEnd));
      assert.strictEqual(line[rest], ' ', `one space before the value: ${line}`);
      const value = line.slice(rest + 1);
      assert.match(value, VALUE, `a float value (and no timestamp): ${line}`);
      const fam = open(familyOf(name));
      const key = name + JSON.stringify(Object.entries(labels).sort());
      assert.ok(!series.has(key), `series written twice: ${line}`);
      series.add(key);
      fam.samples.push({ name, labels, value: Number(value) });
    }
  }
  for (const [name, fam] of families) {
    assert.ok(fam.help, `${name} has a HELP`);
    assert.ok(fam.type, `${name} has a TYPE`);
    if (fam.type === 'counter') {
      for (const s of fam.samples) assert.ok(s.value >= 0, `counter ${name} is not negative`);
    }
    if (fam.type === 'histogram') checkHistogram(name, fam);
  }
  return families;
}

// Buckets ascending by le, counts cumulative, +Inf last and equal to
// _count, one _sum.
function checkHistogram(name, fam) {
  const buckets = fam.samples.filter((s) => s.name === `${name}_bucket`);
  const count = fam.samples.filter((s) => s.name === `${name}_count`);
  const sum = fam.samples.filter((s) => s.name === `${name}_sum`);
  assert.ok(buckets.length >= 1, `${name} has buckets`);
  assert.strictEqual(count.length, 1, `${name}_count once`);
  assert.strictEqual(sum.length, 1, `${name}_sum once`);
  let le = -Infinity;
  let prev = 0;
  for (const b of buckets) {
    assert.ok('le' in b.labels, `${name}_bucket has le`);
    const bound = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
    assert.ok(!Number.isNaN(bound), `le is a float: ${b.labels.le}`);
    assert.ok(bound > le, `${name} buckets ascend: ${b.labels.le}`);
    assert.ok(b.value >= prev, `${name} buckets are cumulative at le=${b.labels.le}`);
    le = bound;
    prev = b.value;
  }
  assert.strictEqual(buckets[buckets.length - 1].labels.le, '+Inf', `${name} ends with +Inf`);
  assert.strictEqual(prev, count[0].value, `${name}: le="+Inf" equals _count`);
}

// ---- scraping -------------------------------------------------------------

// GET /metrics; every scrape is checked by both parsers. Resolves to
// { text, families, parsed, value(name, labels) }: value is 0 for a
// series that is not there (a counter that never moved).
async function scrape(server) {
  const res = await fetch(`${server.url}/metrics`);
  assert.strictEqual(res.status, 200);
  assert.strictEqual(res.headers.get('content-type'), CONTENT_TYPE);
  const text = await res.text();
  const families = strictCheck(text);
  const parsed = parsePrometheusTextFormat(text);
  const value = (name, labels = {}) => {
    for (const fam of families.values()) {
      for (const s of fam.samples) {
        if (s.name !== name) continue;
        const want = Object.entries(labels);
        const have = Object.entries(s.labels);
        if (want.length === have.length && want.every(([k, v]) => s.labels[k] === v)) return s.value;
      }
    }
    return 0;
  };
  return { text, families, parsed, value };
}

// One raw request; resolves to { status, headers, body, rest }: rest is
// whatever came after the head and the Content-Length body, once the
// server has closed the connection (Connection: close).
async function raw(server, method, target, extra = '') {
  const c = new RawClient(server.port);
  await c.connected;
  c.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n${extra}\r\n`);
  await c.closed();
  const all = c.buf.toString('latin1');
  c.destroy();
  const end = all.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a response head: ${all.slice(0, 200)}`);
  const lines = all.slice(0, end).split('\r\n');
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(lines[0].split(' ')[1]), headers, after: all.slice(end + 4) };
}

function promtoolPath() {
  for (const dir of (process.env.PATH || '').split(':')) {
    if (dir && fs.existsSync(path.join(dir, 'promtool'))) return path.join(dir, 'promtool');
  }
  return null;
}

// ---- clients ---------------------------------------------------------------

async function openEcho(server) {
  const ws = new WebSocket(`${server.wsUrl}/echo`, { perMessageDeflate: false });
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  }), 5000, 'the WebSocket to open');
  return ws;
}

function once(emitter, event, ms = 5000) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `event ${event}`);
}

async function connectSocketIO(server, transports) {
  const socket = io(server.url, { transports, reconnection: false, forceNew: true });
  await withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  }), 5000, 'socket.io connect');
  return socket;
}

// ---- the tests ------------------------------------------------------------------

test('/metrics and /healthz', async (t) => {
  const server = await startServer([]);
  t.after(() => server.stop());

  await t.test('serves the text format 0.0.4 that a Prometheus parser from npm reads', async () => {
    const { parsed, families } = await scrape(server);
    assert.ok(parsed.length >= 15, `families: ${parsed.map((f) => f.name)}`);
    assert.strictEqual(parsed.length, families.size, 'both parsers see the same families');
    for (const fam of parsed) {
      assert.ok(fam.help.length > 0, `${fam.name} has HELP`);
      assert.ok(['COUNTER', 'GAUGE', 'HISTOGRAM'].includes(fam.type), `${fam.name} has TYPE: ${fam.type}`);
    }
    const byName = Object.fromEntries(parsed.map((f) => [f.name, f]));
    const expected = {
      wshub_connections: 'GAUGE',
      wshub_socketio_sessions: 'GAUGE',
      wshub_bayeux_sessions: 'GAUGE',
      wshub_rooms: 'GAUGE',
      wshub_messages_received_total: 'COUNTER',
      wshub_messages_sent_total: 'COUNTER',
      wshub_received_bytes_total: 'COUNTER',
      wshub_sent_bytes_total: 'COUNTER',
      wshub_websocket_closes_total: 'COUNTER',
      wshub_http_responses_total: 'COUNTER',
      wshub_api_requests_total: 'COUNTER',
      wshub_journal_writes_total: 'COUNTER',
      wshub_journal_write_seconds: 'HISTOGRAM',
      wshub_journal_fsyncs_total: 'COUNTER',
      wshub_process_cpu_seconds_total: 'COUNTER',
      wshub_process_resident_memory_bytes: 'GAUGE',
      wshub_volatile_dropped_total: 'COUNTER',
    };
    for (const [name, type] of Object.entries(expected)) {
      assert.ok(byName[name], `family ${name} is there`);
      assert.strictEqual(byName[name].type, type, `${name} is a ${type}`);
    }
    const kinds = byName.wshub_connections.metrics.map((s) => s.labels.kind).sort();
    assert.deepStrictEqual(kinds, ['http', 'polling', 'websocket']);
    // The journal's buckets, 10 us to 1 s (JS orders the key '1' first).
    const hist = byName.wshub_journal_write_seconds.metrics[0];
    const bounds = Object.keys(hist.buckets).map((le) => (le === '+Inf' ? Infinity : Number(le))).sort((a, b) => a - b);
    assert.deepStrictEqual(bounds, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, Infinity]);
  });

  await t.test('names follow the conventions: wshub_ prefix, _total counters, base units', async () => {
    const { families } = await scrape(server);
    for (const [name, fam] of families) {
      assert.match(name, /^wshub_[a-z][a-z0-9_]*[a-z0-9]$/, name);
      if (fam.type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends in _total`);
      else assert.ok(!name.endsWith('_total'), `non-counter ${name} does not end in _total`);
      assert.doesNotMatch(name, /_(ms|milliseconds|microseconds|us|kb|kib|mb|mib|minutes|hours|percent)(_|$)/,
        `${name} is in base units`);
      assert.doesNotMatch(name, /_(count|sum|bucket)$/, `${name} does not take a histogram's suffix`);
    }
  });

  await t.test('promtool check metrics accepts it', async (t2) => {
    const promtool = promtoolPath();
    if (!promtool) {
      t2.skip('promtool is not installed (Debian: apt-get install prometheus)');
      return;
    }
    const { text } = await scrape(server);
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.strictEqual(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.strictEqual(`${r.stdout}${r.stderr}`.trim(), '', 'no lint problems');
  });

  await t.test('a 404 bumps wshub_http_responses_total{status="404"}', async () => {
    const before = await scrape(server);
    const res = await fetch(`${server.url}/no-such-file`);
    assert.strictEqual(res.status, 404);
    await res.text();
    const after = await scrape(server);
    const s = { status: '404' };
    assert.strictEqual(after.value('wshub_http_responses_total', s) - before.value('wshub_http_responses_total', s), 1);
    // The first scrape's own 200 is counted too.
    assert.ok(after.value('wshub_http_responses_total', { status: '200' }) >= 1);
  });

  await t.test('a WebSocket echo counts messages and bytes both ways, and its close by code', async () => {
    const before = await scrape(server);
    const ws = await openEcho(server);
    const during = await scrape(server);
    assert.strictEqual(during.value('wshub_connections', { kind: 'websocket' }), 1);
    assert.strictEqual(during.value('wshub_http_responses_total', { status: '101' }) -
                       before.value('wshub_http_responses_total', { status: '101' }), 1);
    ws.send('hello');
    const [data] = await once(ws, 'message');
    assert.strictEqual(data.toString(), 'hello');
    ws.send(Buffer.from([1, 2, 3]));
    await once(ws, 'message');
    const from = server.stderr.lines.length;
    ws.close(1000);
    await once(ws, 'close');
    await server.stderr.wait(/ close \/echo 1000 /, 5000, from);
    const after = await scrape(server);
    const d = (name, labels) => after.value(name, labels) - before.value(name, labels);
    const w = { transport: 'websocket' };
    assert.strictEqual(d('wshub_messages_received_total', w), 2);
    assert.strictEqual(d('wshub_messages_sent_total', w), 2);
    assert.strictEqual(d('wshub_received_bytes_total', w), 8);
    assert.strictEqual(d('wshub_sent_bytes_total', w), 8);
    assert.strictEqual(d('wshub_websocket_closes_total', { code: '1000' }), 1);
    assert.strictEqual(after.value('wshub_connections', { kind: 'websocket' }), 0);
    // Other transports did not move.
    assert.strictEqual(d('wshub_messages_received_total', { transport: 'polling' }), 0);
  });

  await t.test('closes are counted by code: an application code is "other", a dropped TCP is 1006', async () => {
    const before = await scrape(server);
    const a = await openEcho(server);
    let from = server.stderr.lines.length;
    a.close(4001, 'app');
    await once(a, 'close');
    await server.stderr.wait(/ close \/echo 4001 /, 5000, from);
    const b = await openEcho(server);
    from = server.stderr.lines.length;
    b.terminate(); // TCP gone, no Close frame
    await server.stderr.wait(/ close \/echo 1006 /, 5000, from);
    const after = await scrape(server);
    const d = (code) => after.value('wshub_websocket_closes_total', { code }) -
                        before.value('wshub_websocket_closes_total', { code });
    assert.strictEqual(d('other'), 1);
    assert.strictEqual(d('1006'), 1);
    assert.strictEqual(d('1000'), 0);
  });

  await t.test('a Socket.IO session shows in the gauges while it lasts', async () => {
    const before = await scrape(server);
    assert.strictEqual(before.value('wshub_socketio_sessions'), 0);
    const socket = await connectSocketIO(server, ['websocket']);
    const during = await scrape(server);
    assert.strictEqual(during.value('wshub_socketio_sessions'), 1);
    assert.strictEqual(during.value('wshub_connections', { kind: 'websocket' }), 1);
    assert.ok(during.value('wshub_rooms') >= 1, 'the chat has its general room');
    assert.ok(during.value('wshub_messages_received_total', { transport: 'websocket' }) >
              before.value('wshub_messages_received_total', { transport: 'websocket' }), 'the CONNECT packet');
    const from = server.stderr.lines.length;
    socket.disconnect();
    await server.stderr.wait(/ close \/socket\.io\/\S* /, 5000, from);
    const after = await scrape(server);
    assert.strictEqual(after.value('wshub_socketio_sessions'), 0);
    assert.strictEqual(after.value('wshub_connections', { kind: 'websocket' }), 0);
  });

  await t.test('long-polling: its packets, and its held GET as a polling connection', async () => {
    // Engine.IO by hand, so that every packet is known: the handshake
    // (its open packet counts), a POST of Socket.IO's CONNECT "40", a
    // GET that takes the answer "40{...}" and the chat's greeting, and a
    // GET that is held, there being nothing to say.
    const eio = '/socket.io/?EIO=4&transport=polling';
    const before = await scrape(server);
    const open = await (await fetch(`${server.url}${eio}`)).text();
    const { sid } = JSON.parse(open.slice(1));
    const post = await fetch(`${server.url}${eio}&sid=${sid}`, { method: 'POST', body: '40' });
    assert.strictEqual(await post.text(), 'ok');
    const answer = await (await fetch(`${server.url}${eio}&sid=${sid}`)).text();
    assert.match(answer, /^40\{"sid":/);
    const packets = [open, ...answer.split('\x1e')]; // the chat greets, too
    const held = new RawClient(server.port);
    await held.connected;
    held.write(`GET ${eio}&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    // One round trip on another connection: the loop has read the GET
    // written before it.
    assert.strictEqual((await fetch(`${server.url}/healthz`)).status, 200);
    const during = await scrape(server);
    const d = (name) => during.value(name, { transport: 'polling' }) - before.value(name, { transport: 'polling' });
    assert.strictEqual(during.value('wshub_connections', { kind: 'polling' }), 1, 'the held GET');
    assert.strictEqual(during.value('wshub_socketio_sessions'), 1);
    assert.strictEqual(d('wshub_messages_received_total'), 1, 'the CONNECT');
    assert.strictEqual(d('wshub_received_bytes_total'), 2, '"40"');
    assert.strictEqual(d('wshub_messages_sent_total'), packets.length, 'the packets of its answer');
    assert.strictEqual(d('wshub_sent_bytes_total'), packets.reduce((n, p) => n + Buffer.byteLength(p), 0),
      'their bytes, without the separators');
    // The client leaves: a close packet, and the held GET is answered.
    const bye = await fetch(`${server.url}${eio}&sid=${sid}`, { method: 'POST', body: '1' });
    assert.strictEqual(await bye.text(), 'ok');
    const res = await held.response();
    assert.strictEqual(res.status, 200);
    held.destroy();
    const after = await scrape(server);
    assert.strictEqual(after.value('wshub_socketio_sessions'), 0);
    assert.strictEqual(after.value('wshub_connections', { kind: 'polling' }), 0);
  });

  // api.c counts its requests with metrics_api_request(method, status).
  await t.test('an API request bumps wshub_api_requests_total{method,status}',
    async () => {
      const before = await scrape(server);
      const ok = await fetch(`${server.url}/api/rooms`);
      assert.strictEqual(ok.status, 200);
      await ok.text();
      const missing = await fetch(`${server.url}/api/rooms/no-such-room`);
      assert.strictEqual(missing.status, 404);
      await missing.text();
      const after = await scrape(server);
      const d = (labels) => after.value('wshub_api_requests_total', labels) -
                            before.value('wshub_api_requests_total', labels);
      assert.strictEqual(d({ method: 'GET', status: '200' }), 1);
      assert.strictEqual(d({ method: 'GET', status: '404' }), 1);
    });

  await t.test('HEAD /metrics: the head, with a length, and no body', async () => {
    const res = await raw(server, 'HEAD', '/metrics');
    assert.strictEqual(res.status, 200);
    assert.strictEqual(res.headers['content-type'], CONTENT_TYPE);
    assert.ok(Number(res.headers['content-length']) > 1000, res.headers['content-length']);
    assert.strictEqual(res.after, '', 'no body after the head');
  });

  await t.test('/healthz: 200 ok, GET and HEAD', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.strictEqual(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    assert.strictEqual(await res.text(), 'ok\n');
    const head = await raw(server, 'HEAD', '/healthz');
    assert.strictEqual(head.status, 200);
    assert.strictEqual(head.headers['content-length'], '3');
    assert.strictEqual(head.after, '');
  });

  await t.test('a foreign Origin changes nothing for /metrics and /healthz', async () => {
    const origin = 'Origin: http://evil.example\r\n';
    // The same Origin is refused where --origin applies...
    const eio = await raw(server, 'GET', '/socket.io/?EIO=4&transport=polling', origin);
    assert.strictEqual(eio.status, 403);
    // ...and not here.
    const metrics = await raw(server, 'GET', '/metrics', origin);
    assert.strictEqual(metrics.status, 200);
    strictCheck(metrics.after);
    const health = await raw(server, 'GET', '/healthz', origin);
    assert.strictEqual(health.status, 200);
    assert.strictEqual(health.after, 'ok\n');
  });

  await t.test('process CPU and resident memory come from /proc/self', async () => {
    const { value } = await scrape(server);
    assert.ok(value('wshub_process_cpu_seconds_total') >= 0);
    const rss = value('wshub_process_resident_memory_bytes');
    assert.ok(rss > 1 << 20 && rss < 1 << 30, `RSS ${rss}`);
  });
});

test('Bayeux messages and sessions (--faye)', async (t) => {
  const server = await startServer(['--faye', '/faye']);
  t.after(() => server.stop());
  const before = await scrape(server);
  const res = await fetch(`${server.url}/faye`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['long-polling'], id: '1' }]),
  });
  const [reply] = await res.json();
  assert.strictEqual(reply.successful, true, JSON.stringify(reply));
  const after = await scrape(server);
  const d = (name) => after.value(name, { transport: 'bayeux' }) - before.value(name, { transport: 'bayeux' });
  assert.strictEqual(after.value('wshub_bayeux_sessions'), 1);
  assert.strictEqual(d('wshub_messages_received_total'), 1);
  assert.strictEqual(d('wshub_messages_sent_total'), 1);
  assert.ok(d('wshub_sent_bytes_total') > 50);
  assert.strictEqual(after.value('wshub_messages_received_total', { transport: 'websocket' }), 0,
    'Bayeux over HTTP is not counted as a WebSocket message');
});

test('the journal (--data): writes and their latency histogram', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-metrics-'));
  const server = await startServer(['--data', dir]);
  t.after(async () => {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const before = await scrape(server);
  const socket = await connectSocketIO(server, ['websocket']);
  // The ack is sent after the record is written (the contract's rule).
  const ack = await withTimeout(new Promise((resolve) => socket.emit('message', { text: 'counted' }, resolve)),
    5000, 'message ack');
  assert.ok(ack && ack.id, JSON.stringify(ack));
  const after = await scrape(server);
  const d = (name) => after.value(name) - before.value(name);
  assert.ok(d('wshub_journal_writes_total') >= 1);
  assert.strictEqual(d('wshub_journal_write_seconds_count'), d('wshub_journal_writes_total'),
    'every write is in the histogram');
  assert.ok(after.value('wshub_journal_write_seconds_sum') > 0);
  assert.ok(after.value('wshub_journal_size_bytes') > 0);
  const health = await fetch(`${server.url}/healthz`);
  assert.strictEqual(health.status, 200);
  assert.strictEqual(await health.text(), 'ok\n');
  socket.disconnect();
});
