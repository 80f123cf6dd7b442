// ex04.test.js -- the lab's check for exercise 4: --trace names the close code
// SPDX-License-Identifier: MIT
//
// A raw client on /echo closes with a code; ./wshub --trace must print the
// code and its RFC 6455 §7.4.1 name on the Close frame's line, both ways:
//   ... <- frame FIN=1 RSV=0 CLOSE MASK=1 key=... len=5 "\x03\xe9bye" (code 1001, going away)
//   ... -> frame FIN=1 RSV=0 CLOSE MASK=0 len=2 "\x03\xe9" (code 1001, going away)
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const { startServer, rawWebSocket, frame, closePayload, OP, stepper } = require('../lib/lab');

// Close a fresh raw WebSocket with code; resolve to the two trace lines
// of the Close frames (the client's and the server's answer).
async function closeWith(server, code) {
  const from = server.stdout.lines.length;
  const c = await rawWebSocket(server.port);
  c.write(frame(OP.CLOSE, closePayload(code, 'bye')));
  await c.closeFrame(3000);
  c.destroy();
  const theirs = await server.stdout.wait(/<- frame .* CLOSE /, 3000, from);
  const ours = await server.stdout.wait(/-> frame .* CLOSE /, 3000, from);
  return { theirs, ours };
}

function named(line) {
  const m = / \(code (\d+)(.*)\)$/.exec(line);
  return m ? `code ${m[1]}${m[2]}` : `no "(code ...)" at the end of: ${line}`;
}

test('close codes in --trace', async (t) => {
  const server = await startServer(['--trace']);
  t.after(() => server.stop());
  const step = stepper(t);

  const rows = [
    [1000, 'normal closure'],
    [1001, 'going away'],
    [1003, 'unsupported data'],
    [1008, 'policy violation'],
    [3000, 'registered'],
    [4000, 'private use'],
  ];
  for (const [code, name] of rows) {
    await step(`${code} is "${name}", on both Close frames`, async () => {
      const { theirs, ours } = await closeWith(server, code);
      const want = `code ${code}, ${name}`;
      assert.strictEqual(named(theirs), want, `the client's Close line ends "(${named(theirs)})", want "(${want})"`);
      assert.strictEqual(named(ours), want, `the server's Close line ends "(${named(ours)})", want "(${want})"`);
    });
  }

  await step('a code that may not be sent (1005) is answered 1002, "protocol error"', async () => {
    const { theirs, ours } = await closeWith(server, 1005);
    assert.strictEqual(named(theirs), 'code 1005, no status (never sent)', `the client's Close line ends "(${named(theirs)})"`);
    assert.strictEqual(named(ours), 'code 1002, protocol error', `the server's Close line ends "(${named(ours)})"`);
  });
});
