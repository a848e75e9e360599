// How long a cold browser (empty cache, signed in) takes from opening the Pipeline page until
// Run pipeline answers a click (the page has loaded and hydrated): five cold loads, each timed
// from the navigation's start until the click opens the confirmation. Uses the optimised build
// when there is one (BENCH_BIN names another). Prints numbers; asserts nothing.
// Usage: node bench/time_to_click.mjs (after scripts/browser-deps.sh), or `make bench`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { chromium } = createRequire(join(root, 'tests/browser/package.json'))('playwright-core');
const binary = process.env.BENCH_BIN ?? [join(root, 'target/release/lakeline'), join(root, 'target/debug/lakeline')].find(existsSync);
const PASSWORD = 'a password for the benchmark';
const LOADS = 5;

const dataDir = mkdtempSync(join(tmpdir(), 'lakeline-bench-click-'));
spawnSync(binary, ['--data-dir', dataDir, 'user', 'add', 'otto', '--role', 'operator', '--password-stdin'], { input: PASSWORD + '\n' });
const server = spawn(binary, ['--listen', '127.0.0.1:0', '--data-dir', dataDir], {
  env: { ...process.env, LEPTOS_SITE_ROOT: join(root, 'target/site'), RUST_LOG: 'warn,lakeline=info' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise((resolveUrl, reject) => {
  let log = '';
  server.stderr.on('data', (chunk) => {
    log += chunk;
    const match = /Lakeline is listening addr=(\S+)/.exec(log);
    if (match) resolveUrl(`http://${match[1]}`);
  });
  server.on('exit', (code) => reject(new Error(`Lakeline exited with ${code}:\n${log}`)));
});
const signedIn = await fetch(url + '/api/sign_in', {
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ name: 'otto', password: PASSWORD }),
});
const session = /lakeline_session=([^;]+)/.exec(signedIn.headers.get('set-cookie'))[1];

const times = [];
try {
  for (let i = 0; i < LOADS; i++) {
    const profile = mkdtempSync(join(tmpdir(), 'lakeline-bench-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    await context.addCookies([{ name: 'lakeline_session', value: session, url }]);
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(url + '/', { waitUntil: 'commit' });
    const button = page.locator('[data-test="run-pipeline"]');
    const confirm = page.locator('[data-test="confirm-run"]');
    for (;;) {
      await button.click({ timeout: 30_000 });
      if (await confirm.isVisible()) break;
      await page.waitForTimeout(20);
    }
    times.push(Date.now() - started);
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
} finally {
  server.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
times.sort((a, b) => a - b);
console.log(`time until a cold browser can click Run pipeline (${binary.replace(root + '/', '')}): median ${times[Math.floor(LOADS / 2)]} ms, each ${times.join(', ')} ms`);
