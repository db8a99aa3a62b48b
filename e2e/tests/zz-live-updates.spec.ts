// Live updates in a real browser against the real dashboard (after operators.spec set the admin's
// password; last, since it restarts the dashboard): the layout says "Live", a change made outside
// the page (a script's tRPC call) appears without a reload, and when the server stops the page
// says it is disconnected, then "Live" again once the server is back, and changes flow again.
// Tabs share one stream (trpc/live-updates.ts): a second tab opens none until the first closes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { signIn } from '../helpers';
import { baseUrl, port, repoRoot, stateFile, type SystemState } from '../system';

const ADMIN_PASSWORD = 'admin password for e2e';

function readState(): SystemState {
  return JSON.parse(fs.readFileSync(stateFile, 'utf8')) as SystemState;
}

/** What a script does with the admin's session: the browser page is not involved. */
async function addUpdateServer(page: Page, name: string) {
  const response = await page.request.post('/api/trpc/catalog.addUpdateServer', {
    headers: { origin: baseUrl, 'content-type': 'application/json' },
    data: {
      json: {
        name,
        sshTarget: 'fleet@127.0.0.1',
        httpUrl: 'http://127.0.0.1:9/',
        catalogToken: 'live-updates-e2e-token',
      },
    },
  });
  expect(response.status(), await response.text()).toBe(200);
}

function isRunning(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop the dashboard as an operator would (SIGTERM), and wait until it is gone. */
async function stopDashboard() {
  const { pid } = readState().dashboard;
  process.kill(pid, 'SIGTERM');
  await expect.poll(() => isRunning(pid), { timeout: 30_000 }).toBe(false);
}

/** Start it again on its data directory and port, as global-setup did; teardown stops it. */
async function startDashboard() {
  const state = readState();
  const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['server.ts'], {
    cwd: path.join(repoRoot, 'apps/web'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      EOS_FLEET_DATA_DIR: state.dashboard.dataDir,
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await expect
    .poll(() => (child.exitCode === null ? /EOS Fleet is listening/.test(output) : output), {
      timeout: 120_000,
    })
    .toBe(true);
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  child.unref();
  fs.writeFileSync(
    stateFile,
    JSON.stringify({ ...state, dashboard: { ...state.dashboard, pid: child.pid ?? 0 } }),
  );
}

test('the dashboard is live: changes made elsewhere appear without reload, and a server restart is shown and survived', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await signIn(page, readState().dashboard.adminEmail, ADMIN_PASSWORD);
  await expect(page).toHaveURL(/\/$/);
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: 'Update servers' })
    .click();
  await expect(page).toHaveURL(/\/update-servers$/);

  const status = page.getByTestId('live-status');
  await expect(status).toHaveText('Live');
  await expect(status).toHaveAttribute('role', 'status');
  await expect(status).toHaveAttribute('aria-live', 'polite');

  // a marker in this document: it would be gone after a reload
  await page.evaluate(() => {
    (window as unknown as { liveMarker: string }).liveMarker = 'same document';
  });
  const servers = page.getByTestId('update-servers');
  await addUpdateServer(page, 'live e2e server one');
  await expect(servers).toContainText('live e2e server one');
  expect(await page.evaluate(() => (window as unknown as { liveMarker?: string }).liveMarker)).toBe(
    'same document',
  );

  await stopDashboard();
  await expect(status).toHaveText('Reconnecting…', { timeout: 15_000 });
  await expect(status).toHaveText('Disconnected — data may be stale', { timeout: 30_000 });

  await startDashboard();
  await expect(status).toHaveText('Live', { timeout: 90_000 });
  await addUpdateServer(page, 'live e2e server two');
  await expect(servers).toContainText('live e2e server two');
  expect(await page.evaluate(() => (window as unknown as { liveMarker?: string }).liveMarker)).toBe(
    'same document',
  );
});

test('tabs share one stream: a second tab is live without its own, and takes over when the first closes', async ({
  context,
}) => {
  test.setTimeout(120_000);
  const first = await context.newPage();
  await signIn(first, readState().dashboard.adminEmail, ADMIN_PASSWORD);
  await expect(first).toHaveURL(/\/$/);
  await expect(first.getByTestId('live-status')).toHaveText('Live');

  const second = await context.newPage();
  const streamsOfSecond: string[] = [];
  second.on('request', (request) => {
    if (request.url().includes('/api/trpc/live.changes')) streamsOfSecond.push(request.url());
  });
  await second.goto('/update-servers');
  await expect(second.getByTestId('live-status')).toHaveText('Live');
  await addUpdateServer(second, 'live e2e server three');
  await expect(second.getByTestId('update-servers')).toContainText('live e2e server three');
  // (over HTTP/1.1 every open stream holds one of the browser's six connections to the host)
  expect(streamsOfSecond).toEqual([]);

  await first.close();
  await expect.poll(() => streamsOfSecond.length, { timeout: 30_000 }).toBeGreaterThan(0);
  await expect(second.getByTestId('live-status')).toHaveText('Live');
  await addUpdateServer(second, 'live e2e server four');
  await expect(second.getByTestId('update-servers')).toContainText('live e2e server four');
});
