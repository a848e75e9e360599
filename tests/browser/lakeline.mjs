// Starts the real Lakeline binary in a fresh data directory on an ephemeral port, and a headless
// Chromium to drive it.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

const root = resolve(import.meta.dirname, '../..');

/** A copy of the repository's pipeline/ scripts, so that job logs stay out of the repository,
 * with `files` ({ name: text }) added or replaced. */
function projectDir(dataDir, files = {}) {
  const dir = join(dataDir, 'project');
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(join(root, 'pipeline'))) {
    const from = join(root, 'pipeline', name);
    if (statSync(from).isFile()) cpSync(from, join(dir, name));
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A new, empty database on the tests' PostgreSQL server (LAKELINE_TEST_POSTGRES, started by
 * `make test-browser`): its URL. */
export function createDatabase(name) {
  const made = spawnSync(join(root, 'scripts/postgres.sh'), ['createdb', name], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`the test database ${name} was not made: ${made.stderr}`);
  return made.stdout.trim();
}

/** The repository's pipeline script `name`, as text. */
export function pipelineScript(name) {
  return readFileSync(join(root, 'pipeline', name), 'utf8');
}

/** With LAKELINE_TEST_LOG_DIR set (`make test`), the servers' logs and the secrets the tests used
 * are written there, for scripts/check-test-logs.sh to check that no secret reaches a log. */
const logDir = process.env.LAKELINE_TEST_LOG_DIR;

/** Notes secrets (passwords, session cookies, tokens) for the check of the run's logs. */
export function noteSecrets(...values) {
  if (!logDir) return;
  mkdirSync(logDir, { recursive: true });
  appendFileSync(join(logDir, `browser-${process.pid}.secrets`), values.map((v) => v + '\n').join(''));
}

let servers = 0;

/** The password of the users the browser tests create. */
export const PASSWORD = 'a password for browser tests';
/** One user per role, made with `lakeline user add` before the server starts. */
export const USERS = { viewer: 'vera', operator: 'otto', admin: 'ada' };

/** Starts Lakeline with `extraEnv` added to its environment and `projectFiles` ({ name: text })
 * added to or replaced in its project's copy of the pipeline scripts; without `users` (a second
 * replica on a database that has them), it adds no users. */
export async function startLakeline(extraEnv = {}, projectFiles = {}, { users = true } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'lakeline-browser-'));
  noteSecrets(PASSWORD);
  const binary = process.env.LAKELINE_BIN ?? join(root, 'target/debug/lakeline');
  for (const [role, name] of Object.entries(users ? USERS : {})) {
    const added = spawnSync(binary, ['--data-dir', dataDir, 'user', 'add', name, '--role', role, '--password-stdin'], { input: PASSWORD + '\n', env: { ...process.env, ...extraEnv } });
    if (added.status !== 0) throw new Error(`lakeline user add ${name} failed: ${added.stderr}`);
  }
  const child = spawn(binary, ['--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: root,
    env: {
      ...process.env,
      LEPTOS_SITE_ROOT: join(root, 'target/site'),
      RUST_LOG: 'info,lakeline=debug,tower_http=debug',
      // The pipeline's Python venv is built once per machine and shared with the Rust tests.
      LAKELINE_RUNTIMES_DIR: join(root, 'target/tmp/runtimes'),
      LAKELINE_PROJECT_DIR: projectDir(dataDir, projectFiles),
      LAKELINE_OWNER_SUFFIX: 'browser',
      // Jobs inherit the environment: every New Batch makes the same reproducible batch.
      BATCH_SEED: '1440',
      ...extraEnv,
    },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`Lakeline did not start within 120 s:\n${log}`)), 120_000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /Lakeline is listening addr=(\S+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolveUrl(`http://${match[1]}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`Lakeline exited with ${code}:\n${log}`)));
  });
  child.stderr.on('data', (chunk) => { log += chunk; });
  return {
    url,
    dataDir,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r)));
      rmSync(dataDir, { recursive: true, force: true });
      if (logDir) {
        mkdirSync(logDir, { recursive: true });
        writeFileSync(join(logDir, `browser-${process.pid}-${++servers}.log`), log);
      }
    },
  };
}

export async function launchBrowser() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'lakeline-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in through the sign-in page as `name` and waits for the page it leads to. */
export async function signIn(page, url, name) {
  await page.goto(url + '/sign-in', { waitUntil: 'networkidle' });
  await page.fill('#name', name);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/sign-in'), { timeout: 15_000 }), page.click('[data-test="sign-in-submit"]')]);
  await page.locator('[data-test="session-user"]').waitFor({ timeout: 15_000 });
  const cookies = await page.context().cookies();
  noteSecrets(...cookies.filter((c) => c.name === 'lakeline_session').map((c) => c.value));
}

/** Registers hooks that start Lakeline (with `projectFiles` in its project, see startLakeline)
 * and a browser before the file's tests (signed in as the admin) and stop them after. */
export function withLakeline(projectFiles = {}) {
  const ctx = {};
  before(async () => {
    ctx.server = await startLakeline({}, projectFiles);
    ctx.browser = await launchBrowser();
    const page = await ctx.browser.context.newPage();
    await signIn(page, ctx.server.url, USERS.admin);
    await page.close();
  });
  after(async () => {
    await ctx.browser?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

/** Opens Settings, checks the jobs are missing, creates them and waits until all three match. */
export async function setUpJobs(page, url) {
  await page.goto(url + '/settings', { waitUntil: 'networkidle' });
  const states = page.locator('[data-test="job-state"]');
  await states.first().waitFor();
  const before = await states.allInnerTexts();
  await page.click('[data-test="setup-jobs"]');
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-test="job-state"]')].map((e) => e.textContent).join() === 'matches,matches,matches',
    null,
    { timeout: 30_000 },
  );
  return before;
}
