// The dashboard shell: server-rendered, then hydrated so that its button works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withLakeline } from './lakeline.mjs';

const lakeline = withLakeline();

test('the server-rendered page hydrates and its button calls the server', async () => {
  const page = await lakeline.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // Server-rendered content is there before any script runs.
  const response = await page.request.get(lakeline.server.url + '/');
  const html = await response.text();
  assert.match(html, /Lakeline/);
  assert.match(html, /data-test="server-check"/);
  assert.doesNotMatch(html, /data-test="server-check-result"/);

  await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
  await page.getByRole('link', { name: 'History' }).waitFor();
  // The wasm bundle loaded and took over the page.
  await page.waitForFunction(() => [...performance.getEntriesByType('resource')].some((r) => r.name.endsWith('.wasm')));

  await page.click('[data-test="server-check"]');
  const result = page.locator('[data-test="server-check-result"]');
  await result.waitFor({ timeout: 15_000 });
  assert.match(await result.innerText(), /^Lakeline \d+\.\d+\.\d+ · up \d+s/);

  // Client-side navigation (hydrated router) keeps the page and changes the route.
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', exact: true }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/settings');
  assert.match(await result.innerText(), /^Lakeline/, 'the header survived: no full page load');

  assert.deepEqual(errors, [], 'no errors in the browser console');
});
