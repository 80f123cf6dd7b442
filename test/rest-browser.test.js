// rest-browser.test.js -- the REST API seen from an open chat page: an edit
// and a delete made through /api/ show up live in Chromium (issue 11).
// SPDX-License-Identifier: MIT
//
// The page (www/chat.js) renders each message as li.msg[data-id="<id>"]
// with its text in .text; on message-edit the text changes and the message
// gets a marker with class "edited"; on message-delete it leaves the list.
// The page is never reloaded: what it shows came over its socket.
//
// Skipped, with a message saying so, when /usr/bin/chromium is missing.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, withTimeout } = require('./lib/wshub');
const { chromiumSkip, launch } = require('./lib/browser');

const skip = chromiumSkip('browser tests');

async function api(server, token, method, target, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await withTimeout(fetch(server.url + target, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  }), 5000, `${method} ${target}`);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

test('an edit and a delete made through the API show up live on an open chat page', { skip }, async (t) => {
  const TOKEN = `browser-${Math.random().toString(36).slice(2)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wshub-rest-browser-'));
  const tokenFile = path.join(dir, 'token');
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  const server = await startServer(['--api-token-file', tokenFile]);
  const browser = await launch();
  t.after(async () => {
    await browser.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const errors = [];
  const p = await browser.newPage();
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(server.url + '/');
  await p.waitForSelector('#banner.connected', { timeout: 10000 });
  await p.locator('#members li.me').waitFor({ timeout: 10000 });

  // Two messages from the API arrive on the page.
  const keep = await api(server, TOKEN, 'POST', '/api/rooms/general/messages', { text: 'deploy started', name: 'ci' });
  assert.strictEqual(keep.status, 201, keep.text);
  const doomed = await api(server, TOKEN, 'POST', '/api/rooms/general/messages', { text: 'wrong channel, sorry', name: 'ci' });
  assert.strictEqual(doomed.status, 201, doomed.text);
  const keepLi = p.locator(`#messages li.msg[data-id="${keep.json.id}"]`);
  const doomedLi = p.locator(`#messages li.msg[data-id="${doomed.json.id}"]`);
  await keepLi.locator('.text', { hasText: 'deploy started' }).waitFor({ timeout: 10000 });
  await doomedLi.waitFor({ timeout: 10000 });
  assert.strictEqual(await keepLi.locator('.who').textContent(), 'ci');
  // Not edited yet: no marker.
  assert.strictEqual(await p.locator(`#messages li.msg[data-id="${keep.json.id}"].edited, #messages li.msg[data-id="${keep.json.id}"] .edited`).count(), 0);

  // The edit: new text, and the "edited" marker.
  const put = await api(server, TOKEN, 'PUT', `/api/rooms/general/messages/${keep.json.id}`, { text: 'deploy finished ✓' });
  assert.strictEqual(put.status, 200, put.text);
  await keepLi.locator('.text', { hasText: 'deploy finished ✓' }).waitFor({ timeout: 10000 });
  await p.locator(`#messages li.msg[data-id="${keep.json.id}"].edited, #messages li.msg[data-id="${keep.json.id}"] .edited`)
    .first().waitFor({ timeout: 10000 });
  assert.strictEqual(await keepLi.locator('.text').textContent(), 'deploy finished ✓');
  assert.strictEqual(await keepLi.count(), 1, 'the edit added a message instead of changing one');

  // The delete: the message leaves the list; the other stays.
  const del = await api(server, TOKEN, 'DELETE', `/api/rooms/general/messages/${doomed.json.id}`);
  assert.strictEqual(del.status, 204, del.text);
  await doomedLi.waitFor({ state: 'detached', timeout: 10000 });
  assert.strictEqual(await p.locator('#messages', { hasText: 'wrong channel, sorry' }).count(), 0);
  assert.strictEqual(await keepLi.count(), 1);

  assert.deepStrictEqual(errors, []);
});
