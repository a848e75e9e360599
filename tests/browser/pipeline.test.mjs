// A user's way through the dashboard on the embedded local workspace: set up the jobs, run the
// pipeline and watch it live, find it in history, follow its lineage, send a test prediction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUpJobs, withLakeline } from './lakeline.mjs';

const CHAIN_TIMEOUT = 300_000; // a cold venv build happens inside the first run
const lakeline = withLakeline();

test('set up, run, watch live, review history and lineage, note, predict, roll back', { timeout: 900_000 }, async () => {
  const page = await lakeline.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Settings: the three jobs are missing, one click creates them.
  assert.deepEqual(await setUpJobs(page, lakeline.server.url), ['missing', 'missing', 'missing']);

  // Pipeline: Run pipeline asks first, then the stages go live without a reload.
  await page.click('nav >> text=Pipeline');
  await page.locator('[data-test="no-runs"]').waitFor();
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.click('[data-test="run-pipeline"]');
  await page.locator('[data-test="confirm-run"]').waitFor();
  await page.click('[data-test="confirm-run-yes"]');
  await page.locator('[data-test="current-run"]').waitFor({ timeout: 30_000 });
  const stageStatus = (i) => page.locator(`[data-test="stage-${i}"] [data-test="stage-status"]`);
  for (const i of [0, 1, 2]) {
    await page.waitForFunction(
      (i) => document.querySelector(`[data-test="stage-${i}"] [data-test="stage-status"]`)?.textContent === 'succeeded',
      i,
      { timeout: CHAIN_TIMEOUT },
    );
  }
  assert.equal(await page.locator('[data-test="run-status"]').innerText(), 'succeeded');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was never reloaded');
  assert.equal(await stageStatus(2).innerText(), 'succeeded');

  // A second click while nothing runs is fine; a click while running is refused — checked in
  // the Rust tests. History: the run, with its snapshot range.
  await page.goto(lakeline.server.url + '/history', { waitUntil: 'networkidle' });
  const row = page.locator('[data-test="history-row"]').first();
  await row.waitFor();
  const range = await row.locator('[data-test="snapshot-range"]').innerText();
  const snapshot = /→ (\d+)/.exec(range)?.[1];
  assert.ok(snapshot, `a snapshot range is shown: ${range}`);

  // Run detail: the tags match what the retrain logged, and the lineage reaches a deployment.
  await row.locator('a').first().click();
  await page.locator('[data-test="lineage"]').waitFor();
  const tags = await page.locator('[data-test="tags"]').innerText();
  assert.match(tags, new RegExp(`iceberg_snapshot_id\\s+${snapshot}`));
  assert.match(tags, /iceberg_parent_id/);
  assert.match(tags, /iceberg_snapshot_committed_at\s+\d{4}-\d\d-\d\dT/);
  assert.match(tags, /row_count\s+1440/);
  assert.match(await page.locator('[data-test="lineage-snapshot"]').innerText(), /1440 rows added/);
  assert.match(await page.locator('[data-test="lineage-model-version"]').innerText(), /version 1/);
  assert.match(await page.locator('[data-test="lineage-build"]').innerText(), /built/);
  assert.equal(await page.locator('[data-test="lineage-deployment-status"]').innerText(), 'deployed');

  // A note on the run: shown on the run page at once, marked in History, found by its text.
  await page.fill('#note-text', 'Examined: batch looks healthy');
  await page.click('[data-test="add-note-submit"]');
  const note = page.locator('[data-test="note"]');
  await note.waitFor();
  assert.match(await note.innerText(), /ada[\s\S]*Examined: batch looks healthy/);
  await page.goto(`${lakeline.server.url}/history?note=healthy`, { waitUntil: 'networkidle' });
  assert.equal(await page.locator('[data-test="history-row"]').count(), 1);
  assert.match(await page.locator('[data-test="note-marker"]').innerText(), /1/);
  await page.goto(`${lakeline.server.url}/history?note=nothing-like-this`, { waitUntil: 'networkidle' });
  assert.equal(await page.locator('[data-test="history-row"]').count(), 0);

  // Filtering history by snapshot id finds exactly this run.
  await page.goto(`${lakeline.server.url}/history?snapshot=${snapshot}`, { waitUntil: 'networkidle' });
  assert.equal(await page.locator('[data-test="history-row"]').count(), 1);

  // A test prediction against the latest deployment.
  await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
  await page.locator('[data-test="deployment-status"]').waitFor();
  assert.equal(await page.locator('[data-test="deployment-status"]').innerText(), 'deployed');
  await page.click('[data-test="predict"]');
  const answer = page.locator('[data-test="prediction-answer"]');
  await answer.waitFor({ timeout: 30_000 });
  assert.match(await answer.innerText(), /"predictions":\s*\[\s*[01]\s*\]/);

  // A second run deploys model version 2; rolling back puts version 1 (run 1) live again.
  await page.click('[data-test="run-pipeline"]');
  await page.click('[data-test="confirm-run-yes"]');
  await page.waitForFunction(() => document.querySelector('[data-test="live-run"]')?.textContent === 'pipeline run 2', null, { timeout: CHAIN_TIMEOUT });
  await page.goto(lakeline.server.url + '/runs/1', { waitUntil: 'networkidle' });
  await page.waitForFunction(() => document.querySelector('[data-test="lineage-deployment-status"]')?.textContent === 'stopped', null, { timeout: 30_000 });
  await page.click('[data-test="redeploy"]');
  const confirm = page.locator('[data-test="redeploy-confirm"]');
  await confirm.getByText('Live now: model version 2 from pipeline run 2').waitFor();
  assert.match(await confirm.innerText(), /Deploy model version 1 from pipeline run 1\?/);
  await page.click('[data-test="redeploy-yes"]');
  await page.waitForFunction(() => document.querySelector('[data-test="lineage-deployment-status"]')?.textContent === 'deployed', null, { timeout: 120_000 });
  await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
  await page.waitForFunction(() => document.querySelector('[data-test="live-run"]')?.textContent === 'pipeline run 1', null, { timeout: 30_000 });
  assert.equal(await page.locator('[data-test="deployment-status"]').innerText(), 'deployed');
  await page.click('[data-test="predict"]');
  await page.locator('[data-test="prediction-answer"]').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('[data-test="prediction-answer"]').innerText(), /"predictions":\s*\[\s*[01]\s*\]/);
  // History: run 2's deployment replaced, run 1's live (the workspace stops the old replica a
  // moment after the new one is up; the page follows live).
  await page.goto(lakeline.server.url + '/history', { waitUntil: 'networkidle' });
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-test="history-deployment"]')].map((e) => e.textContent).join(',') === 'stopped,deployed',
    null,
    { timeout: 60_000 },
  );

  assert.deepEqual(errors, [], 'no errors in the page');
});
