// ex03.test.js -- the lab's check for exercise 3: ten to a room
// SPDX-License-Identifier: MIT
//
// Eleven official socket.io-clients join one room. The first ten are let
// in; the eleventh's join is acked {error: "the room is full"} and it is
// not in the room. Once one leaves, there is space again. The lobby,
// general, which everyone joins on connect, has no such limit.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, connect, ask, stepper } = require('../lib/lab');

test('ten to a room', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const people = [];
  for (let i = 0; i < 11; i++) people.push(await connect(server));
  t.after(() => people.forEach((s) => s.disconnect()));
  const step = stepper(t);

  await step('the first ten join "small"', async () => {
    for (let i = 0; i < 10; i++) {
      const ack = await ask(people[i], 'join', 'small');
      assert.strictEqual(ack.error, undefined, `join number ${i + 1} was refused: ${ack.error}`);
      assert.strictEqual(ack.room, 'small', `join number ${i + 1} is acked with the room`);
    }
  });

  await step('the eleventh is refused: {error: "the room is full"}', async () => {
    const ack = await ask(people[10], 'join', 'small');
    assert.deepStrictEqual(ack, { error: 'the room is full' }, 'the eleventh join of "small" was let in');
    const rooms = await ask(people[10], 'rooms');
    const small = rooms.find((r) => r.room === 'small');
    assert.strictEqual(small && small.members, 10, '"small" has ten members, not eleven');
  });

  await step('a member joining again is not refused', async () => {
    const ack = await ask(people[0], 'join', 'small');
    assert.strictEqual(ack.error, undefined, `a member's second join was refused: ${ack.error}`);
  });

  await step('when one leaves, the eleventh gets in', async () => {
    await ask(people[0], 'leave', 'small');
    const ack = await ask(people[10], 'join', 'small');
    assert.strictEqual(ack.error, undefined, `refused after a member left: ${ack.error}`);
  });

  await step('general has no limit: all eleven are in it', async () => {
    const rooms = await ask(people[0], 'rooms');
    const general = rooms.find((r) => r.room === 'general');
    assert.strictEqual(general && general.members, 11, 'general holds all eleven');
  });
});
