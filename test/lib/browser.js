// browser.js -- Chromium through playwright-core, as every browser test
// starts it, and the chat page's steps that several of them take.
// SPDX-License-Identifier: MIT
//
// The browser is Debian's /usr/bin/chromium, never a downloaded one,
// with the flags the project's brief names. A file whose tests need it
// takes its node:test `skip` option from chromiumSkip(), which prints
// one SKIPPING line when Chromium is missing; .ci/run installs it, so CI
// never skips.
'use strict';

const fs = require('node:fs');

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// false when Chromium is there; else says which tests are skipped and
// returns the reason node:test shows.
function chromiumSkip(what) {
  if (fs.existsSync(CHROMIUM)) return false;
  console.log(`# SKIPPING ${what}: ${CHROMIUM} is not installed (apt-get install chromium)`);
  return 'no Chromium';
}

// A headless Chromium; extra flags go after the usual ones.
function launch(extra = []) {
  const { chromium } = require('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...extra] });
}

// A new page, in a context of its own (its own localStorage), whose
// console errors and uncaught exceptions are pushed to errors.
// opts.context: the context's options (ignoreHTTPSErrors, say);
// opts.noWebSocket deletes window.WebSocket before any script runs.
async function page(browser, errors, opts = {}) {
  const p = await browser.newPage(opts.context || {});
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  p.on('pageerror', (e) => errors.push(String(e)));
  if (opts.noWebSocket) await p.addInitScript(() => { delete window.WebSocket; });
  return p;
}

// Open the chat at url + (opts.path or "/"), wait until it is connected
// (and, with opts.transport, on that transport), and take a name.
async function enter(browser, url, name, errors, opts = {}) {
  const p = await page(browser, errors, opts);
  await p.goto(url + (opts.path || '/'));
  await p.waitForSelector('#banner.connected', { timeout: 10000 });
  if (opts.transport) {
    await p.locator('#wire-transport', { hasText: opts.transport })
      .waitFor({ state: 'attached', timeout: 10000 });
  }
  await p.locator('#members li.me').waitFor({ timeout: 10000 });
  await p.fill('#nick', name);
  await p.click('#nick-save');
  await p.locator('#members li.me', { hasText: name }).waitFor({ timeout: 10000 });
  return p;
}

// Send a line from the chat page.
async function say(p, text) {
  await p.fill('#text', text);
  await p.click('#send');
}

module.exports = { CHROMIUM, chromiumSkip, launch, page, enter, say };
