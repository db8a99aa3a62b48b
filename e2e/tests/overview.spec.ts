// The Overview after the fleet specs took the demo's four devices from 1.0.0 to 2.0.0: its counters, each a
// link to the Devices table filtered to what it counts; the charts' numbers as tables; the
// rollouts card's empty state; and no horizontal overflow at 1280 px.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { signIn } from '../helpers';
import { fleetUrl, stateFile, type SystemState } from '../system';

const { fleet } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;

test('the Overview counts the updated demo devices, charts its update and links each counter to its filter', async ({
  page,
}) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, fleet.adminEmail, 'fleet admin password', fleetUrl);
  await expect(page).toHaveURL(`${fleetUrl}/`);
  await expect(page.getByRole('heading', { name: 'Overview' })).toBeVisible();
  await expect(page.getByTestId('stat-devices')).toHaveText('4');
  await expect(page.getByTestId('stat-pending')).toHaveText('0');
  await expect(page.getByTestId('stat-failed-updates')).toHaveText('0');
  await expect(page.getByTestId('stat-updates-in-progress')).toHaveText('0');

  // today's succeeded apply, in the table behind the outcomes chart (UTC days)
  const outcomes = page.getByRole('table', { name: 'Update outcomes per UTC day' });
  const today = new Date().toISOString().slice(0, 10);
  await expect(outcomes.getByRole('row', { name: new RegExp(`^${today}`) })).toContainText(
    /^\S+\s*4\s*0\s*0\s*0$/,
  );
  await expect(page.getByRole('heading', { name: 'Online devices over time' })).toBeVisible();
  // the devices run 2.0.0 now: the versions card links to exactly those devices
  const version = page.getByRole('link', { name: '2.0.0', exact: true });
  await expect(version).toHaveAttribute(
    'href',
    /^\/devices\?imageName=[^&]+&versionId=[0-9a-f-]{36}$/,
  );
  await expect(page.getByTestId('no-active-rollouts')).toContainText('No rollout is scheduled');

  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);

  await page.getByRole('link', { name: /Stuck updates/ }).click();
  await expect(page).toHaveURL(`${fleetUrl}/devices?updateState=stuck`);
  await page.goBack();
  await page.getByRole('link', { name: /Out of date/ }).click();
  await expect(page).toHaveURL(`${fleetUrl}/devices?outOfDate=true`);
});
