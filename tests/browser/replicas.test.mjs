// Two Lakeline replicas on one PostgreSQL database (as behind a load balancer), driving one
// workspace: a browser page on each follows a chain started from the other replica's page, live.
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDatabase, launchBrowser, noteSecrets, setUpJobs, signIn, startLakeline, USERS } from './lakeline.mjs';

const CHAIN_TIMEOUT = 300_000; // a cold venv build happens inside the first run

async function stageBecomes(page, i, word) {
  await page.waitForFunction(
    ([i, word]) => document.querySelector(`[data-test="stage-${i}"] [data-test="stage-status"]`)?.textContent === word,
    [i, word],
    { timeout: CHAIN_TIMEOUT },
  );
}

test('a browser on each of two replicas sees the stages change', {
  skip: !process.env.LAKELINE_TEST_POSTGRES && 'replicas share a PostgreSQL database; `make test-browser` starts one',
  timeout: 900_000,
}, async () => {
  const database = createDatabase(`lakeline_browser_replicas_${process.pid}`);
  // Replica a runs the embedded workspace; replica b drives that same workspace by URL and key.
  const a = await startLakeline({ LAKELINE_DATABASE_URL: database });
  const [, workspace, project] = /local workspace is listening addr=(\S+) project=(\S+)/.exec(a.log());
  const key = readFileSync(join(a.dataDir, 'workspace/api-key'), 'utf8').trim();
  noteSecrets(key);
  const b = await startLakeline({
    LAKELINE_DATABASE_URL: database,
    LAKELINE_CML_URL: `http://${workspace}/api/v1`,
    LAKELINE_CML_API_KEY: key,
    LAKELINE_CML_PROJECT_ID: project,
  }, {}, { users: false });
  const browser = await launchBrowser();
  try {
    const pages = [];
    for (const server of [a, b]) {
      const page = await browser.context.newPage();
      await signIn(page, server.url, USERS.admin);
      pages.push(page);
    }
    await setUpJobs(pages[1], b.url);
    for (const [page, server] of [[pages[0], a], [pages[1], b]]) {
      await page.goto(server.url + '/', { waitUntil: 'networkidle' });
      await page.evaluate(() => { window.__sameDocument = true; });
    }
    // Started from b's page; both pages follow every stage without a reload.
    await pages[1].click('[data-test="run-pipeline"]');
    await pages[1].locator('[data-test="confirm-run"]').waitFor();
    await pages[1].click('[data-test="confirm-run-yes"]');
    for (const page of pages) {
      for (const i of [0, 1, 2]) await stageBecomes(page, i, 'succeeded');
      await page.waitForFunction(() => window.__sameDocument === true, null, { timeout: 1_000 });
    }
  } finally {
    await browser.close();
    await b.stop();
    await a.stop();
  }
});
