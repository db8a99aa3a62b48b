// The real entry point as an operator runs it (needs `next build` first, which `npm test` does).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.resolve(WEB_DIR, '../../node_modules/.bin/tsx');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startServer(env: Record<string, string>): Started {
  const child = spawn(TSX, ['server.ts'], {
    cwd: WEB_DIR,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return { child, output: () => output, exited };
}

async function waitForOutput(
  started: Started,
  pattern: RegExp,
  timeoutMs = 90_000,
): Promise<RegExpMatchArray> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const match = started.output().match(pattern);
    if (match) return match;
    if (started.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${pattern} in output:\n${started.output()}`);
}

describe('npm start: the web process', () => {
  let dataDir: string;
  let first: Started;
  let url: string;

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-start-'));
    first = startServer({ EOS_FLEET_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    const [, listening] = await waitForOutput(first, /"url":"(http:\/\/localhost:\d+)"/);
    url = listening ?? '';
  });
  afterAll(async () => {
    if (first.child.exitCode === null) first.child.kill('SIGKILL');
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('starts on embedded PostgreSQL, prints the first admin once, and serves the sign-in page', async () => {
    expect(first.output()).toMatch(/the first admin account was created/);
    expect(first.output()).toMatch(/password\s+[A-Za-z0-9]{20}/);
    const page = await fetch(`${url}/sign-in`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in to EOS Fleet');
    const dashboard = await fetch(`${url}/`, { redirect: 'manual' });
    expect(dashboard.status).toBe(303);
    expect(dashboard.headers.get('location')).toBe('/sign-in?next=%2F');
  });

  it('refuses a second start on the same data directory with a clear message', async () => {
    const second = startServer({ EOS_FLEET_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    expect(await second.exited).toBe(1);
    expect(second.output()).toMatch(
      /EOS Fleet did not start: EOS Fleet is already running from .* \(.*pid \d+\)/,
    );
    expect(second.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect((await fetch(`${url}/healthz`)).status).toBe(200); // the first one is untouched
  });

  it('refuses a port that is taken, naming it', async () => {
    const port = new URL(url).port;
    const other = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-start-'));
    const clash = startServer({ EOS_FLEET_DATA_DIR: other, PORT: port, HOST: '127.0.0.1' });
    expect(await clash.exited).toBe(1);
    expect(clash.output()).toContain(`Port ${port} is already in use`);
    await fs.rm(other, { recursive: true, force: true });
  });

  it('reports a DATABASE_URL that cannot be reached, without starting half-way', async () => {
    const unreachable = startServer({
      DATABASE_URL: 'postgresql://fleet:secret@127.0.0.1:1/fleet',
      PORT: '0',
      HOST: '127.0.0.1',
    });
    expect(await unreachable.exited).toBe(1);
    expect(unreachable.output()).toMatch(
      /Cannot reach the database at postgresql:\/\/fleet:\*\*\*@127\.0\.0\.1:1\/fleet/,
    );
    expect(unreachable.output()).not.toContain('secret');
  });

  it('shuts down cleanly on SIGTERM: PostgreSQL stopped, lock released, data kept', async () => {
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const files = await fs.readdir(dataDir);
    expect(files).not.toContain('eos-fleet.lock');
    const clusterDir = await fs.realpath(path.join(dataDir, 'postgres'));
    await expect(fs.access(path.join(clusterDir, 'postmaster.pid'))).rejects.toThrow();
    // a restart keeps the admin: no second banner
    const again = startServer({ EOS_FLEET_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    await waitForOutput(again, /EOS Fleet is listening/);
    expect(again.output()).not.toMatch(/first admin account was created/);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
  });
});
