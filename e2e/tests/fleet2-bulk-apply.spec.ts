// A fleet move in the browser (after fleet.spec.ts): the three demo devices still on 1.0.0 get a
// label in one bulk action, then the operator filters the table by that label, picks 2.0.0 from
// the version list (never a hash), applies it to all three in one bulk action whose confirmation
// says how many devices it touches, and watches all three arrive, live, without a reload.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { signInFleetAdmin } from '../helpers';
import { fleetUrl, stateFile, type SystemState } from '../system';

const { fleet } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;

test('2.0.0 picked from the version list goes to three devices selected by label, in one bulk action', async ({
  page,
}, testInfo) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await signInFleetAdmin(page, fleet);

  // the devices still on 1.0.0 (the demo's three auto-accepted devices)
  await page.goto(`${fleetUrl}/devices`);
  const rows = page.locator('[data-testid^="device-row-"]');
  const versionFilter = page.getByTestId('device-filters').getByLabel('Version');
  await expect(versionFilter.locator('option', { hasText: '1.0.0' }).first()).toBeAttached({
    timeout: 30_000,
  });
  await versionFilter.selectOption({
    label: (await versionFilter.locator('option', { hasText: '1.0.0' }).first().innerText()).trim(),
  });
  await expect(page).toHaveURL(/versionId=/);
  await expect(rows).toHaveCount(3, { timeout: 60_000 });
  await page.getByRole('checkbox', { name: 'Select every device on this page' }).check();
  const bar = page.getByTestId('bulk-bar');
  await expect(bar).toContainText('3 selected');
  await bar.getByLabel('Label key').fill('wave');
  await bar.getByLabel('Label value').fill('canary');
  await bar.getByRole('button', { name: 'Set label' }).click();
  let dialog = page.getByRole('alertdialog');
  await expect(dialog.getByTestId('bulk-summary')).toHaveText(
    'Set the label wave=canary on 3 devices.',
  );
  await dialog.getByRole('button', { name: 'Do it on 3 devices' }).click();
  await expect(dialog.getByTestId('bulk-summary')).toContainText('3 devices done.');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // the group by label, then one bulk apply of 2.0.0 over everything matching it
  await page.goto(`${fleetUrl}/devices?label=${encodeURIComponent('wave=canary')}`);
  await expect(rows).toHaveCount(3);
  for (const row of await rows.all()) await expect(row).toContainText('1.0.0');
  await page.getByRole('checkbox', { name: 'Select every device on this page' }).check();
  const picker = bar.getByLabel('Version to apply');
  const v2 = picker.locator('option', { hasText: `${fleet.update.imageName} 2.0.0` });
  await expect(v2).toHaveCount(1);
  await picker.selectOption({ label: (await v2.innerText()).trim() });
  await bar.getByRole('button', { name: 'Apply', exact: true }).click();
  dialog = page.getByRole('alertdialog');
  await expect(dialog.getByTestId('bulk-summary')).toContainText('3 devices');
  await expect(dialog.getByTestId('bulk-summary')).toContainText('2.0.0');
  await testInfo.attach('bulk apply confirmation', {
    body: await page.screenshot(),
    contentType: 'image/png',
  });
  await dialog.getByRole('button', { name: 'Do it on 3 devices' }).click();
  await expect(dialog.getByTestId('bulk-summary')).toContainText('3 devices done.');
  await page.keyboard.press('Escape');

  // all three stream, kexec, commit and report the new root: the table follows live
  const marker = await page.evaluate(() => ((window as { e2eMark?: number }).e2eMark = 1));
  for (const row of await rows.all())
    await expect(row.getByTestId('device-version')).toContainText('2.0.0', { timeout: 240_000 });
  for (const row of await rows.all()) await expect(row).toContainText(fleet.update.to.slice(0, 12));
  expect(await page.evaluate(() => (window as { e2eMark?: number }).e2eMark)).toBe(marker);
  await testInfo.attach('three devices on 2.0.0', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
});
