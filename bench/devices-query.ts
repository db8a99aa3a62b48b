// The Devices table at fleet scale (issue 8): p50/p95 server time of the devices query (filter +
// sort + page, the count included: services/devices/query-devices.ts, as devices.page runs it) at
// 10,000 and 100,000 seeded devices (apps/web/src/server/testing/seed-fleet.ts) on a real,
// embedded PostgreSQL; then the time for the Devices page to become interactive in Chromium
// (playwright-core, /usr/bin/chromium) against the real web process (`tsx server.ts`, after
// `next build`) at 10,000 devices.
//   npm run bench:devices -w @eos-fleet/bench -- [--runs 30] [--port 3310] [--no-page] [--no-write]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  applyMigrations,
  createPrismaClient,
  startEmbeddedPostgres,
  type Db,
  type RunningPostgres,
} from '@eos-fleet/db';
import { chromium } from 'playwright-core';
import { SYSTEM_ACTOR } from '../apps/web/src/server/services/context';
import { queryDevices } from '../apps/web/src/server/services/devices/query-devices';
import { createOperator } from '../apps/web/src/server/services/operators/create-operator';
import { seedFleet, type SeededFleet } from '../apps/web/src/server/testing/seed-fleet';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    port: { type: 'string', default: process.env.E2E_PORT ?? '3310' },
    'no-page': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const PORT = Number(values.port);
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const work = mkdtempSync(join(tmpdir(), 'eos-fleet-bench-devices-'));
let postgres: RunningPostgres | undefined;
let db: Db | undefined;
let server: ChildProcess | undefined;

async function cleanup() {
  if (server?.pid) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  await db?.$disconnect();
  await postgres?.stop();
  rmSync(work, { recursive: true, force: true });
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => void cleanup().then(() => process.exit(130)));

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

type Case = [string, Parameters<typeof queryDevices>[1]];
function cases(fleet: SeededFleet, total: number): Case[] {
  const v = fleet.versions['EOS.x86_64-AB']?.['1.1.0']?.id;
  return [
    ['no filter (name asc)', {}],
    ['online=false', { online: false }],
    ['outOfDate=true', { outOfDate: true }],
    ['label site=berlin', { labels: ['site=berlin'] }],
    ['q search "sim-0042"', { q: 'sim-0042' }],
    ['version EOS.x86_64-AB 1.1.0', { versionId: v }],
    ['sort lastSeen desc', { sort: 'lastSeen', dir: 'desc' }],
    ['sort version asc', { sort: 'version', dir: 'asc' }],
    ['updateState=stuck', { updateState: 'stuck' }],
    [`deep page (${Math.floor(total / 2 / 50)} of 50)`, { page: Math.floor(total / 2 / 50) }],
  ];
}

async function measure(database: Db, fleet: SeededFleet, total: number) {
  const rows: { name: string; matches: number; p50: number; p95: number }[] = [];
  for (const [name, input] of cases(fleet, total)) {
    const times: number[] = [];
    let matches = 0;
    for (let i = 0; i < RUNS + 3; i++) {
      const started = performance.now();
      const result = await queryDevices({ db: database }, { pageSize: 50, ...input });
      const elapsed = performance.now() - started;
      if (i >= 3) times.push(elapsed); // warm-up
      matches = result.total;
    }
    times.sort((a, b) => a - b);
    rows.push({ name, matches, p50: percentile(times, 50), p95: percentile(times, 95) });
    console.log(
      `${total.toLocaleString('en')} devices  ${name.padEnd(32)} ${String(matches).padStart(7)} match  p50 ${percentile(times, 50).toFixed(1)} ms  p95 ${percentile(times, 95).toFixed(1)} ms`,
    );
  }
  return rows;
}

