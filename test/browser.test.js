// browser.test.js -- a real browser (Chromium through playwright-core)
// loads the page wshub serves and echoes through /echo.
// SPDX-License-Identifier: MIT
//
// Skipped, with a message saying so, when /usr/bin/chromium is missing.
// .ci/run installs it, so CI never skips.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const { startServer } = require('./lib/wshub');

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = fs.existsSync(CHROMIUM);
if (!haveChromium) {
  console.log(`# SKIPPING browser tests: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

async function launch() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

test('Chromium loads / and echoes through /echo', { skip: !haveChromium && 'no Chromium' }, async (t) => {
  const server = await startServer();
  const browser = await launch();
  t.after(async () => { await browser.close(); await server.stop(); });
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(server.url + '/');
  await page.waitForSelector('#status.open', { timeout: 10000 });
  await page.fill('#text', 'hello from Chromium ✓');
  await page.click('#go');
  const echoed = page.locator('li.in', { hasText: 'hello from Chromium ✓' });
  await echoed.waitFor({ timeout: 10000 });

  // The page's own WebSocket API, too: binary and a 70 KB text.
  const result = await page.evaluate(async () => {
    const ws = new WebSocket(`ws://${location.host}/echo`);
    ws.binaryType = 'arraybuffer';
    await new Promise((r) => { ws.onopen = r; });
    const next = () => new Promise((r) => { ws.onmessage = (e) => r(e.data); });
    let p = next();
    ws.send(new Uint8Array([1, 2, 3, 250]));
    const bin = Array.from(new Uint8Array(await p));
    p = next();
    ws.send('x'.repeat(70000));
    const big = (await p).length;
    const closed = new Promise((r) => { ws.onclose = (e) => r(e.code); });
    ws.close(1000);
    return { bin, big, code: await closed };
  });
  assert.deepStrictEqual(result.bin, [1, 2, 3, 250]);
  assert.strictEqual(result.big, 70000);
  assert.strictEqual(result.code, 1000);
  assert.deepStrictEqual(errors, []);
});
