// tls-browser.test.js -- Chromium (through playwright-core) on wshub with
// --tls-cert: the chat loaded over https://, two people chatting over
// polling and then wss://, and the echo page over wss://.
// SPDX-License-Identifier: MIT
//
// The certificate is the test's own (lib/tls.js), which Chromium does not
// trust. Each context is made with ignoreHTTPSErrors, and Chromium is
// also given the leaf's key hash (--ignore-certificate-errors-spki-list):
// with ignoreHTTPSErrors alone its verifier still rejects the chain, and
// it ends some handshakes with a certificate_unknown alert before the
// override takes effect (wshub logs each as "TLS handshake failed: sslv3
// alert certificate unknown"). With both, every handshake completes, and
// the test asserts that. Skipped, with a message saying so, when
// /usr/bin/chromium is missing; .ci/run installs it, so CI never skips.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { makeCerts, startTlsServer } = require('./lib/tls');
const { chromiumSkip, launch, page: newPage, enter: enterChat, say } = require('./lib/browser');

const skip = chromiumSkip('TLS browser tests');

// A page in a context of its own (its own localStorage, so each person
// keeps their own name) that accepts the test's certificate. Console
// errors and uncaught exceptions go to errors.
const HTTPS = { context: { ignoreHTTPSErrors: true } };

function page(browser, errors) {
  return newPage(browser, errors, HTTPS);
}

// Open the chat over https, wait until it has moved to the WebSocket,
// and set a nickname.
function enter(browser, url, name, errors) {
  return enterChat(browser, url, name, errors, { ...HTTPS, transport: 'websocket' });
}

test('Chromium chats over https and wss', { skip }, async (t) => {
  const certs = makeCerts();
  const server = await startTlsServer(certs);
  const spki = crypto.createHash('sha256')
    .update(crypto.createPublicKey(fs.readFileSync(certs.leafOnly)).export({ type: 'spki', format: 'der' }))
    .digest('base64');
  const browser = await launch([`--ignore-certificate-errors-spki-list=${spki}`]);
  t.after(async () => { await browser.close(); await server.stop(); certs.remove(); });
  const errors = [];

  const alice = await enter(browser, server.url, 'Alice', errors);
  const bob = await enter(browser, server.url, 'Bob', errors);
  const where = await alice.evaluate(() => ({ protocol: location.protocol, secure: window.isSecureContext }));
  assert.deepStrictEqual(where, { protocol: 'https:', secure: true });

  // Each sees the other, and a message goes both ways, with its tick.
  await bob.locator('#members li', { hasText: 'Alice' }).waitFor({ timeout: 10000 });
  await alice.locator('#members li', { hasText: 'Bob' }).waitFor({ timeout: 10000 });
  await say(alice, 'hello over TLS');
  const onBob = bob.locator('.msg', { hasText: 'hello over TLS' });
  await onBob.waitFor({ timeout: 10000 });
  assert.strictEqual(await onBob.locator('.who').textContent(), 'Alice');
  await alice.locator('.msg', { hasText: 'hello over TLS' }).locator('.tick').waitFor({ timeout: 10000 });
  await say(bob, 'and back ✓');
  await alice.locator('.msg', { hasText: 'and back ✓' }).waitFor({ timeout: 10000 });

  // The echo page picks wss:// from the page's https: origin.
  const echo = await page(browser, errors);
  await echo.goto(server.url + '/echo.html');
  await echo.waitForSelector('#status.open', { timeout: 10000 });
  await echo.fill('#text', 'echo over wss');
  await echo.click('#go');
  await echo.locator('li.in', { hasText: 'echo over wss' }).waitFor({ timeout: 10000 });

  assert.deepStrictEqual(errors, []);
  const failed = server.stderr.lines.filter((l) => /TLS handshake failed/.test(l));
  assert.deepStrictEqual(failed, [], 'every handshake of Chromium succeeded');
});