async function startWeb(databaseUrl: string): Promise<void> {
  const child = spawn(join(repoRoot, 'node_modules/.bin/tsx'), ['server.ts'], {
    cwd: join(repoRoot, 'apps/web'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(PORT),
      HOST: '127.0.0.1',
      EOS_FLEET_DATA_DIR: join(work, 'web-data'),
      DATABASE_URL: databaseUrl,
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server = child;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const until = Date.now() + 180_000;
  while (!/EOS Fleet is listening/.test(output)) {
    if (child.exitCode !== null || Date.now() > until)
      throw new Error(`the web process did not start:\n${output}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** Navigation start -> the first page of rows on screen and the filter controls enabled. */
async function measurePage(email: string, password: string) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const base = `http://127.0.0.1:${PORT}`;
    await page.goto(`${base}/sign-in`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/sign-in'), { timeout: 60_000 });
    const times: number[] = [];
    const filterTimes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      await page.goto(`${base}/devices`);
      await page.locator('[data-testid^="device-row-"]').first().waitFor({ timeout: 60_000 });
      await page.getByLabel('Search devices').waitFor({ state: 'visible' });
      const ready = Date.now() - started;
      // interactive: a filter change answers with the filtered page
      const filterStarted = Date.now();
      await page.locator('[data-testid="device-filters"] select').first().selectOption('false');
      await page.waitForURL(/online=false/);
      await page
        .locator('[data-testid="devices-total"]')
        .filter({ hasNotText: /^10,?000 devices/ })
        .waitFor({ timeout: 60_000 });
      if (i > 0) {
        times.push(ready);
        filterTimes.push(Date.now() - filterStarted);
      }
    }
    // nothing overflows at 1280 px
    const overflow = Boolean(
      await page.evaluate(
        'document.documentElement.scrollWidth > document.documentElement.clientWidth',
      ),
    );
    times.sort((a, b) => a - b);
    filterTimes.sort((a, b) => a - b);
    return {
      p50: percentile(times, 50),
      max: times.at(-1) ?? NaN,
      filterP50: percentile(filterTimes, 50),
      overflow,
    };
  } finally {
    await browser.close();
  }
}

try {
  postgres = await startEmbeddedPostgres({ dataDir: join(work, 'pg') });
  await applyMigrations(postgres.url);
  db = createPrismaClient(postgres.url, { poolSize: 20 });
  let started = performance.now();
  const fleet = await seedFleet(db, 10_000);
  const seed10k = performance.now() - started;
  console.log(`seeded 10,000 devices in ${(seed10k / 1000).toFixed(1)} s`);
  const at10k = await measure(db, fleet, 10_000);

  let page: Awaited<ReturnType<typeof measurePage>> | null = null;
  if (!values['no-page']) {
    const password = 'bench password 123';
    const email = 'bench@bench.local';
    await createOperator(
      { db, actor: SYSTEM_ACTOR },
      { email, name: 'bench', role: 'admin', password },
    );
    await startWeb(postgres.url);
    page = await measurePage(email, password);
    console.log(
      `Devices page at 10,000: interactive p50 ${page.p50} ms (max ${page.max} ms), a filter change ${page.filterP50} ms, horizontal overflow at 1280 px: ${page.overflow}`,
    );
    if (server?.pid) process.kill(-server.pid, 'SIGTERM');
    server = undefined;
  }

  started = performance.now();
  await seedFleet(db, 90_000);
  const seed90k = performance.now() - started;
  console.log(`seeded 90,000 more in ${(seed90k / 1000).toFixed(1)} s`);
  const at100k = await measure(db, fleet, 100_000);

  const table = [
    '| Query (page of 50, with the count) | matches at 10k | p50 / p95 at 10k | matches at 100k | p50 / p95 at 100k |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...at10k.map((row, i) => {
      const big = at100k[i];
      return `| ${row.name} | ${row.matches} | ${row.p50.toFixed(1)} / ${row.p95.toFixed(1)} ms | ${big?.matches ?? ''} | ${big?.p50.toFixed(1)} / ${big?.p95.toFixed(1)} ms |`;
    }),
  ];
  const section = [
    '## Devices query (`npm run bench:devices -w @eos-fleet/bench`)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores shared with other work, embedded PostgreSQL, load average ${loadavg()[0]?.toFixed(1)} at the end, ${RUNS} runs per query after 3 warm-ups; the time is the server's (devices.page's service: the page's ids, the count, the rows and their resolved versions). Seeding: 10,000 devices in ${(seed10k / 1000).toFixed(1)} s, 90,000 more in ${(seed90k / 1000).toFixed(1)} s (one INSERT ... SELECT FROM generate_series). Aim: p95 < 100 ms at 10k, < 300 ms at 100k.`,
    '',
    ...table,
    '',
    page
      ? `Devices page at 10,000 devices in Chromium (1280 px wide, production build): from navigation to the first page of rows with the filters on screen, p50 ${page.p50} ms (max ${page.max} ms over 5 loads); a filter change (online=false) to its filtered page ${page.filterP50} ms p50. Horizontal overflow at 1280 px: ${page.overflow ? 'yes' : 'none'}.`
      : 'Devices page: not measured in this run (--no-page).',
    '',
  ].join('\n');
  console.log(`\n${section}`);
  if (!values['no-write']) {
    const file = join(repoRoot, 'docs/BENCHMARKS.md');
    const current = readFileSync(file, 'utf8');
    const marker = '## Devices query';
    const at = current.indexOf(marker);
    const next = at < 0 ? -1 : current.indexOf('\n## ', at + marker.length);
    const updated =
      at < 0
        ? `${current.trimEnd()}\n\n${section}`
        : `${current.slice(0, at)}${section}${next < 0 ? '' : current.slice(next + 1)}`;
    writeFileSync(file, updated);
  }
} finally {
  await cleanup();
}
