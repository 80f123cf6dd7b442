// ex02.test.js -- the lab's check for exercise 2: the chat answers whoami
// SPDX-License-Identifier: MIT
//
// The official socket.io-client asks, as a page would:
//   socket.emit('whoami', (me) => ...)
// and the ack must be {userId, name, rooms}: the socket's id, its current
// nickname, and the chat rooms it is in (its own id-room not among them).
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, connect, ask, stepper } = require('../lib/lab');

test('whoami', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const ada = await connect(server);
  t.after(() => ada.disconnect());
  const step = stepper(t);

  await step('a new socket is a guest in general', async () => {
    const me = await ask(ada, 'whoami');
    assert.strictEqual(typeof me, 'object', 'the ack carries one object');
    assert.strictEqual(me.userId, ada.id, 'userId is the socket id');
    assert.strictEqual(me.name, `guest-${ada.id.slice(0, 4)}`, 'name is the guest name');
    assert.deepStrictEqual(me.rooms, ['general'], 'rooms lists general only');
  });

  await step('after nick and join, the new name and both rooms', async () => {
    await ask(ada, 'nick', 'ada');
    await ask(ada, 'join', 'blue');
    const me = await ask(ada, 'whoami');
    assert.deepStrictEqual(Object.keys(me).sort(), ['name', 'rooms', 'userId'], 'exactly userId, name, rooms');
    assert.strictEqual(me.name, 'ada', 'name follows nick');
    assert.deepStrictEqual([...me.rooms].sort(), ['blue', 'general'], 'rooms follow join');
  });

  await step('a name with quotes comes back intact (it went through jb_str)', async () => {
    await ask(ada, 'nick', 'say "hi" \\o/');
    const me = await ask(ada, 'whoami');
    assert.strictEqual(me.name, 'say "hi" \\o/', 'name is escaped, not pasted');
  });
});
