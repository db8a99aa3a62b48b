// Every screen, in real Chromium at 1280 px, with a screenshot of each in the report: on the demo
// fleet (its update server filled the catalog; after the fleet specs, its devices run 2.0.0) and on
// the scale demo's 10,000 simulated devices. A screen that errors, keeps loading or overflows fails.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { SCREENS, signInFleetAdmin, signInScaleAdmin, visitScreen } from '../helpers';
import { SCALE_DEVICES, scaleUrl, stateFile, type SystemState } from '../system';

const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('every screen of the demo fleet, with the catalog its update server filled', async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  const attach = testInfo.attach.bind(testInfo);
  await signInFleetAdmin(page, state.fleet);
  for (const screen of SCREENS) await visitScreen(page, screen, attach, `demo fleet: ${screen}`);

  await visitScreen(page, 'Images', attach, 'demo fleet: Images');
  await expect(page.getByText(`${state.fleet.update.imageName}`).first()).toBeVisible();
  await expect(page.getByText('2.0.0').first()).toBeVisible();

  // one device's own page
  await visitScreen(page, 'Devices', attach, 'demo fleet: Devices');
  await page.locator('[data-testid^="device-row-"]').first().getByRole('link').first().click();
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await expect(page.getByText(/^Loading .*…$/)).toHaveCount(0, { timeout: 30_000 });
  await testInfo.attach('demo fleet: a device', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
});

test('every screen over 10,000 simulated devices: the table pages, filters and sorts on the server', async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  const attach = testInfo.attach.bind(testInfo);
  const { scale } = state;
  // zz-rollouts.spec may have replaced the one-time password already
  await signInScaleAdmin(page, scale);
  for (const screen of SCREENS)
    await visitScreen(page, screen, attach, `10,000 devices: ${screen}`);

  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Overview' })
    .click();
  await expect(page.getByTestId('stat-devices')).toHaveText(/^10,?000$/);

  await page.goto(`${scaleUrl}/devices`);
  const rows = page.locator('[data-testid^="device-row-"]');
  const total = page.getByTestId('devices-total');
  await expect(total).toContainText(/^10,?000 devices/);
  const pageSize = await rows.count();
  expect(pageSize).toBeGreaterThan(0);
  expect(pageSize).toBeLessThanOrEqual(200);

  // a filter, a sort and a deep page: all in the URL, answered by the server
  await page.goto(
    `${scaleUrl}/devices?label=${encodeURIComponent('site=berlin')}&sort=lastSeen&dir=desc&page=3`,
  );
  await expect(rows.first()).toBeVisible();
  for (const row of (await rows.all()).slice(0, 5)) await expect(row).toContainText('site=berlin');
  const matching = Number(/^([\d,]+) device/.exec(await total.innerText())?.[1]?.replace(/,/g, ''));
  expect(matching).toBeGreaterThan(0);
  expect(matching).toBeLessThan(SCALE_DEVICES);
  await testInfo.attach('10,000 devices: filtered, sorted, page 3', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  // the bulk confirmation over "everything matching" says how many devices it touches
  await rows.first().getByRole('checkbox').check();
  await page.getByRole('button', { name: /^Select everything matching this filter/ }).click();
  const bar = page.getByTestId('bulk-bar');
  await bar.getByLabel('Label key').fill('wave');
  await bar.getByLabel('Label value').fill('two');
  await bar.getByRole('button', { name: 'Set label' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog.getByTestId('bulk-summary')).toContainText('Set the label wave=two on');
  await testInfo.attach('10,000 devices: bulk label over everything matching', {
    body: await page.screenshot(),
    contentType: 'image/png',
  });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
});
