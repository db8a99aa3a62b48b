// The bundle is what ships in the EOS image: one file, plain Node, no node_modules next to it.
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import packageJson from '../package.json';
import { FakeDevice } from './testing/fake-device';
import { TestGateway } from './testing/test-gateway';

const run = promisify(execFile);
const agentDir = new URL('..', import.meta.url).pathname;
let dir: string;
let bundle: string;

beforeAll(async () => {
  await run(process.execPath, ['build.mjs'], { cwd: agentDir });
  dir = await mkdtemp(join(tmpdir(), 'eos-agent-bundle-'));
  bundle = join(dir, 'eos-fleet-agent.mjs');
  await copyFile(join(agentDir, 'dist', 'eos-fleet-agent.mjs'), bundle);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runBundle(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('bundled agent', () => {
  it('prints its version', async () => {
    expect(await runBundle(['--version'])).toMatchObject({ code: 0, stdout: `${packageJson.version}\n` });
  });

  it('checks a config file and names the bad field', async () => {
    const good = join(dir, 'good.yml');
    const bad = join(dir, 'bad.yml');
    await writeFile(good, 'server:\n  url: wss://fleet.example.org/agent/v1\n  enrollmentToken: t\n');
    await writeFile(bad, 'server:\n  url: wss://fleet.example.org/agent/v1\npaths:\n  flakesDir: relative/dir\n');
    expect(await runBundle(['--check-config', '--config', good])).toMatchObject({ code: 0 });
    const failed = await runBundle(['--check-config', '--config', bad]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/paths\.flakesDir: expected an absolute path/);
  });

  it('keeps retrying while the server is unreachable, and stops on SIGTERM', async () => {
    const config = join(dir, 'unreachable.yml');
    await writeFile(
      config,
      stringify({
        server: { url: 'ws://127.0.0.1:1/agent/v1', enrollmentToken: 't' },
        stateDir: join(dir, 'state'),
        reconnect: { initialDelayMs: 100, maxDelayMs: 200, firstConnectJitterMs: 0 },
      }),
    );
    const child = spawn(process.execPath, [bundle, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Running once it has tried (and failed) to connect.
    await new Promise<void>((resolve) => child.stderr.on('data', (chunk: Buffer) => chunk.toString().includes('reconnecting') && resolve()));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('enrolls and reports its inventory to a gateway', async () => {
    const gateway = await TestGateway.start();
    const device = await FakeDevice.create();
    const config = join(device.dir, 'agent.yml');
    await writeFile(config, stringify(device.config(gateway.url)));
    const child = spawn(process.execPath, [bundle, '--config', config], { stdio: 'ignore' });
    try {
      const inventory = await gateway.waitFor(() => gateway.framesOf('inventory')[0]);
      expect(inventory.inventory.activeSlot).toBe('p.lxreadonly');
      expect(gateway.framesOf('enroll')).toHaveLength(1);
      expect(await runBundle(['--health', '--wait', '5', '--config', config])).toMatchObject({ code: 0, stdout: 'healthy\n' });
      // A new boot: the status file is from the previous one until the agent handshakes again.
      await device.boot('p.lxreadonly', false);
      const stale = await runBundle(['--health', '--config', config]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/no agent has started in this boot/);
      // SIGTERM (systemd stop) ends it cleanly and promptly.
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await gateway.close();
      await device.remove();
    }
  });
});
