// ex05.test.js -- the lab's check for exercise 5: GET /api/rooms/{room}/members
// SPDX-License-Identifier: MIT
//
// Two official socket.io-clients are in the chat, one renamed and in a
// second room; Node's fetch asks the REST API who is in each room:
//   GET  /api/rooms/general/members   200 [{userId, name}, ...] (JSON)
//   HEAD /api/rooms/general/members   200, the same head, no body
//   GET  /api/rooms/nowhere/members   404 {"error": "No such room"}
//   POST /api/rooms/general/members   405 with Allow: GET, HEAD, OPTIONS
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, connect, ask, stepper } = require('../lib/lab');

test('a room\'s members over REST', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const ada = await connect(server);
  const bob = await connect(server);
  t.after(() => { ada.disconnect(); bob.disconnect(); });
  await ask(ada, 'nick', 'ada');
  await ask(ada, 'join', 'blue');
  const url = (p) => `${server.url}/api/rooms/${p}`;
  const step = stepper(t);

  await step('GET .../general/members lists both, as {userId, name}', async () => {
    const res = await fetch(url('general/members'));
    assert.strictEqual(res.status, 200, `GET /api/rooms/general/members is ${res.status}, want 200`);
    assert.match(res.headers.get('content-type') || '', /^application\/json/, 'the answer is JSON');
    const body = await res.json();
    const byId = (a, b) => (a.userId < b.userId ? -1 : 1);
    assert.deepStrictEqual([...body].sort(byId), [
      { userId: ada.id, name: 'ada' },
      { userId: bob.id, name: `guest-${bob.id.slice(0, 4)}` },
    ].sort(byId), 'the members of general');
  });

  await step('GET .../blue/members lists only ada', async () => {
    const res = await fetch(url('blue/members'));
    assert.deepStrictEqual(await res.json(), [{ userId: ada.id, name: 'ada' }], 'the members of blue');
  });

  await step('HEAD gives the same status and length, and no body', async () => {
    const get = await fetch(url('general/members'));
    const getBody = await get.text();
    const head = await fetch(url('general/members'), { method: 'HEAD' });
    assert.strictEqual(head.status, 200, `HEAD is ${head.status}`);
    assert.strictEqual(head.headers.get('content-length'), String(Buffer.byteLength(getBody)), 'HEAD announces the GET\'s length');
    assert.strictEqual(await head.text(), '', 'HEAD has no body');
  });

  await step('a room that does not exist is 404 {"error": "No such room"}', async () => {
    const res = await fetch(url('nowhere/members'));
    assert.strictEqual(res.status, 404, `GET /api/rooms/nowhere/members is ${res.status}`);
    assert.deepStrictEqual(await res.json(), { error: 'No such room' });
  });

  await step('POST is 405, with Allow: GET, HEAD, OPTIONS', async () => {
    const res = await fetch(url('general/members'), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
    });
    assert.strictEqual(res.status, 405, `POST is ${res.status}`);
    assert.strictEqual(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });
});
