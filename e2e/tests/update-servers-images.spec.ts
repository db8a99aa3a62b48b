// The catalog's pages and the forms in a real browser, on the demo fleet (its update server runs
// as its own process; this runs after fleet.spec, which sets the demo admin's password): the Update servers edit form validates with the procedure's schema and
// says at the field what is wrong, in words, until it is right; the token stays sealed; the Images
// page shows each version's own os-release version; and at 1280×800 nothing on these pages is
// wider than the screen, with long names everywhere.
import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { alertOf, replacePassword, signIn } from '../helpers';
import { fleetUrl, stateFile, type SystemState } from '../system';

const { fleet } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;
const FLEET_PASSWORD = 'fleet admin password';
const LONG_NAME = `update server of the north-east plant, building seven, ${'x'.repeat(45)}`;
const LONG_OPERATOR = {
  name: `Maximiliane Alexandra ${'Wolkenstein-'.repeat(5)}Trostberg`,
  email: `maximiliane.alexandra.wolkenstein.trostberg.${'q'.repeat(30)}@very-long-subdomain.operations.example.org`,
};

test.use({ viewport: { width: 1280, height: 800 } });

/** The demo's admin: the one-time password on a fresh run, the one fleet.spec chose otherwise. */
async function signInFleetAdmin(page: Page) {
  await signIn(page, fleet.adminEmail, fleet.adminOneTimePassword, fleetUrl);
  const wrong = alertOf(page).filter({ hasText: 'Wrong email or password.' });
  await expect(
    page.getByRole('heading', { name: /Choose a new password|Overview/ }).or(wrong),
  ).toBeVisible();
  if (page.url().includes('/change-password')) {
    await replacePassword(page, fleet.adminOneTimePassword, FLEET_PASSWORD);
  } else if (await wrong.isVisible()) {
    await signIn(page, fleet.adminEmail, FLEET_PASSWORD, fleetUrl);
  }
  await expect(page).toHaveURL(`${fleetUrl}/`);
}

/** What sticks out past the right edge of the screen without a scrolling box around it. */
async function overflowing(page: Page) {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const found: string[] = [];
    if (document.documentElement.scrollWidth > width)
      found.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
    for (const element of Array.from(document.body.querySelectorAll('*'))) {
      const rect = element.getBoundingClientRect();
      if (rect.width === 0 || rect.right <= width + 0.5) continue;
      // inside a box that scrolls or clips sideways and itself fits: contained, not overflowing
      let contained = false;
      for (let parent = element.parentElement; parent; parent = parent.parentElement) {
        const overflowX = getComputedStyle(parent).overflowX;
        if (overflowX !== 'visible' && parent.getBoundingClientRect().right <= width + 0.5) {
          contained = true;
          break;
        }
      }
      if (!contained)
        found.push(
          `${element.tagName.toLowerCase()}.${String(element.className).slice(0, 60)} right=${Math.round(rect.right)}: ${(element.textContent ?? '').slice(0, 60)}`,
        );
    }
    return found.slice(0, 10);
  });
}

