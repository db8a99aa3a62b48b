import { expect, type Page } from '@playwright/test';
import { fleetUrl, scaleUrl } from './system';

/** Our alerts, not Next's (empty) route announcer, which also has role=alert. */
export function alertOf(page: Page) {
  return page.locator('[role=alert]:not(#__next-route-announcer__)');
}

export async function signIn(page: Page, email: string, password: string, origin = '') {
  await page.goto(`${origin}/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function replacePassword(page: Page, current: string, next: string) {
  await expect(page).toHaveURL(/\/change-password$/);
  await page.getByLabel('Current password').fill(current);
  await page.getByLabel('New password (at least 10 characters)').fill(next);
  await page.getByLabel('New password, again').fill(next);
  await page.getByRole('button', { name: 'Save password' }).click();
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
}

/** The demo fleet admin's password once a spec has replaced the one-time one. */
export const FLEET_ADMIN_PASSWORD = 'fleet admin password';

/** Signed in as the demo fleet's admin, whether an earlier spec replaced the one-time password or not. */
export async function signInFleetAdmin(
  page: Page,
  fleet: { adminEmail: string; adminOneTimePassword: string },
  origin = fleetUrl,
) {
  await signIn(page, fleet.adminEmail, FLEET_ADMIN_PASSWORD, origin);
  await page.waitForURL((url) => url.pathname !== '/sign-in', { timeout: 5_000 }).catch(() => null);
  if (new URL(page.url()).pathname === '/sign-in') {
    await signIn(page, fleet.adminEmail, fleet.adminOneTimePassword, origin);
    await replacePassword(page, fleet.adminOneTimePassword, FLEET_ADMIN_PASSWORD);
  }
  await expect(page).toHaveURL(`${origin}/`);
}

/** The scale demo admin's password once a spec has replaced the one-time one. */
export const SCALE_ADMIN_PASSWORD = 'scale admin password';

/** Signed in as the scale demo's admin, whichever spec came first and replaced the one-time password. */
export async function signInScaleAdmin(
  page: Page,
  scale: { adminEmail: string; adminOneTimePassword: string },
) {
  await signIn(page, scale.adminEmail, SCALE_ADMIN_PASSWORD, scaleUrl);
  await page.waitForURL((url) => url.pathname !== '/sign-in', { timeout: 5_000 }).catch(() => null);
  if (new URL(page.url()).pathname === '/sign-in') {
    await signIn(page, scale.adminEmail, scale.adminOneTimePassword, scaleUrl);
    await replacePassword(page, scale.adminOneTimePassword, SCALE_ADMIN_PASSWORD);
  }
  await expect(page).toHaveURL(`${scaleUrl}/`);
}

/** The dashboard's screens, as the sidebar names them (each page's heading is the same words). */
export const SCREENS = [
  'Overview',
  'Devices',
  'Rollouts',
  'Images',
  'Update servers',
  'Audit log',
  'Settings',
] as const;

/** Whether anything on the page is wider than the window (nothing may overflow at 1280 px). */
export function pageOverflows(page: Page): Promise<boolean> {
  return page.evaluate(
    () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
  );
}

/**
 * Open one screen from the sidebar, wait until it has loaded (its heading, no "Loading…" left),
 * check that nothing overflows, and attach a screenshot of it to the report.
 */
export async function visitScreen(
  page: Page,
  name: string,
  attach: (name: string, options: { body: Buffer; contentType: string }) => Promise<void>,
  caption = name,
) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await expect(page.getByRole('heading', { level: 1, name, exact: true })).toBeVisible();
  await expect(page.getByText(/^Loading .*…$/)).toHaveCount(0, { timeout: 30_000 });
  expect(await pageOverflows(page), `${name} overflows at ${page.viewportSize()?.width} px`).toBe(
    false,
  );
  await attach(caption, {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
}
