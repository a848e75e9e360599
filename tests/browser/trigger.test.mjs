// Two browsers click Run pipeline at the same moment: one chain starts, the other is told why
// not. Then the running chain is stopped from the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startLakeline, launchBrowser } from './lakeline.mjs';

let server;
let browser;

before(async () => {
  server = await startLakeline();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function confirmRun(page) {
  await page.click('[data-test="run-pipeline"]');
  await page.locator('[data-test="confirm-run"]').waitFor();
}

test('simultaneous clicks start one chain; Stop stops it', { timeout: 300_000 }, async () => {
  const setup = await browser.context.newPage();
  await setup.goto(server.url + '/settings', { waitUntil: 'networkidle' });
  await setup.click('[data-test="setup-jobs"]');
  await setup.waitForFunction(
    () => [...document.querySelectorAll('[data-test="job-state"]')].map((e) => e.textContent).join() === 'matches,matches,matches',
    null,
    { timeout: 30_000 },
  );

  const [a, b] = [await browser.context.newPage(), await browser.context.newPage()];
  for (const page of [a, b]) {
    await page.goto(server.url + '/', { waitUntil: 'networkidle' });
    await confirmRun(page);
  }
  await Promise.all([a.click('[data-test="confirm-run-yes"]'), b.click('[data-test="confirm-run-yes"]')]);
  const refused = await Promise.race([
    a.locator('[data-test="trigger-error"]').waitFor({ timeout: 20_000 }).then(() => a),
    b.locator('[data-test="trigger-error"]').waitFor({ timeout: 20_000 }).then(() => b),
  ]);
  assert.match(await refused.locator('[data-test="trigger-error"]').innerText(), /still running/);
  const winner = refused === a ? b : a;
  assert.equal(await winner.locator('[data-test="trigger-error"]').count(), 0);

  await winner.locator('[data-test="stop-pipeline"]').waitFor({ timeout: 20_000 });
  await winner.click('[data-test="stop-pipeline"]');
  await winner.waitForFunction(() => document.querySelector('[data-test="run-status"]')?.textContent === 'stopped', null, { timeout: 60_000 });
  const stages = await winner.locator('[data-test="stage-status"]').allInnerTexts();
  assert.ok(stages.includes('stopped'), `one stage was stopped: ${stages}`);

  // Exactly one pipeline run exists.
  await winner.goto(server.url + '/history', { waitUntil: 'networkidle' });
  assert.equal(await winner.locator('[data-test="history-row"]').count(), 1);
});
