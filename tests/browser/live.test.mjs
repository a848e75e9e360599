// Three pages stay open through two chains: each sees every stage's state and log arrive without
// a reload, and History shows the first run's deployment as stopped once the second replaced it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setUpJobs, withLakeline } from './lakeline.mjs';

const CHAIN_TIMEOUT = 300_000; // a cold venv build happens inside the first run
const lakeline = withLakeline();

async function openPipeline(context, url) {
  const page = await context.newPage();
  await page.goto(url + '/', { waitUntil: 'networkidle' });
  await page.evaluate(() => { window.__sameDocument = true; });
  return page;
}

async function stageBecomes(page, i, word) {
  await page.waitForFunction(
    ([i, word]) => document.querySelector(`[data-test="stage-${i}"] [data-test="stage-status"]`)?.textContent === word,
    [i, word],
    { timeout: CHAIN_TIMEOUT },
  );
}

async function runChainFrom(page) {
  await page.click('[data-test="run-pipeline"]');
  await page.locator('[data-test="confirm-run"]').waitFor();
  await page.click('[data-test="confirm-run-yes"]');
}

/** Runs a chain from `page` and waits until the page shows it, a new run, succeeded; answers its link. */
async function runNewChainFrom(page) {
  const current = '[data-test="current-run"] h2 a';
  const before = await page.locator(current).getAttribute('href');
  await runChainFrom(page);
  await page.waitForFunction(
    ([current, before]) => document.querySelector(current)?.getAttribute('href') !== before
      && document.querySelector('[data-test="current-run"] [data-test="run-status"]')?.textContent === 'succeeded',
    [current, before],
    { timeout: CHAIN_TIMEOUT },
  );
  return page.locator(current).getAttribute('href');
}

test('three open pages follow a chain live; a replaced deployment shows stopped', { timeout: 900_000 }, async () => {
  const { context } = lakeline.browser;
  const url = lakeline.server.url;
  await setUpJobs(await context.newPage(), url);
  const pages = [];
  for (let i = 0; i < 3; i++) pages.push(await openPipeline(context, url));

  await runChainFrom(pages[0]);
  for (const page of pages) {
    for (const i of [0, 1, 2]) await stageBecomes(page, i, 'succeeded');
    assert.equal(await page.locator('[data-test="run-status"]').innerText(), 'succeeded');
    // Each stage's log tail arrives too, without a reload: what the job itself wrote. (A stage's
    // final log is read just after its end is seen, so it may follow the status by a moment.)
    await page.waitForFunction(() => /deploy/i.test(document.querySelectorAll('[data-test="log-tail"]')[2]?.textContent ?? ''), null, { timeout: 30_000 });
    const logs = await page.locator('[data-test="log-tail"]').allInnerTexts();
    assert.match(logs[0], /appended snapshot/);
    assert.match(logs[1], /logged MLflow run/);
    assert.match(logs[2], /deploy/i);
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was never reloaded');
  }

  // A History page stays open while a second chain replaces the first deployment.
  const history = await context.newPage();
  await history.goto(url + '/history', { waitUntil: 'networkidle' });
  await history.evaluate(() => { window.__sameDocument = true; });
  const firstRow = history.locator('[data-test="history-row"]').first();
  assert.equal(await firstRow.locator('[data-test="history-deployment"]').innerText(), 'deployed');
  // Wait for the second run itself: until it shows, pages[2] still shows the first run's stages
  // as succeeded.
  const second = await runNewChainFrom(pages[1]);
  await pages[2].waitForFunction((href) => document.querySelector('[data-test="current-run"] h2 a')?.getAttribute('href') === href, second, { timeout: CHAIN_TIMEOUT });
  for (const i of [0, 1, 2]) await stageBecomes(pages[2], i, 'succeeded');
  await history.waitForFunction(
    () => {
      const rows = [...document.querySelectorAll('[data-test="history-row"]')];
      const cells = rows.map((r) => r.querySelector('[data-test="history-deployment"]')?.textContent);
      return rows.length === 2 && cells[0] === 'deployed' && cells[1] === 'stopped';
    },
    null,
    { timeout: 60_000 },
  );
  assert.equal(await history.evaluate(() => window.__sameDocument), true, 'History was never reloaded');
  // The Pipeline page shows the live deployment: the second run's.
  await pages[2].locator('[data-test="deployment-status"]').waitFor();
  assert.equal(await pages[2].locator('[data-test="deployment-status"]').innerText(), 'deployed');
});

test('a page whose live stream connects late still shows what changed before it connected', { timeout: 600_000 }, async () => {
  const { context } = lakeline.browser;
  const url = lakeline.server.url;
  // The last test's pages go: a browser opens at most 6 connections to one HTTP/1.1 server, and
  // each open page holds one for its live stream.
  for (const open of context.pages()) await open.close();
  // History is rendered, but its live stream is held back (as on a slow network, or while a big
  // bundle loads) until a whole chain has run: no later change will tell it.
  const history = await context.newPage();
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await history.route('**/api/events', async (route) => { await held; await route.continue(); });
  await history.goto(url + '/history', { waitUntil: 'domcontentloaded' });
  await history.locator('[data-test="history-row"]').first().waitFor();
  const rowsBefore = await history.locator('[data-test="history-row"]').count();
  await history.evaluate(() => { window.__sameDocument = true; });

  const pipeline = await context.newPage();
  await pipeline.goto(url + '/', { waitUntil: 'networkidle' });
  await runNewChainFrom(pipeline);
  assert.equal(await history.locator('[data-test="history-row"]').count(), rowsBefore, 'nothing arrived while the stream was held');

  release();
  await history.waitForFunction(
    (n) => document.querySelectorAll('[data-test="history-row"]').length === n + 1
      && document.querySelector('[data-test="history-row"] [data-test="history-deployment"]')?.textContent === 'deployed',
    rowsBefore,
    { timeout: 30_000 },
  );
  assert.equal(await history.evaluate(() => window.__sameDocument), true, 'History was never reloaded');
});

test('hidden tabs give their live connection back: eight tabs on one server all follow', { timeout: 600_000 }, async () => {
  const { context } = lakeline.browser;
  const url = lakeline.server.url;
  for (const open of context.pages()) await open.close();
  // As the browser does when a tab goes to the background (or comes back).
  const setHidden = (page, hidden) => page.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  // More tabs than the six connections a browser keeps to one HTTP/1.1 server: each tab but the
  // last is put in the background once loaded.
  const tabs = [];
  for (let i = 0; i < 8; i++) {
    const tab = await context.newPage();
    await tab.goto(url + '/', { waitUntil: 'networkidle' });
    await tab.evaluate(() => { window.__sameDocument = true; });
    if (i < 7) await setHidden(tab, true);
    tabs.push(tab);
  }
  const front = tabs[7];
  const run = await runNewChainFrom(front);

  // A background tab brought back shows the run it missed, without a reload.
  await setHidden(tabs[0], false);
  await tabs[0].waitForFunction(
    (run) => document.querySelector('[data-test="current-run"] h2 a')?.getAttribute('href') === run
      && document.querySelector('[data-test="current-run"] [data-test="run-status"]')?.textContent === 'succeeded',
    run,
    { timeout: 30_000 },
  );
  assert.equal(await tabs[0].evaluate(() => window.__sameDocument), true, 'the tab was never reloaded');
});
