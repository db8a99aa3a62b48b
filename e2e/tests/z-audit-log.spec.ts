// The audit log in the browser (after operators.spec made the admin and the viewer): filters it
// by action, reads the entry as a sentence, opens the raw data, and shares the view by its URL.
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { signIn } from '../helpers';
import { stateFile, type SystemState } from '../system';

const state = (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState).dashboard;
const VIEWER = { email: 'vera@e2e.local' };
const ADMIN_PASSWORD = 'admin password for e2e';

test('the audit log filters by action, speaks in sentences and keeps the raw data behind a toggle', async ({
  page,
}) => {
  await signIn(page, state.adminEmail, ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  await page.goto('/audit');
  await expect(page.getByTestId('audit-list')).toBeVisible();
  await page.getByLabel('Action').selectOption('operator.created');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/\/audit\?action=operator\.created$/);
  const entries = page.getByTestId('audit-entry');
  // the first admin (made by the system) and the viewer
  await expect(entries).toHaveCount(2);
  const entry = entries.filter({ hasText: VIEWER.email });
  await expect(entry.getByTestId('audit-sentence')).toHaveText(
    `${state.adminEmail} created operator ${VIEWER.email} as viewer`,
  );
  const raw = entry.getByTestId('audit-raw');
  await expect(raw.locator('pre')).toBeHidden();
  await raw.getByText('Raw data').click();
  await expect(raw.locator('pre')).toBeVisible();
  await expect(raw.locator('pre')).toContainText('"role": "viewer"');
  // the raw data stays inside its card
  const card = await page.getByTestId('audit-list').boundingBox();
  const pre = await raw.locator('pre').boundingBox();
  expect(card && pre && pre.x + pre.width <= card.x + card.width + 1).toBe(true);
  // the export link carries the same filter
  await expect(page.getByTestId('audit-export')).toHaveAttribute(
    'href',
    '/api/audit/export.csv?action=operator.created',
  );
  // the URL is the view: opened again, the same filter
  await page.goto('/audit?action=operator.created');
  await expect(page.getByLabel('Action')).toHaveValue('operator.created');
  await expect(page.getByTestId('audit-entry')).toHaveCount(2);
});
