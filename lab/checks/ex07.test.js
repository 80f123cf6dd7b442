// ex07.test.js -- the lab's check for exercise 7: remind, an ack answered later
// SPDX-License-Identifier: MIT
//
//   socket.emit('remind', {text, ms}, (answer) => ...)
// is answered {text} ms milliseconds later, by a timer, while the socket
// goes on being served; bad input is answered {error} at once; a socket
// that leaves with reminders pending takes them with it.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, connect, ask, withTimeout, stepper } = require('../lib/lab');

// Emit remind and resolve to { answer, ms } (how long the answer took).
function remind(socket, arg) {
  const started = Date.now();
  return withTimeout(new Promise((resolve) => socket.emit('remind', arg, (answer) => resolve({ answer, ms: Date.now() - started }))),
    2000, 'the server to answer "remind"\'s ack (is there a handler for it?)');
}

test('remind', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const ada = await connect(server);
  t.after(() => ada.disconnect());
  const step = stepper(t);

  await step('bad input is answered {error} at once', async () => {
    for (const bad of [{ text: 'tea', ms: 0 }, { text: 'tea', ms: 60001 }, { text: 'tea' }, { text: '', ms: 10 }, { ms: 10 }]) {
      const { answer, ms } = await remind(ada, bad);
      assert.strictEqual(typeof (answer && answer.error), 'string', `remind ${JSON.stringify(bad)} is answered {error}, not ${JSON.stringify(answer)}`);
      assert.ok(ms < 500, `the refusal of ${JSON.stringify(bad)} took ${ms} ms; refuse at once`);
    }
  });

  await step('{text: "tea", ms: 300} is answered {text: "tea"} after 300 ms', async () => {
    const { answer, ms } = await remind(ada, { text: 'tea', ms: 300 });
    assert.deepStrictEqual(answer, { text: 'tea' });
    assert.ok(ms >= 295, `answered after ${ms} ms, before its time`);
    assert.ok(ms < 1500, `answered after ${ms} ms, far too late`);
  });

  await step('the socket is served meanwhile, and the shorter reminder answers first', async () => {
    const order = [];
    const long = remind(ada, { text: 'long', ms: 500 }).then((r) => order.push(r.answer.text));
    const short = remind(ada, { text: 'short', ms: 100 }).then((r) => order.push(r.answer.text));
    const nick = ask(ada, 'nick', 'ada').then(() => order.push('nick'));
    await Promise.all([long, short, nick]);
    assert.deepStrictEqual(order, ['nick', 'short', 'long'], 'nick at once, then short, then long');
  });

  await step('a socket that leaves takes its reminders with it; the server goes on', async () => {
    const bob = await connect(server);
    bob.emit('remind', { text: 'never told', ms: 200 }, () => {});
    await ask(bob, 'nick', 'bob'); // the remind has been handled
    bob.disconnect();
    const { answer } = await remind(ada, { text: 'after bob', ms: 300 });
    assert.deepStrictEqual(answer, { text: 'after bob' }, 'the server still answers reminders');
  });
});
