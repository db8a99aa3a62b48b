// The Devices table on the demo fleet, in the browser: the view lives in the URL (a shared link
// lands filtered), a selected row gets a label through the bulk bar and its confirmation dialog,
// and a label is removed in place on the row.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { signInFleetAdmin } from '../helpers';
import { fleetUrl, stateFile, type SystemState } from '../system';

const { fleet } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;
test('the devices table: filters in the URL, a bulk label with its confirmation, a label removed in place', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInFleetAdmin(page, fleet);

  await page.goto(`${fleetUrl}/devices`);
  const rows = page.locator('[data-testid^="device-row-"]');
  await expect(rows.first()).toBeVisible({ timeout: 30_000 });
  const total = await rows.count();
  await expect(page.getByTestId('devices-total')).toContainText(`${total} device`);
  await expect(rows.first()).toContainText(fleet.update.imageName);

  // a filter goes into the URL; a shared URL lands filtered
  await page.getByLabel('Last seen').selectOption('older');
  await expect(page).toHaveURL(/lastSeen=older/);
  await expect(page.getByText('No device matches this filter.')).toBeVisible();
  await page.goto(`${fleetUrl}/devices?lastSeen=1h&sort=name&dir=desc`);
  await expect(page.getByLabel('Last seen')).toHaveValue('1h');
  await expect(rows.first()).toBeVisible();
  await expect(page.getByRole('button', { name: /^Name ▼/ })).toBeVisible();
  await page.goto(`${fleetUrl}/devices?online=maybe`);
  await expect(page.getByText(/Ignored in the address: online=maybe/)).toBeVisible();

  // select the first row, set a label through the bulk bar; the dialog says what it will do
  await page.goto(`${fleetUrl}/devices`);
  const first = rows.first();
  const name = (await first.getByRole('link').innerText()).trim();
  await first.getByRole('checkbox').check();
  const bar = page.getByTestId('bulk-bar');
  await expect(bar).toContainText('1 selected');
  await bar.getByLabel('Label key').fill('wave');
  await bar.getByLabel('Label value').fill('one');
  await bar.getByRole('button', { name: 'Set label' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog.getByTestId('bulk-summary')).toHaveText(
    'Set the label wave=one on 1 device.',
  );
  await dialog.getByRole('button', { name: 'Do it on 1 device' }).click();
  await expect(dialog.getByTestId('bulk-summary')).toContainText('1 device done.');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  await page.goto(`${fleetUrl}/devices?label=wave%3Done`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(name);
  await expect(rows.first()).toContainText('wave=one');

  // removed in place on the row
  await rows.first().getByRole('button', { name: 'Remove the label wave' }).click();
  await expect(page.getByText('No device matches this filter.')).toBeVisible();

  // nothing overflows at 1280 px
  const overflows = await page.evaluate(
    'document.documentElement.scrollWidth > document.documentElement.clientWidth',
  );
  expect(overflows).toBe(false);
});
