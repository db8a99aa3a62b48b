// The bundle is what ships in the EOS image: one file, plain Node, no node_modules next to it.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import packageJson from '../package.json';
import { Journal } from './journal';
import { StateStore } from './state-store';
import { FakeDevice } from './testing/fake-device';
import { grandchildPid, processAlive, waitUntilGone } from './testing/processes';
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
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('bundled agent', () => {
  it('prints its version', async () => {
    expect(await runBundle(['--version'])).toMatchObject({
      code: 0,
      stdout: `${packageJson.version}\n`,
    });
  });

  it('checks a config file and names the bad field', async () => {
    const good = join(dir, 'good.yml');
    const bad = join(dir, 'bad.yml');
    await writeFile(
      good,
      'server:\n  url: wss://fleet.example.org/agent/v1\n  enrollmentToken: t\n',
    );
    await writeFile(
      bad,
      'server:\n  url: wss://fleet.example.org/agent/v1\npaths:\n  flakesDir: relative/dir\n',
    );
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
    const child = spawn(process.execPath, [bundle, '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    // Running once it has tried (and failed) to connect.
    await new Promise<void>((resolve) =>
      child.stderr.on(
        'data',
        (chunk: Buffer) => chunk.toString().includes('reconnecting') && resolve(),
      ),
    );
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
      expect(await runBundle(['--health', '--wait', '5', '--config', config])).toMatchObject({
        code: 0,
        stdout: 'healthy\n',
      });
      // A new boot: the status file is from the previous one until the agent handshakes again.
      await device.boot('p.lxreadonly', false);
      const stale = await runBundle(['--health', '--config', config]);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toMatch(/no agent has started in this boot/);
      // SIGTERM (systemd stop) ends it cleanly and promptly.
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await gateway.close();
      await device.remove();
    }
  });

  it('ends the tools it runs, grandchildren included, when systemd stops it (SIGTERM)', async () => {
    const gateway = await TestGateway.start();
    const device = await FakeDevice.create();
    // A flake-ctl that leaves a grandchild: as podman does with its helpers.
    const pidFile = device.path('grandchild.pid');
    await writeFile(
      device.path('bin/flake-ctl'),
      `#!/bin/sh\nsleep 1000 &\necho "grandchild $!" > '${pidFile}'\nwait\n`,
    );
    await chmod(device.path('bin/flake-ctl'), 0o755);
    const config = join(device.dir, 'agent.yml');
    await writeFile(config, stringify(device.config(gateway.url)));
    const child = spawn(process.execPath, [bundle, '--config', config], { stdio: 'ignore' });
    try {
      const enroll = await gateway.waitFor(
        () => gateway.framesOf('inventory')[0] && gateway.framesOf('enroll')[0],
      );
      gateway.command(enroll.deviceId, 'pull-1', 'flake.pull', {
        engine: 'podman',
        uri: 'registry.opensuse.org/home/eos/joe',
      });
      const pid = await gateway.waitFor(async () =>
        grandchildPid(await readFile(pidFile, 'utf8').catch(() => '')),
      );
      expect(processAlive(pid)).toBe(true);
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await waitUntilGone(pid);
    } finally {
      child.kill('SIGKILL');
      await gateway.close();
      await device.remove();
    }
  });

  describe('--verify-slot (the commit gate content check)', () => {
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

    async function deviceAfterKexec(
      slotContent: Buffer,
      image: Buffer,
    ): Promise<{ device: FakeDevice; config: string }> {
      const device = await FakeDevice.create();
      const settings = device.config('ws://127.0.0.1:1/agent/v1');
      const store = new StateStore(settings.stateDir);
      await store.ensureDir();
      const journal = await Journal.load(store);
      await journal.put({
        id: 'apply-cli',
        kind: 'apply',
        params: {},
        receivedAt: new Date().toISOString(),
        state: 'awaiting_reboot',
        reboot: {
          expectedRootPrefixHash: 'a'.repeat(40),
          expectedRootSha256: sha256(image),
          expectedRootBytes: image.length,
          previousSlot: 'p.lxreadonly',
          previousBootId: device.bootId,
        },
        confirmed: false,
      });
      await device.writeSlot('p.lxrootclone1', slotContent);
      await device.boot('p.lxrootclone1', true);
      const config = join(device.dir, 'agent.yml');
      await writeFile(config, stringify(settings));
      return { device, config };
    }

    it('exits 0 on a match, 3 on a mismatch (expected vs actual), 4 when the device cannot be read', async () => {
      const image = randomBytes(32 * 1024);
      const good = await deviceAfterKexec(image, image);
      const cut = Buffer.concat([image.subarray(0, 16 * 1024), Buffer.alloc(16 * 1024)]);
      const bad = await deviceAfterKexec(cut, image);
      try {
        const match = await runBundle(['--config', good.config, '--verify-slot']);
        expect(match).toMatchObject({
          code: 0,
          stdout: expect.stringContaining('apply apply-cli: ') as unknown,
        });
        expect(match.stdout).toContain('holds the expected image');

        const mismatch = await runBundle(['--config', bad.config, '--verify-slot']);
        expect(mismatch.code).toBe(3);
        expect(mismatch.stderr).toContain(`is ${sha256(cut)}, expected ${sha256(image)}`);
        expect(mismatch.stderr.trim().split('\n')).toHaveLength(1);

        await rm(bad.device.slotPath('p.lxrootclone1'));
        const unreadable = await runBundle(['--config', bad.config, '--verify-slot']);
        expect(unreadable.code).toBe(4);
        expect(unreadable.stderr).toMatch(/cannot read/);
      } finally {
        await good.device.remove();
        await bad.device.remove();
      }
    });

    it('exits 0 with a note when no apply is journaled (an update started by hand)', async () => {
      const device = await FakeDevice.create();
      try {
        const config = join(device.dir, 'agent.yml');
        await writeFile(config, stringify(device.config('ws://127.0.0.1:1/agent/v1')));
        await device.boot('p.lxrootclone1', true);
        expect(await runBundle(['--config', config, '--verify-slot'])).toMatchObject({
          code: 0,
          stdout: expect.stringContaining('nothing to verify') as unknown,
        });
      } finally {
        await device.remove();
      }
    });
  });
});
