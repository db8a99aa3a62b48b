// Staged rollouts in the browser. On the demo fleet (every device carries demo=yes): a rollout of
// them to the version they do not run (1.0.0 after the fleet specs moved them to 2.0.0; 2.0.0
// when this spec runs alone) is planned in the form with its preview checked, created, watched
// while its first batch (one device, automatic) succeeds on a real device with the real agent and
// EOS's os-update, held at the second batch's manual gate, then paused from the browser. On the
// scale demo (10,000 simulated devices): a draft over an image name, its rollout page paged and
// within 1280 px; and a draft over a device list handed over by the Devices table ("New
// rollout…"), shown by name, changed in the form's picker by keyboard, previewed and created.
import fs from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { pageOverflows, signInFleetAdmin, signInScaleAdmin } from '../helpers';
import { fleetUrl, scaleUrl, stateFile, type SystemState } from '../system';

const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;

async function pickVersion(page: Page, name: RegExp) {
  await page.getByRole('combobox', { name: /^Version/ }).click();
  await page.getByRole('option', { name }).first().click();
}

test.beforeEach(async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('a rollout planned in the form, watched live on real devices, then paused', async ({
  page,
}, testInfo) => {
  test.setTimeout(420_000);
  await signInFleetAdmin(page, state.fleet);
  // which version the demo devices do not run yet
  await page.goto(`${fleetUrl}/devices?label=${encodeURIComponent('demo=yes')}`);
  const deviceRows = page.locator('[data-testid^="device-row-"]');
  await expect.poll(() => deviceRows.count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(3);
  const fleetSize = await deviceRows.count();
  const onV2 = await page.getByTestId('device-version').filter({ hasText: '2.0.0' }).count();
  const { imageName } = state.fleet.update;
  const target = onV2 > 0 ? `${imageName}-1.0 1.0.0` : `${imageName} 2.0.0`;

  await page.goto(`${fleetUrl}/rollouts`);
  await expect(page.getByRole('heading', { level: 1, name: 'Rollouts' })).toBeVisible();
  await page.getByRole('link', { name: 'New rollout' }).click();
  await expect(page).toHaveURL(/\/rollouts\/new$/);

  // the form validates with the procedure's schema: an empty submit says what is missing, in words
  const form = page.getByRole('form', { name: 'New rollout' });
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await expect(form.getByTestId('field-error').filter({ hasText: /\w/ }).first()).toBeVisible();

  const name = `demo devices to ${target} ${Date.now()}`;
  await form.getByLabel('Name', { exact: true }).fill(name);
  await pickVersion(page, new RegExp(`^${target.replace(/\./g, '\\.')}`));
  await form.getByLabel('Labels', { exact: true }).fill('demo=yes');
  // batch 1: one device, automatic; batch 2: the rest, behind a manual gate (the form's default)
  await expect(form.getByLabel('Batch 1 size', { exact: true })).toHaveValue('1');
  await expect(form.getByLabel('Batch 2 gate')).toHaveValue('manual');

  const preview = page.getByTestId('rollout-preview');
  await expect(preview.getByTestId('preview-summary')).toContainText(`to ${fleetSize} devices`, {
    timeout: 30_000,
  });
  await expect(preview.getByTestId('preview-batch-1')).toHaveText(/1 device$/);
  await expect(preview.getByTestId('preview-batch-2')).toHaveText(/[1-9] devices?$/);
  await expect(preview.getByTestId('preview-window')).toContainText('open now');
  await expect(preview.getByTestId('preview-duration')).toContainText('about');
  expect(await pageOverflows(page)).toBe(false);
  await testInfo.attach('new rollout: the form with its preview', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  await form.getByRole('button', { name: 'Create rollout' }).click();
  await expect(page).toHaveURL(/\/rollouts\/[0-9a-f-]{36}$/, { timeout: 30_000 });
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('rollout-state')).toHaveText('running', { timeout: 60_000 });
  const batch1 = page.getByTestId('batch-1');
  const batch2 = page.getByTestId('batch-2');
  await expect(batch1.getByTestId('counts')).toContainText('of 1');
  const waitingInBatch2 = Number(
    /of (\d+)/.exec(await batch2.getByTestId('counts').innerText())?.[1] ?? 0,
  );
  expect(waitingInBatch2).toBeGreaterThan(0);
  // the first device leaves "waiting" (its apply is sent), live, without a reload
  await expect(batch1.getByTestId('counts')).toContainText('0 waiting', { timeout: 60_000 });
  await testInfo.attach('rollout page while running', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
  // ...streams, boots the new slot, commits it and reports 1.0.0: the batch succeeds
  await expect(batch1.getByTestId('counts')).toContainText('1 succeeded', { timeout: 300_000 });
  const devices = page.getByTestId('rollout-devices');
  await expect(
    devices.getByTestId('device-rollout-state').filter({ hasText: 'succeeded' }),
  ).toHaveCount(1);
  // the next batch waits at its gate; its two devices still wait
  await expect(batch2.getByTestId('batch-state')).toHaveText('awaiting approval', {
    timeout: 60_000,
  });
  await expect(batch2.getByTestId('counts')).toContainText(`${waitingInBatch2} waiting`);
  await expect(page.getByRole('button', { name: 'Approve batch 2' })).toBeVisible();
  await expect(page.getByTestId('rollout-timeline')).toContainText('batch 2 waits for approval');

  // pause it: the confirmation says what it does; the state and the reason follow
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText('No new applies start until it is resumed');
  await dialog.getByRole('button', { name: 'Pause rollout' }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('rollout-state')).toHaveText('paused');
  await expect(page.getByTestId('rollout-reason')).toContainText('paused by');
  await expect(page.getByRole('button', { name: 'Resume' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Pause', exact: true })).toHaveCount(0);
  await expect(devices).toContainText('the rollout is paused');
  expect(await pageOverflows(page)).toBe(false);
  await testInfo.attach('rollout page after pause', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });

  // the list shows it, with its reason and honest progress
  await page.goto(`${fleetUrl}/rollouts?state=paused`);
  const row = page.locator('[data-testid^="rollout-row-"]', { hasText: name });
  await expect(row).toContainText('paused by');
  await expect(row.getByTestId('rollout-progress')).toContainText('1 succeeded');
  await expect(row.getByTestId('rollout-progress')).toContainText(`of ${fleetSize}`);
});

test('a rollout over an image name on 10,000 simulated devices: its page pages the devices', async ({
  page,
}, testInfo) => {
  test.setTimeout(240_000);
  await signInScaleAdmin(page, state.scale);
  await page.goto(`${scaleUrl}/rollouts/new`);
  const form = page.getByRole('form', { name: 'New rollout' });
  const name = `aarch64 fleet to 2.0.0 ${Date.now()}`;
  await form.getByLabel('Name', { exact: true }).fill(name);
  await pickVersion(page, /^EOS\.aarch64-AB 2\.0\.0/);
  await form.getByRole('radio', { name: 'Image name' }).check();
  await form.getByRole('combobox', { name: 'Image name' }).fill('EOS.aarch64-AB');
  await form.getByLabel('Save as a draft (start it later)').check();
  const preview = page.getByTestId('rollout-preview');
  await expect(preview.getByTestId('preview-summary')).toContainText(/to [\d,]{4,} devices/, {
    timeout: 60_000,
  });
  expect(await pageOverflows(page)).toBe(false);
  await testInfo.attach('10,000 devices: new rollout with its preview', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await expect(page).toHaveURL(/\/rollouts\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  await expect(page.getByTestId('rollout-state')).toHaveText('draft');
  const total = page.getByTestId('rollout-devices-total');
  await expect(total).toContainText(/^[\d,]{4,} devices · page 1 of \d+/, { timeout: 30_000 });
  const rows = page.locator('[data-testid^="rollout-device-"]');
  expect(await rows.count()).toBeLessThanOrEqual(50);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/page=2/);
  await expect(total).toContainText('page 2 of');
  await expect(page.getByText(/^Loading .*…$/)).toHaveCount(0, { timeout: 30_000 });
  expect(await pageOverflows(page), 'the rollout page overflows at 1280 px').toBe(false);
  await testInfo.attach('10,000 devices: a draft rollout, page 2 of its devices', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
});

test('a device list from the Devices table, picked by name in the form, saved as a draft', async ({
  page,
}, testInfo) => {
  test.setTimeout(180_000);
  await signInScaleAdmin(page, state.scale);
  const rows = page.locator('[data-testid^="device-row-"]');
  const bar = page.getByTestId('bulk-bar');
  const form = page.getByRole('form', { name: 'New rollout' });

  // a full page of 200 is more than a list picked here holds: refused in words, with what works
  await page.goto(`${scaleUrl}/devices?pageSize=200`);
  await expect(rows).toHaveCount(200, { timeout: 30_000 });
  await page.getByLabel('Select every device on this page').check();
  await expect(bar.getByRole('button', { name: 'New rollout…' })).toBeDisabled();
  await expect(bar.getByTestId('new-rollout-note')).toContainText(
    'at most 100 devices here. For these 200 devices, set a label',
  );

  // everything matching a label filter becomes that label target, not a list of ids
  await page.goto(`${scaleUrl}/devices?label=${encodeURIComponent('site=berlin')}`);
  await rows.first().getByRole('checkbox').check();
  await page.getByRole('button', { name: /^Select everything matching this filter/ }).click();
  await expect(bar.getByTestId('new-rollout-note')).toContainText('targets the labels site=berlin');
  await bar.getByRole('button', { name: 'New rollout…' }).click();
  await expect(page).toHaveURL(/\/rollouts\/new\?label=site%3Dberlin$/);
  await expect(form.getByLabel('Labels', { exact: true })).toHaveValue('site=berlin');

  // three rows of a search, handed over: the form shows them by name
  await page.goto(`${scaleUrl}/devices?q=sim-00001`);
  await expect(rows.first()).toBeVisible({ timeout: 30_000 });
  for (const name of ['sim-000011', 'sim-000012', 'sim-000013'])
    await page.getByLabel(`Select ${name}`, { exact: true }).check();
  await expect(bar).toContainText('3 selected');
  await bar.getByRole('button', { name: 'New rollout…' }).click();
  await expect(page).toHaveURL(/\/rollouts\/new\?device=[0-9a-f-]{36}&device=/);
  await expect(form.getByRole('radio', { name: 'Device list' })).toBeChecked();
  const picked = form.getByRole('list', { name: 'Devices in the rollout' }).getByRole('listitem');
  await expect(picked).toHaveText(['sim-000011', 'sim-000012', 'sim-000013']);

  // by keyboard: search, arrow into the results, Space adds; a remove button takes one out and
  // focus moves on to the next one
  const search = form.getByRole('searchbox', { name: 'Devices' });
  await search.fill('sim-000014');
  const results = form.getByRole('toolbar', { name: 'Matching devices' });
  await expect(results.getByRole('button')).toHaveText([/^sim-000014/]);
  await search.press('ArrowDown');
  await expect(results.getByRole('button', { name: 'sim-000014' })).toBeFocused();
  await page.keyboard.press('Space');
  await expect(results.getByRole('button', { name: 'sim-000014' })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  await form.getByRole('button', { name: 'Remove sim-000011' }).focus();
  await page.keyboard.press('Enter');
  await expect(form.getByRole('button', { name: 'Remove sim-000012' })).toBeFocused();
  await expect(picked).toHaveText(['sim-000012', 'sim-000013', 'sim-000014']);
  await expect(form.getByTestId('picked-count')).toHaveText('3 devices in the list');

  const name = `three picked devices to 2.0.0 ${Date.now()}`;
  await form.getByLabel('Name', { exact: true }).fill(name);
  await pickVersion(page, /^EOS\.x86_64-AB 2\.0\.0/);
  await form.getByLabel('Save as a draft (start it later)').check();
  const preview = page.getByTestId('rollout-preview');
  await expect(preview.getByTestId('preview-summary')).toContainText('to 3 devices', {
    timeout: 30_000,
  });
  expect(await pageOverflows(page)).toBe(false);
  await testInfo.attach('new rollout: a device list picked by name, with its preview', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
  await form.getByRole('button', { name: 'Create rollout' }).click();
  await expect(page).toHaveURL(/\/rollouts\/[0-9a-f-]{36}$/, { timeout: 60_000 });
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('rollout-state')).toHaveText('draft');
  await expect(page.getByTestId('rollout-devices-total')).toContainText(/^3 devices/, {
    timeout: 30_000,
  });
  for (const device of ['sim-000012', 'sim-000013', 'sim-000014'])
    await expect(page.getByTestId('rollout-devices')).toContainText(device);

  // an id of no device in the address stays in the list, marked, and the field says so
  await page.goto(`${scaleUrl}/rollouts/new?device=6d1f5a7e-0000-4000-8000-0000000000ff`);
  await expect(picked).toHaveText(/^6d1f5a7e-0000-4000-8000-0000000000ff\s*no such device$/);
  await expect(
    form.getByTestId('field-error').filter({ hasText: 'names no device' }),
  ).toBeVisible();
});
