// ex09.test.js -- the lab's check for exercise 9: a Bayeux extension that
// refuses subscriptions to chat rooms that do not exist
// SPDX-License-Identifier: MIT
//
// With --faye /faye, /chat/ROOM is bridged to the chat's room ROOM. A
// /meta/subscribe to /chat/ROOM for a room the chat does not have must be
// refused as faye refuses (bayeux-faye.md §7): successful:false and
// error "404:/chat/ROOM:No such room". Rooms that exist, wildcards, and
// channels outside /chat/ are subscribed as before. Raw Bayeux over HTTP
// shows the exact replies; faye's own Node client shows what a page sees.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { startServer, connect, ask, peers, withTimeout, REPO, stepper } = require('../lib/lab');
const { handshake, subscribe } = require(path.join(REPO, 'test', 'lib', 'faye.js'));
const faye = peers('faye');

test('subscribing to chat rooms', async (t) => {
  const server = await startServer(['--faye', '/faye']);
  t.after(() => server.stop());
  const id = await handshake(server);
  const step = stepper(t);

  await step('/chat/nowhere is refused: 404:/chat/nowhere:No such room', async () => {
    const reply = await subscribe(server, id, '/chat/nowhere');
    assert.strictEqual(reply.successful, false, 'a subscription to a room that does not exist was accepted');
    assert.strictEqual(reply.error, '404:/chat/nowhere:No such room');
  });

  await step('/chat/general, which exists, is accepted', async () => {
    const reply = await subscribe(server, id, '/chat/general');
    assert.strictEqual(reply.successful, true, `refused: ${reply.error}`);
  });

  await step('a list with one missing room is refused, naming it', async () => {
    const reply = await subscribe(server, id, ['/chat/general', '/chat/nope']);
    assert.strictEqual(reply.successful, false, 'a list with /chat/nope in it was accepted');
    assert.strictEqual(reply.error, '404:/chat/nope:No such room');
  });

  await step('wildcards and other channels are accepted', async () => {
    for (const channel of ['/chat/*', '/chat/**', '/news', '/chatter']) {
      const reply = await subscribe(server, id, channel);
      assert.strictEqual(reply.successful, true, `${channel} was refused: ${reply.error}`);
    }
  });

  await step('a room someone has just joined can be subscribed', async () => {
    const ada = await connect(server);
    try {
      await ask(ada, 'join', 'blue');
      const reply = await subscribe(server, id, '/chat/blue');
      assert.strictEqual(reply.successful, true, `/chat/blue was refused after ada joined blue: ${reply.error}`);
    } finally {
      ada.disconnect();
    }
  });

  await step('faye\'s own client sees the refusal as {code, params, message}', async () => {
    const client = new faye.Client(`${server.url}/faye`, { timeout: 10, retry: 1 });
    let outcome = 'accepted';
    try {
      await withTimeout(Promise.resolve(client.subscribe('/chat/nosuch', () => {})), 5000, 'faye\'s client to subscribe');
    } catch (err) {
      if (err instanceof Error && /^timed out/.test(err.message)) throw err;
      outcome = { code: err.code, params: err.params, message: err.message };
    } finally {
      // Before the server stops: a client left connected retries forever.
      await withTimeout(Promise.resolve(client.disconnect()), 5000, 'faye\'s client to disconnect');
    }
    assert.deepStrictEqual(outcome, { code: 404, params: ['/chat/nosuch'], message: 'No such room' });
  });
});
