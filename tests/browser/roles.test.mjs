// Each role signs in and sees only what it may do; signing out ends the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, noteSecrets, PASSWORD, signIn, startLakeline, USERS } from './lakeline.mjs';

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
      assert.equal(await page.getByRole('link', { name: 'Users' }).count() > 0, expected[role].settings, `${role}: Users`);
      assert.equal(await page.getByRole('link', { name: 'Tokens' }).count(), 1, `${role}: everyone manages their own tokens`);
      if (role === 'viewer') {
        // Typed in by hand, the admin's page still says no.
        await page.goto(server.url + '/settings', { waitUntil: 'networkidle' });
        await page.getByText('ask an admin').first().waitFor();
      }
      if (role === 'operator') {
        // A token for a script: shown once, listed without its secret, revoked.
        await page.goto(server.url + '/tokens', { waitUntil: 'networkidle' });
        await page.fill('#token-name', 'nightly CI');
        await page.selectOption('#token-role', 'operator');
        await page.click('[data-test="create-token"]');
        const secret = (await page.locator('[data-test="new-token-secret"] code').innerText()).trim();
        noteSecrets(secret);
        assert.match(secret, /^llt_[0-9a-f]{64}$/);
        const me = await fetch(server.url + '/api/v1/me', { headers: { authorization: `Bearer ${secret}` } });
        assert.deepEqual(await me.json(), { name: name, role: 'operator' });
        await page.reload({ waitUntil: 'networkidle' });
        const row = page.locator('[data-test="token-row"]', { hasText: 'nightly CI' });
        await row.waitFor();
        assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
        await row.locator('[data-test="revoke-token"]').click();
        await row.getByText('revoked').waitFor();
        const revoked = await fetch(server.url + '/api/v1/me', { headers: { authorization: `Bearer ${secret}` } });
        assert.equal(revoked.status, 401);
        // Asking for more than its role may: refused, naming the field.
        await page.fill('#token-name', 'too much');
        await page.selectOption('#token-role', 'admin');
        await page.click('[data-test="create-token"]');
        assert.match(await page.locator('[data-test="token-error"]').innerText(), /^role:/);
      }
      if (role === 'admin') {
        // Users: the admin disables the viewer, whose next sign-in fails.
        await page.goto(server.url + '/users', { waitUntil: 'networkidle' });
        const vera = page.locator('[data-test="user-row"]', { hasText: USERS.viewer });
        await vera.locator('[data-test="toggle-user"]').click();
        await vera.getByText('disabled').waitFor();
        await page.goto(server.url + '/audit', { waitUntil: 'networkidle' });
        const rows = page.locator('[data-test="audit-row"]');
        await rows.first().waitFor();
        const audit = await page.locator('[data-test="audit"]').innerText();
        assert.match(audit, /user\.sign_in/);
        assert.match(audit, /token\.revoke/);
        assert.match(audit, /user\.update/);
      }
      await page.goto(server.url + '/', { waitUntil: 'networkidle' });
      await Promise.all([page.waitForURL((u) => u.pathname === '/sign-in'), page.click('[data-test="sign-out"]')]);
    }
    // Signed out: back to the sign-in page.
    await page.goto(server.url + '/', { waitUntil: 'networkidle' });
    assert.equal(new URL(page.url()).pathname, '/sign-in');
    // The viewer the admin disabled cannot sign in any more.
    await page.fill('#name', USERS.viewer);
    await page.fill('#password', PASSWORD);
    await page.click('[data-test="sign-in-submit"]');
    assert.match(await page.locator('[data-test="sign-in-error"]').innerText(), /wrong name or password/);
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
