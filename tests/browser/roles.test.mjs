// Each role signs in and sees only what it may do; signing out ends the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, PASSWORD, signIn, startLakeline, USERS } from './lakeline.mjs';

test('each role sees only what it may do', async () => {
  const server = await startLakeline();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    // Anyone who is not signed in is sent to the sign-in page.
    await page.goto(server.url + '/history', { waitUntil: 'networkidle' });
    assert.equal(new URL(page.url()).pathname, '/sign-in');

    const expected = {
      viewer: { run: false, settings: false },
      operator: { run: true, settings: false },
      admin: { run: true, settings: true },
    };
    const tokens = [];
    for (const [role, name] of Object.entries(USERS)) {
      await signIn(page, server.url, name);
      const session = (await browser.context.cookies()).find((c) => c.name === 'lakeline_session');
      assert.ok(session?.httpOnly && session.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
      tokens.push(session.value);
      await page.goto(server.url + '/', { waitUntil: 'networkidle' });
      await page.locator('[data-test="session-role"]').waitFor();
      assert.equal(await page.locator('[data-test="session-role"]').innerText(), role);
      assert.equal(await page.locator('[data-test="run-pipeline"]').count() > 0, expected[role].run, `${role}: Run pipeline`);
      assert.equal(await page.getByRole('link', { name: 'Settings' }).count() > 0, expected[role].settings, `${role}: Settings`);
      assert.equal(await page.getByRole('link', { name: 'Audit' }).count() > 0, expected[role].settings, `${role}: Audit`);
      if (role === 'viewer') {
        // Typed in by hand, the admin's page still says no.
        await page.goto(server.url + '/settings', { waitUntil: 'networkidle' });
        await page.getByText('ask an admin').first().waitFor();
      }
      if (role === 'admin') {
        await page.goto(server.url + '/audit', { waitUntil: 'networkidle' });
        const rows = page.locator('[data-test="audit-row"]');
        await rows.first().waitFor();
        assert.match(await page.locator('[data-test="audit"]').innerText(), /user\.sign_in/);
      }
      await page.goto(server.url + '/', { waitUntil: 'networkidle' });
      await Promise.all([page.waitForURL((u) => u.pathname === '/sign-in'), page.click('[data-test="sign-out"]')]);
    }
    // Signed out: back to the sign-in page.
    await page.goto(server.url + '/', { waitUntil: 'networkidle' });
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    // Neither the password nor a session id ever reached the server's log.
    const log = server.log();
    assert.ok(log.includes('user.sign_in') || log.includes('Lakeline is listening'), 'the log was captured');
    assert.ok(!log.includes(PASSWORD), 'no password in the log');
    for (const token of tokens) assert.ok(!log.includes(token), 'no session id in the log');
  } finally {
    await browser.close();
    await server.stop();
  }
});
