// Retry from the failed stage, as an operator does it in the browser: a chain whose retrain fails
// (this project's retrain fails on its first attempt only, after reading its batch), a newer batch
// lands, then "Retry from Retrain XGBoost" trains on the failed run's own snapshot range and the
// chain completes; the run page shows both attempts with their logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pipelineScript, setUpJobs, withLakeline } from './lakeline.mjs';

const CHAIN_TIMEOUT = 300_000; // a cold venv build happens inside the first run

/** The lab's retrain, unchanged, except that the first attempt's training raises. */
const FAILING_ONCE = `"""Browser test: the real retrain, whose first attempt fails after reading its batch."""
import pathlib
import runpy

import xgboost

marker = pathlib.Path("retrain-failed-once")
if not marker.exists():
    marker.write_text("1")

    def refuse(*args, **kwargs):
        raise RuntimeError("the first attempt fails on purpose (browser test)")

    xgboost.XGBClassifier.fit = refuse
runpy.run_path("train_xgboost_lab.py", run_name="__main__")
`;

const lakeline = withLakeline({ 'train_xgboost.py': FAILING_ONCE, 'train_xgboost_lab.py': pipelineScript('train_xgboost.py') });

/** Starts a chain from the Pipeline page and waits until it ended; answers its id and status. */
async function runChain(page) {
  await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
  const link = '[data-test="current-run"] h2 a';
  const before = (await page.locator(link).count()) ? await page.locator(link).getAttribute('href') : null;
  await page.click('[data-test="run-pipeline"]');
  await page.click('[data-test="confirm-run-yes"]');
  await page.waitForFunction(
    (before) => document.querySelector('[data-test="current-run"] h2 a')?.getAttribute('href') !== before
      && ['failed', 'succeeded'].includes(document.querySelector('[data-test="current-run"] [data-test="run-status"]')?.textContent),
    before,
    { timeout: CHAIN_TIMEOUT },
  );
  const href = await page.locator(link).getAttribute('href');
  return { id: Number(href.split('/').pop()), status: await page.locator('[data-test="run-status"]').innerText() };
}

/** "read N rows of snapshot S (parent P)": the range a retrain's log says it read. */
function rangeRead(log) {
  const match = /read \d+ rows of snapshot (\d+) \(parent (\w+)[;)]/.exec(log);
  assert.ok(match, `the retrain's log names the range it read:\n${log}`);
  return `${match[2]} → ${match[1]}`;
}

test('a failed retrain is retried from its stage on the same snapshot range', { timeout: 900_000 }, async () => {
  const page = await lakeline.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await setUpJobs(page, lakeline.server.url);

  // The first chain fails at the retrain; the Pipeline page offers the retry.
  const first = await runChain(page);
  assert.equal(first.status, 'failed');
  assert.equal(await page.locator('[data-test="stage-1"] [data-test="stage-status"]').innerText(), 'failed');
  assert.equal(await page.locator('[data-test="retry"]').innerText(), 'Retry from Retrain XGBoost');

  // A newer batch lands: a second chain, which trains on it and succeeds.
  const second = await runChain(page);
  assert.equal(second.status, 'succeeded');

  // The failed run's page: retry it.
  await page.goto(`${lakeline.server.url}/runs/${first.id}`, { waitUntil: 'networkidle' });
  const snapshot = await page.locator('[data-test="lineage-snapshot"] p.mono').innerText();
  await page.click('[data-test="retry"]');
  await page.waitForFunction(() => document.querySelector('[data-test="run-status"]')?.textContent === 'succeeded', null, { timeout: CHAIN_TIMEOUT });
  await page.waitForFunction(() => document.querySelectorAll('[data-test="log"][data-stage="train_xgboost"]').length === 2
    && [...document.querySelectorAll('[data-test="log"][data-stage="train_xgboost"] pre')].every((p) => /read \d+ rows/.test(p.textContent)), null, { timeout: 60_000 });

  // Both attempts, in order, each its own job run; the dependents followed the second.
  const attempts = await page.locator('[data-test="attempt"]').evaluateAll((rows) => rows.map((r) => `${r.dataset.stage} ${r.dataset.attempt} ${r.querySelector('.status').textContent}`));
  assert.deepEqual(attempts, ['new_batch 1 succeeded', 'train_xgboost 1 failed', 'train_xgboost 2 succeeded', 'api_redeployment 1 succeeded']);

  // Each attempt's log; both read the failed run's own range, not the newer batch.
  const logs = await page.locator('[data-test="log"][data-stage="train_xgboost"]').evaluateAll((ds) => ds.map((d) => ({
    summary: d.querySelector('summary').textContent,
    text: d.querySelector('pre').textContent,
  })));
  assert.match(logs[0].summary, /Retrain XGBoost, attempt 1/);
  assert.match(logs[0].text, /the first attempt fails on purpose/);
  assert.match(logs[1].summary, /Retrain XGBoost, attempt 2/);
  assert.match(logs[1].text, /reading the range Lakeline gave/);
  assert.equal(rangeRead(logs[0].text), rangeRead(logs[1].text));
  assert.equal(rangeRead(logs[1].text).replace('None', '(table start)'), snapshot, 'the range the run\'s New Batch committed');
  // The lineage's detail (the experiment run's tags) is read once the run has ended.
  await page.waitForFunction(() => /iceberg_snapshot_id/.test(document.querySelector('[data-test="tags"]')?.textContent ?? ''), null, { timeout: 60_000 });
  const tags = await page.locator('[data-test="tags"]').innerText();
  assert.match(tags, new RegExp(`iceberg_snapshot_id\\s+${snapshot.split(' → ')[1]}`), 'the retry\'s model is tagged with the run\'s snapshot');
  assert.equal(await page.locator('[data-test="retry"]').count(), 0, 'nothing to retry once it succeeded');
  assert.deepEqual(errors, []);
  await page.close();
});
