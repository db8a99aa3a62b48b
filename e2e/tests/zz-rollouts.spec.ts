// Staged rollouts in the browser. On the demo fleet (every device carries demo=yes): a rollout of
// them to the version they do not run (1.0.0 after the fleet specs moved them to 2.0.0; 2.0.0
// when this spec runs alone) is planned in the form with its preview checked, created, watched
// while its first batch (one device, automatic) succeeds on a real device with the real agent and
// EOS's os-update, held at the second batch's manual gate, then paused from the browser. On the
// scale demo (10,000 simulated devices): a draft over an image name, its rollout page paged and
// within 1280 px.
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
