// The quality gate as an operator meets it: a quiet week's batch (few failures) trains a model
// far worse on recall than the live one; the run page and History say it was gated and why, and
// "Deploy anyway" (after a confirmation) deploys it.
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
  assert.equal(await page.locator('[data-test="run-status"]').innerText(), 'succeeded');
  return Number((await page.locator(link).getAttribute('href')).split('/').pop());
}

test('a gated model is shown with its reason and deployed anyway', { timeout: 900_000 }, async () => {
  const page = await lakeline.browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await setUpJobs(page, lakeline.server.url);
  const first = await runChain(page, '--seed 106');
  const gated = await runChain(page, '--seed 206 --failure-rate 0.04');

  await page.goto(`${lakeline.server.url}/runs/${gated}`, { waitUntil: 'networkidle' });
  await page.waitForFunction(() => document.querySelector('[data-test="gate-decision"]')?.textContent === 'gated', null, { timeout: 60_000 });
  assert.match(await page.locator('[data-test="gate-reason"]').innerText(), /^gated: recall 0\.\d{3} < live \d\.\d{3} - 0\.15$/);
  assert.equal(await page.locator('[data-test="gate-figures"] tbody tr').count(), 2, 'accuracy and recall, new and live');
  assert.equal(await page.locator('[data-test="lineage-deployment-status"]').innerText(), '—', 'nothing deployed');

  await page.goto(lakeline.server.url + '/history', { waitUntil: 'networkidle' });
  await page.locator('[data-test="history-gate"]').first().waitFor();
  const gates = await page.locator('[data-test="history-gate"]').allInnerTexts();
  assert.match(gates[0], /^gated: recall /);
  assert.equal(gates[1], 'first');

  await page.goto(`${lakeline.server.url}/runs/${gated}`, { waitUntil: 'networkidle' });
  await page.click('[data-test="deploy-anyway"]');
  await page.locator('[data-test="deploy-anyway-confirm"]').waitFor();
  await page.click('[data-test="deploy-anyway-yes"]');
  await page.waitForFunction(
    () => document.querySelector('[data-test="gate-decision"]')?.textContent === 'overridden'
      && document.querySelector('[data-test="lineage-deployment-status"]')?.textContent === 'deployed',
    null,
    { timeout: CHAIN_TIMEOUT },
  );
  assert.match(await page.locator('[data-test="gate-reason"]').innerText(), /^deployed anyway: recall /);
  await page.goto(`${lakeline.server.url}/runs/${first}`, { waitUntil: 'networkidle' });
  await page.waitForFunction(() => document.querySelector('[data-test="lineage-deployment-status"]')?.textContent === 'stopped', null, { timeout: 60_000 });
  assert.deepEqual(errors, []);
});
