// The Data page and Compare runs as a lead uses them: after a normal batch and a drifted one (New Batch's
// `--signal-shift 3`, typed into the Run pipeline form), it lists both snapshots newest first with
// their figures, flags the drifted batch, and links each snapshot to the run that trained on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUpJobs, withLakeline } from './lakeline.mjs';

const CHAIN_TIMEOUT = 300_000; // a cold venv build happens inside the first run
const lakeline = withLakeline();

async function runChain(page, args) {
  await page.goto(lakeline.server.url + '/', { waitUntil: 'networkidle' });
  const link = '[data-test="current-run"] h2 a';
  const before = (await page.locator(link).count()) ? await page.locator(link).getAttribute('href') : null;
  await page.click('[data-test="run-pipeline"]');
  await page.fill('#run-arguments', args);
  await page.click('[data-test="confirm-run-yes"]');
  await page.waitForFunction(
    (before) => document.querySelector('[data-test="current-run"] h2 a')?.getAttribute('href') !== before
      && ['failed', 'succeeded'].includes(document.querySelector('[data-test="current-run"] [data-test="run-status"]')?.textContent),
    before,
    { timeout: CHAIN_TIMEOUT },
  );
  const href = await page.locator(link).getAttribute('href');
  assert.equal(await page.locator('[data-test="run-status"]').innerText(), 'succeeded');
  return Number(href.split('/').pop());
}

test('the Data page lists every snapshot with its figures and the runs that trained on it', { timeout: 900_000 }, async () => {
  const page = await lakeline.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await setUpJobs(page, lakeline.server.url);
  const first = await runChain(page, '--seed 106');
  const second = await runChain(page, '--seed 307 --signal-shift 3');

  await page.goto(lakeline.server.url + '/data', { waitUntil: 'networkidle' });
  const rows = page.locator('[data-test="data-snapshot"]');
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-test="snapshot-trained-by"]')].filter((e) => e.querySelector('a')).length === 2,
    null,
    { timeout: 60_000 },
  );
  assert.equal(await rows.count(), 2);
  assert.equal(await page.locator('[data-test="data-chart"]').count(), 1);
  // Newest first: the drifted batch, flagged, trained on by its own run.
  const drifted = rows.nth(0);
  assert.match(await drifted.locator('[data-test="snapshot-rows"]').innerText(), /^\d+$/);
  assert.match(await drifted.locator('[data-test="snapshot-failure-rate"]').innerText(), /^0\.\d{3}$/);
  assert.match(await drifted.locator('[data-test="snapshot-drift"]').innerText(), /^\d+\.\d{3} \(signal_\d\) drift$/);
  assert.equal(await drifted.locator('[data-test="drift-flag"]').count(), 1);
  assert.equal(await drifted.locator('[data-test="snapshot-trained-by"] a').getAttribute('href'), `/runs/${second}`);
  // The first batch: nothing was trained on before it, so no drift figure.
  const firstRow = rows.nth(1);
  assert.match(await firstRow.locator('[data-test="snapshot-drift"]').innerText(), /nothing trained on before/);
  assert.equal(await firstRow.locator('[data-test="drift-flag"]').count(), 0);
  await firstRow.locator('[data-test="snapshot-trained-by"] a').click();
  await page.waitForURL(`**/runs/${first}`);

  // Compare the two runs from History: their differing params and metrics are marked.
  await page.goto(lakeline.server.url + '/history', { waitUntil: 'networkidle' });
  const boxes = page.locator('[data-test="compare-select"]');
  await boxes.first().waitFor();
  assert.equal(await page.locator('[data-test="compare-selected"]').count(), 0, 'nothing to compare yet');
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.click('[data-test="compare-selected"]');
  await page.waitForURL(`**/compare?runs=${second},${first}`);
  const row = (key) => page.locator(`[data-test="compare-row"][data-key="${key}"]`);
  await row('metrics.recall').waitFor();
  for (const key of ['metrics.accuracy', 'metrics.recall', 'params.accuracy', 'data.snapshot range', 'tags.iceberg_snapshot_id']) {
    assert.match(await row(key).getAttribute('class'), /differs/, `${key} differs`);
  }
  assert.doesNotMatch((await row('params.n_estimators').getAttribute('class')) ?? '', /differs/, 'the same params are not marked');
  assert.deepEqual(await row('params.n_estimators').locator('td').allInnerTexts(), ['50', '50']);
  await page.check('[data-test="only-differences"]');
  assert.equal(await row('params.n_estimators').isVisible(), false, 'only what differs');
  assert.equal(await row('metrics.recall').isVisible(), true);
  assert.deepEqual(errors, []);
});
