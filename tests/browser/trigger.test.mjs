// Two browsers click Run pipeline at the same moment: one chain starts, the other is told why
// not. Then the running chain is stopped from the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUpJobs, withLakeline } from './lakeline.mjs';

const lakeline = withLakeline();

async function confirmRun(page) {
  await page.click('[data-test="run-pipeline"]');
  await page.locator('[data-test="confirm-run"]').waitFor();
}

test('simultaneous clicks start one chain; Stop stops it', { timeout: 300_000 }, async () => {
  await setUpJobs(await lakeline.browser.context.newPage(), lakeline.server.url);

  const [a, b] = [await lakeline.browser.context.newPage(), await lakeline.browser.context.newPage()];
  for (const page of [a, b]) {
    await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
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
  await winner.goto(lakeline.server.url + '/history', { waitUntil: 'networkidle' });
  assert.equal(await winner.locator('[data-test="history-row"]').count(), 1);
});
