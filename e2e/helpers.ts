import { expect, type Page } from '@playwright/test';

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
