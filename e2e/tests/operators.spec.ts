// The operator's first hour, in a real browser against the real system: sign in with the printed
// one-time password, replace it, see the empty fleet, add a viewer, and the viewer's limits.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { alertOf, replacePassword, signIn, signOut } from '../helpers';
import { stateFile, type SystemState } from '../system';

const state = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState).dashboard;
const ADMIN_PASSWORD = 'admin password for e2e';
const VIEWER = {
  name: 'Vera Viewer',
  email: 'vera@e2e.local',
  password: 'viewer password for e2e',
};

test.describe.serial('operators', () => {
  test('a wrong password shows an error and opens nothing', async ({ page }) => {
    await signIn(page, state.adminEmail, 'certainly not it');
    await expect(alertOf(page)).toHaveText('Wrong email or password.');
    await expect(page).toHaveURL(/\/sign-in/);
    await page.goto('/');
    await expect(page).toHaveURL(/\/sign-in\?next=%2F$/);
  });

  test('the first admin signs in with the printed password, must replace it, sees the empty fleet, signs out', async ({
    page,
  }) => {
    await signIn(page, state.adminEmail, state.adminOneTimePassword);
    await replacePassword(page, state.adminOneTimePassword, ADMIN_PASSWORD);
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
    await expect(page.getByTestId('stat-devices')).toHaveText('0');
    await expect(page.getByTestId('empty-state')).toContainText('Your fleet is empty');
    await expect(page.getByTestId('current-operator')).toContainText(`${state.adminEmail}(admin)`);
    for (const section of [
      'Devices',
      'Rollouts',
      'Images',
      'Update servers',
      'Audit log',
      'Settings',
    ]) {
      await expect(
        page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: section }),
      ).toBeVisible();
    }
    await signOut(page);
    await page.goto('/settings');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fsettings$/);
    // the one-time password is spent
    await signIn(page, state.adminEmail, state.adminOneTimePassword);
    await expect(alertOf(page)).toHaveText('Wrong email or password.');
  });

  test('an admin adds a viewer; the audit log records both changes', async ({ page }) => {
    await signIn(page, state.adminEmail, ADMIN_PASSWORD);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Settings' })
      .click();
    const form = page.getByRole('form', { name: 'Add operator' });
    await form.getByLabel('Name').fill(VIEWER.name);
    await form.getByLabel('Email').fill('not-an-email');
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Add operator' }).click();
    // at the field, in words; nothing at the top
    await expect(form.getByText('Must be an email address')).toBeVisible();
    await expect(form.getByLabel('Email')).toHaveAttribute('aria-invalid', 'true');
    await expect(alertOf(page)).toHaveCount(0);
    await form.getByLabel('Email').fill(VIEWER.email);
    await form.getByRole('button', { name: 'Add operator' }).click();
    const oneTime = (await page.getByTestId('one-time-password').textContent()) ?? '';
    expect(oneTime).toMatch(/^[A-Za-z0-9]{20}$/);
    await expect(page.getByTestId(`operator-${VIEWER.email}`)).toContainText(VIEWER.name);
    fs.writeFileSync(`${stateFile}.viewer`, oneTime);

    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Audit log' })
      .click();
    const audit = page.getByTestId('audit-list');
    await expect(audit).toContainText('operator.created');
    await expect(audit).toContainText('operator.password_changed');
    await signOut(page);
  });

  test("a viewer sees no management controls, and the server refuses the viewer's mutation", async ({
    page,
  }) => {
    const oneTime = fs.readFileSync(`${stateFile}.viewer`, 'utf8');
    await signIn(page, VIEWER.email, oneTime);
    await replacePassword(page, oneTime, VIEWER.password);
    await expect(page.getByTestId('current-operator')).toContainText('(viewer)');
    await page.goto('/settings');
    await expect(page.getByTestId(`operator-${state.adminEmail}`)).toBeVisible();
    await expect(page.getByRole('form', { name: 'Add operator' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Disable' })).toHaveCount(0);

    // the same call the admin's form makes, from the viewer's signed-in page
    const answer = await page.evaluate(async () => {
      const response = await fetch('/api/trpc/operators.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          json: { email: 'sneaky@e2e.local', name: 'Sneaky', role: 'admin' },
        }),
      });
      return { status: response.status, body: await response.text() };
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toContain('FORBIDDEN');
    await page.reload();
    await expect(page.getByTestId(`operator-${VIEWER.email}`)).toBeVisible();
    await expect(page.getByText('sneaky@e2e.local')).toHaveCount(0);
  });
});
