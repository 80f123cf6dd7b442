// ex11.test.js -- the lab's check for exercise 11: polling answers split at maxPayload
// SPDX-License-Identifier: MIT
//
// A long-polling client, written here by hand over HTTP (engine.io-protocol
// v4, "Transports" and "Packet encoding"), is sent more than fits in one
// answer: wshub runs with --max-message 1000, which its handshake
// announces as maxPayload, and the chat sends the client six messages of
// about 450 bytes while no GET is held. Every GET must then be answered
// with whole packets of at most maxPayload bytes in all, the rest
// waiting for the next GET, until every message has come, once each and
// in order. A packet bigger than maxPayload on its own goes alone.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { startServer, connect, ask, REPO, stepper } = require('../lib/lab');
const { request } = require(path.join(REPO, 'test', 'lib', 'faye.js'));

const MAX = 1000;

test('polling answers split at maxPayload', async (t) => {
  const server = await startServer(['--max-message', String(MAX)]);
  t.after(() => server.stop());
  const base = '/socket.io/?EIO=4&transport=polling';
  let sid;
  const get = async () => {
    const res = await request(server.port, 'GET', `${base}&sid=${sid}`);
    assert.strictEqual(res.status, 200, `a polling GET was answered ${res.status} ${res.body}`);
    return { bytes: Buffer.byteLength(res.body), packets: res.body.split('\x1e') };
  };
  // The chat messages ("42[\"message\",{...}]") in a polling answer's packets.
  const messages = (packets) => packets.filter((p) => p.startsWith('42["message"')).map((p) => JSON.parse(p.slice(2))[1]);
  const step = stepper(t);
  let ada;
  t.after(() => ada && ada.disconnect());

  await step('the handshake announces maxPayload 1000, and the client connects', async () => {
    const open = await request(server.port, 'GET', base);
    assert.strictEqual(open.status, 200);
    const hs = JSON.parse(open.body.slice(1));
    assert.strictEqual(hs.maxPayload, MAX, 'maxPayload is --max-message');
    sid = hs.sid;
    const posted = await request(server.port, 'POST', `${base}&sid=${sid}`, { body: '40', headers: { 'Content-Type': 'text/plain;charset=UTF-8' } });
    assert.strictEqual(posted.body, 'ok');
    const first = await get();
    assert.ok(first.packets.some((p) => p.startsWith('40{')), 'the CONNECT is answered');
  });

  await step('six messages queued meanwhile come in answers of at most 1000 bytes, in order', async () => {
    ada = await connect(server);
    for (let i = 0; i < 6; i++) await ask(ada, 'message', { text: `${i} ${'x'.repeat(300)}` });
    const got = [];
    for (let n = 0; got.length < 6 && n < 20; n++) {
      const answer = await get();
      assert.ok(answer.bytes <= MAX, `a polling answer of ${answer.bytes} bytes, over maxPayload ${MAX}`);
      assert.ok(answer.packets.every((p) => p.length > 0), 'every packet is whole (no empty record)');
      got.push(...messages(answer.packets));
    }
    assert.deepStrictEqual(got.map((m) => Number(m.text.split(' ')[0])), [0, 1, 2, 3, 4, 5], 'each message once, in order');
  });

  await step('a packet bigger than maxPayload goes alone, whole', async () => {
    await ask(ada, 'message', { text: 'small one' });
    await ask(ada, 'message', { text: `big ${'y'.repeat(880)}` });
    await ask(ada, 'message', { text: 'small two' });
    const got = [];
    for (let n = 0; got.length < 3 && n < 10; n++) {
      const answer = await get();
      const ms = messages(answer.packets);
      if (ms.some((m) => m.text.startsWith('big'))) {
        assert.strictEqual(answer.packets.length, 1, `the big packet shared its answer with ${answer.packets.length - 1} more`);
      } else {
        assert.ok(answer.bytes <= MAX, `a polling answer of ${answer.bytes} bytes, over maxPayload ${MAX}`);
      }
      got.push(...ms.map((m) => m.text.split(' ')[0]));
    }
    assert.deepStrictEqual(got, ['small', 'big', 'small'], 'the three, in order');
  });
});
