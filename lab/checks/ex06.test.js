// ex06.test.js -- the lab's check for exercise 6: at most 5 typing events a second
// SPDX-License-Identifier: MIT
//
// ada sends eight typing events at once, then a message; bob, in the
// same room, counts the typing events that reach him before the message
// (the server handles ada's packets in order and bob's socket delivers in
// order, so nothing can arrive late). Five must pass and three be dropped.
// Then cy's typing still reaches bob: the limit is per socket.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, connect, ask, once, stepper } = require('../lib/lab');

// Resolve to the typing events bob hears before the next message.
function typingUntilMessage(bob) {
  const seen = [];
  const onTyping = (t) => seen.push(t);
  bob.on('typing', onTyping);
  return once(bob, 'message').then(() => {
    bob.off('typing', onTyping);
    return seen;
  });
}

test('a socket\'s typing is rate-limited', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const ada = await connect(server);
  const bob = await connect(server);
  const cy = await connect(server);
  t.after(() => [ada, bob, cy].forEach((s) => s.disconnect()));
  const step = stepper(t);

  await step('of eight typing events sent at once, five reach the room', async () => {
    const heard = typingUntilMessage(bob);
    for (let i = 0; i < 8; i++) ada.emit('typing', { room: 'general', typing: i % 2 === 0 });
    await ask(ada, 'message', { text: 'done typing' });
    const seen = await heard;
    assert.strictEqual(seen.length, 5, `bob heard ${seen.length} typing events from a burst of eight, want 5`);
    assert.deepStrictEqual(seen.map((e) => e.typing), [true, false, true, false, true], 'the first five pass, in order');
    assert.ok(seen.every((e) => e.userId === ada.id), 'all from ada');
  });

  await step('another socket is not limited by ada\'s burst', async () => {
    const heard = typingUntilMessage(bob);
    cy.emit('typing', { room: 'general', typing: true });
    await ask(cy, 'message', { text: 'me too' });
    const seen = await heard;
    assert.strictEqual(seen.length, 1, `bob heard ${seen.length} typing events from cy, want 1`);
    assert.strictEqual(seen[0].userId, cy.id, 'and it is cy\'s');
  });

  await step('messages are not limited: ada can still talk', async () => {
    const ack = await ask(ada, 'message', { text: 'still here' });
    assert.strictEqual(ack.error, undefined, `ada's message was refused: ${ack.error}`);
  });
});
