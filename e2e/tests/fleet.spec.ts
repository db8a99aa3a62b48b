// A device from enrolment to its first update, in the browser: the demo fleet (EOS testbed devices
// running the real agent, one waiting for acceptance; an update server offering 2.0.0).
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import { replacePassword, signIn } from '../helpers';
import { fleetUrl, stateFile, type SystemState } from '../system';

const { fleet } = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;

test('an operator accepts a pending device and applies an update to it, watching it through kexec and commit', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await signIn(page, fleet.adminEmail, fleet.adminOneTimePassword, fleetUrl);
  await replacePassword(page, fleet.adminOneTimePassword, 'fleet admin password');
  await expect(page).toHaveURL(`${fleetUrl}/`);
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Devices' })
    .click();

  // the agent enrolled with the demo's manual token: it waits for us
  const pending = page.locator('[data-testid^="pending-"]');
  await expect(pending).toHaveCount(1, { timeout: 60_000 });
  await expect(pending).toContainText(fleet.update.imageName);
  const deviceId = (await pending.getAttribute('data-testid'))?.replace(/^pending-/, '');
  await pending.getByRole('button', { name: 'Accept' }).click();
  await expect(pending).toHaveCount(0);

  const row = page.getByTestId(`device-row-${deviceId}`);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('online', { timeout: 30_000 });
  await expect(row).toContainText(fleet.update.from.slice(0, 12));
  await row.getByRole('link').click();

  await expect(page.getByTestId('root-prefix-hash')).toHaveText(fleet.update.from);
  await expect(page.getByTestId('active-slot')).toHaveText('p.lxreadonly');
  // the slot panel before: A runs 1.0.0, B unknown (no apply recorded yet)
  const slotA = page.getByTestId('slot-p.lxreadonly');
  const slotB = page.getByTestId('slot-p.lxrootclone1');
  await expect(slotA).toHaveAttribute('data-active', 'true');
  await expect(slotA.getByTestId('slot-version')).toHaveText('EOS.x86_64-AB-1.0 1.0.0');
  await expect(slotB).toHaveAttribute('data-knowledge', 'unknown');
  const apply = page.getByRole('form', { name: 'Apply update' });
  // the demo registered its update server and labelled its versions: pick 2.0.0 from the list
  await expect(row.page().getByTestId('running-version')).toHaveText('EOS.x86_64-AB-1.0 1.0.0');
  const picker = apply.getByLabel(/^Version/);
  await expect(picker.locator('option', { hasText: 'EOS.x86_64-AB 2.0.0' })).toHaveCount(1);
  await picker.selectOption({
    label: (await picker.locator('option', { hasText: 'EOS.x86_64-AB 2.0.0' }).innerText()).trim(),
  });
  await expect(apply.getByTestId('apply-choice')).toContainText(`@${fleet.update.to}`);
  await apply.getByRole('button', { name: 'Apply update' }).click();

  const command = page.getByTestId('command-apply');
  await expect(command).toBeVisible();
  // dd's progress, streamed from the device while it writes the inactive slot: a real bar (percent
  // of the pinned root partition), the rate and the time left
  await expect(command.getByTestId('command-progress')).toContainText(
    /downloading · \d+\.\d MiB of \d+\.\d MiB \(\d+%\)/,
    { timeout: 60_000 },
  );
  const bar = command.getByTestId('command-progress-bar');
  await expect(bar).toHaveAttribute('role', 'progressbar');
  await expect(bar).toHaveAttribute('aria-valuenow', /^\d+(\.\d+)?$/);
  // the cancel of a running apply is a request the device may refuse, and says so
  await command.getByRole('button', { name: 'Request cancel' }).click();
  const dialog = page.getByRole('alertdialog');
  await expect(dialog).toContainText('only if it has not started');
  await dialog.getByRole('button', { name: 'Keep it' }).click();
  await expect(dialog).toHaveCount(0);
  await test.info().attach('device page during the apply', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
  await expect(command).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
  await expect(command.getByTestId('command-result')).toContainText(
    `rootPrefixHash=${fleet.update.to}`,
  );
  await command.getByText(/\d+ events/).click();
  // ('rebooting' too, when that frame leaves the agent before kexec ends it)
  for (const state of ['queued', 'delivered', 'downloading', 'succeeded']) {
    await expect(command.getByText(state, { exact: true }).first()).toBeVisible();
  }
  await expect(page.getByTestId('root-prefix-hash')).toHaveText(fleet.update.to, {
    timeout: 30_000,
  });
  await expect(page.getByTestId('active-slot')).toHaveText('p.lxrootclone1');
  // the slot panel after: B runs 2.0.0, A still holds 1.0.0, known from the apply's history
  await expect(slotB).toHaveAttribute('data-active', 'true');
  await expect(slotB.getByTestId('slot-version')).toHaveText('EOS.x86_64-AB 2.0.0');
  await expect(slotA).toHaveAttribute('data-knowledge', 'history');
  await expect(slotA.getByTestId('slot-version')).toHaveText('EOS.x86_64-AB-1.0 1.0.0');
  await expect(slotA.getByTestId('slot-evidence')).toContainText('before the apply');
  // the device's audit entries, as sentences
  await expect(
    page
      .getByTestId('device-audit')
      .getByText(/sent apply to device/)
      .first(),
  ).toBeVisible();
  // the flake form validates with the protocol's schema and says the rules at the field
  const register = page.getByRole('form', { name: 'Register flake' });
  await expect(register).toContainText('put apps under /usr/share/flakes/bin');
  await register.getByRole('button', { name: 'Register' }).click();
  await expect(register.getByTestId('error-container')).toHaveText('Container: required');
  await register.getByLabel('App path').fill('usr/share/flakes/bin/lynx');
  await expect(register.getByTestId('error-app')).toContainText('expected an absolute path');
  await register.getByLabel('App path').fill('/usr/share/flakes/bin/lynx');
  await expect(register.getByTestId('error-app')).toHaveCount(0);
  await expect(page.getByTestId('command-flake.register')).toHaveCount(0);
  // nothing overflows at 1280 px
  await page.setViewportSize({ width: 1280, height: 900 });
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBe(0);
  await test.info().attach('device page after the update', {
    body: await page.screenshot({ fullPage: true }),
    contentType: 'image/png',
  });
});