test.describe.serial('the catalog pages and their forms', () => {
  test('the demo update server, registered, with 1.0.0 and 2.0.0 named by their own os-release version', async ({
    page,
  }) => {
    await signInFleetAdmin(page);
    await page.goto(`${fleetUrl}/update-servers`);
    const demo = page.getByTestId('update-server-demo');
    await expect(demo).toContainText('reachable');
    await expect(demo).toContainText('set (sealed)');
    await expect(demo).toContainText('EOS.x86_64-AB');
    await page.goto(`${fleetUrl}/images`);
    for (const version of ['1.0.0', '2.0.0']) {
      const row = page.getByTestId(`image-version-${version}`).first();
      await expect(row.getByTestId('os-version')).toHaveText(version);
      await expect(row).toContainText('offered');
    }
    // a hash is shown short, whole in the copy button's name
    const hash = page
      .getByTestId('image-version-2.0.0')
      .first()
      .getByRole('button', {
        name: new RegExp(`^root prefix hash ${fleet.update.to}$`),
      });
    await expect(hash).toHaveText(`${fleet.update.to.slice(0, 12)}…`);
  });

  test('the edit form says at the field what is wrong, in words, until it is right; the token stays sealed', async ({
    page,
  }) => {
    await signInFleetAdmin(page);
    await page.goto(`${fleetUrl}/update-servers`);
    const demo = page.getByTestId('update-server-demo');
    await demo.getByRole('button', { name: 'Edit demo' }).click();
    const form = page.getByRole('form', { name: 'Edit update server' });
    await expect(form.getByLabel('New catalog token')).toHaveValue('');
    await expect(form).toContainText(
      'A token is stored (sealed, never shown). Leave empty to keep it.',
    );

    // too long is said while typing, and refused: the value is not cut
    const name = form.getByLabel('Name');
    await name.fill('n'.repeat(101));
    await expect(form.getByText('At most 100 characters (this has 101)')).toBeVisible();
    await expect(name).toHaveValue('n'.repeat(101));
    await name.fill('demo');
    await expect(form.getByText(/At most 100 characters/)).toHaveCount(0);

    const port = form.getByLabel('SSH port');
    const originalPort = await port.inputValue();
    await port.fill('22a');
    const cap = form.getByLabel('Concurrent applies at most');
    await cap.fill('2.5');
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(form.getByText('Must be a whole number (digits only)')).toBeVisible();
    await expect(form.getByText('Must be a whole number', { exact: true })).toBeVisible();
    await expect(port).toHaveAttribute('aria-invalid', 'true');
    // the messages are at their fields, not in an alert at the top
    await expect(alertOf(page)).toHaveCount(0);
    // after the first submit, each message goes as soon as its field is right
    await port.fill(originalPort);
    await expect(form.getByText('Must be a whole number (digits only)')).toHaveCount(0);
    await expect(form.getByText('Must be a whole number', { exact: true })).toBeVisible();
    await cap.fill('9');
    await expect(form.getByText(/Must be a whole number/)).toHaveCount(0);
    await form.getByRole('button', { name: 'Save changes' }).click();
    await expect(form).toBeHidden();
    await expect(demo).toContainText('at most 9 at once');
    await expect(demo).toContainText('set (sealed)');
    // the catalog still answers: the sealed token was kept
    await demo.getByRole('button', { name: 'Poll now' }).click();
    await expect(demo.getByRole('button', { name: 'Poll now' })).toBeEnabled();
    await expect(demo).toContainText('reachable');
    await expect(demo.getByTestId('server-error')).toHaveCount(0);

    await page.goto(`${fleetUrl}/audit?action=update_server.updated`);
    await expect(page.getByTestId('audit-entry').first()).toContainText('update_server.updated');
  });

  test('the add form: required fields at the fields, a taken name at the name, a long name fits', async ({
    page,
  }) => {
    await signInFleetAdmin(page);
    await page.goto(`${fleetUrl}/update-servers`);
    const form = page.getByRole('form', { name: 'Add update server' });
    await form.getByRole('button', { name: 'Add update server' }).click();
    await expect(form.getByTestId('field-error').filter({ hasText: 'Required' })).toHaveCount(4);
    await form.getByLabel('Name').fill('demo');
    await form.getByLabel('SSH target devices use (user@host)').fill('updates.example');
    await expect(
      form.getByText('Must be user@host, the account devices sign in as and the host'),
    ).toBeVisible();
    await form.getByLabel('SSH target devices use (user@host)').fill('ec2-user@updates.example');
    await form.getByLabel('HTTP / catalog URL').fill('http://127.0.0.1:9');
    await form.getByLabel('Catalog token').fill('a-catalog-token-for-e2e');
    await form.getByRole('button', { name: 'Add update server' }).click();
    // the server's CONFLICT names the field
    await expect(form.getByText('An update server named "demo" exists already.')).toBeVisible();
    await form.getByLabel('Name').fill(LONG_NAME);
    await form.getByRole('button', { name: 'Add update server' }).click();
    const card = page.getByTestId(`update-server-${LONG_NAME}`);
    await expect(card).toBeVisible();
    await card.getByRole('button', { name: 'Poll now' }).click();
    await expect(card).toContainText('unreachable');
    await expect(card.getByTestId('server-error')).toContainText('cannot reach');
  });

  test('nothing is wider than the screen at 1280×800, with long names', async ({ page }) => {
    await signInFleetAdmin(page);
    await page.goto(`${fleetUrl}/settings`);
    const form = page.getByRole('form', { name: 'Add operator' });
    await form.getByLabel('Name').fill(LONG_OPERATOR.name);
    await form.getByLabel('Email').fill(LONG_OPERATOR.email);
    await form.getByRole('button', { name: 'Add operator' }).click();
    await expect(page.getByTestId(`operator-${LONG_OPERATOR.email}`)).toBeVisible();

    // the check itself sees a box wider than the screen
    await page.evaluate(() => {
      const wide = document.createElement('div');
      wide.id = 'too-wide';
      wide.style.width = '1500px';
      wide.textContent = 'too wide';
      document.querySelector('main')?.append(wide);
    });
    expect((await overflowing(page)).join('\n')).toContain('too wide');
    await page.evaluate(() => document.getElementById('too-wide')?.remove());

    for (const screen of ['/update-servers', '/images', '/settings', '/audit']) {
      await page.goto(`${fleetUrl}${screen}`);
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await page.waitForLoadState('networkidle');
      if (screen === '/audit') {
        // the raw data of an entry about the long-named server, opened
        const entry = page
          .getByTestId('audit-entry')
          .filter({ hasText: 'update_server.created' })
          .first();
        await entry.getByText('Raw data').click();
        await expect(entry.locator('pre')).toBeVisible();
      }
      expect(await overflowing(page), `on ${screen}`).toEqual([]);
      await page.screenshot({
        path: test.info().outputPath(`${screen.slice(1)}-1280.png`),
        fullPage: true,
      });
    }
    // the sidebar shows the role whatever the email's length
    const role = page.getByTestId('current-operator').getByText('(admin)');
    await expect(role).toBeVisible();
    const aside = await page.locator('aside').boundingBox();
    const roleBox = await role.boundingBox();
    expect(roleBox && aside && roleBox.x + roleBox.width <= aside.x + aside.width).toBe(true);
  });

  test('a confirmation says what it does: Escape keeps things as they were, confirming does it', async ({
    page,
  }) => {
    await signInFleetAdmin(page);
    await page.goto(`${fleetUrl}/settings`);
    const row = page.getByTestId(`operator-${LONG_OPERATOR.email}`);
    await row.getByRole('button', { name: 'Disable' }).click();
    const dialog = page.getByRole('alertdialog');
    await expect(dialog).toContainText('Their sessions end now');
    await page.keyboard.press('Escape');
    await expect(dialog).toBeHidden();
    // focus returns to what opened it, and nothing changed
    await expect(row.getByRole('button', { name: 'Disable' })).toBeFocused();
    await expect(row).not.toContainText('disabled');
    await row.getByRole('button', { name: 'Disable' }).click();
    await dialog.getByRole('button', { name: 'Disable operator' }).click();
    await expect(dialog).toBeHidden();
    await expect(row).toContainText('disabled');

    // blocking a version asks first too; unblocking does not
    await page.goto(`${fleetUrl}/images`);
    const version = page.getByTestId('image-version-1.0.0').first();
    await version.getByRole('button', { name: 'Block' }).click();
    await expect(dialog).toContainText('no longer be offered for applies or rollouts');
    await dialog.getByRole('button', { name: 'Block version' }).click();
    await expect(version).toContainText('blocked');
    await version.getByRole('button', { name: 'Unblock' }).click();
    await expect(version).not.toContainText('blocked');
  });
});
