// The bundled agent as a service of an EOS testbed device (image/testbed: the stand-ins for
// os-update, fleet and flake-ctl, kexec, commit and power cycle), updating from the real update server
// (apps/update-server) over SSH, talking to a real ws gateway speaking /agent/v1.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type ResultFrame } from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startUpdateServer, type RunningUpdateServer } from '../../update-server/src/update-server';
import { buildEosImage, type BuiltEosImage } from '../../../image/src';
import { createTestbedDevice, testbedAgentPaths } from '../../../image/testbed/create-device';
import { setTestbedFaults } from '../../../image/testbed/device-state';
import {
  bootTestbedDevice,
  type RunningTestbedDevice,
} from '../../../image/testbed/testbed-device';
import { writeFleetKey } from '../../../image/testbed/test-helpers';
import { TestGateway } from './testing/test-gateway';

const MiB = 1024 * 1024;
const agentDir = new URL('..', import.meta.url).pathname;
let work: string;
let server: RunningUpdateServer;
let device: RunningTestbedDevice;
let gateway: TestGateway;
/** What beforeAll got to start, stopped in reverse order even when beforeAll failed half-way. */
const cleanups: (() => Promise<void>)[] = [];
let v1: BuiltEosImage;
let v2: BuiltEosImage;
let deviceId: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'agent-testbed-'));
  await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: agentDir });
  const sizes = { root: 12, uefi: 2, spare: 1 };
  [v1, v2] = await Promise.all([
    buildEosImage({ outPath: path.join(work, 'v1.raw'), version: '1.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'v2.raw'), version: '2.0.0', sizes }),
  ]);
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  await writeFile(
    path.join(work, 'authorized_keys'),
    `command="/usr/bin/os-update-restricted.sh" ${key.authorizedKey}\n`,
  );
  await writeFile(
    path.join(work, 'server-os-update.yml'),
    '---\nupdate:\n' +
      `  - image: ${pathToFileURL(v2.path).href}\n    name: EOS.x86_64-AB.raw\n` +
      `  - image: ${pathToFileURL(v1.path).href}\n    name: EOS.x86_64-AB-old.raw\n`,
  );
  server = await startUpdateServer({
    osUpdateYml: path.join(work, 'server-os-update.yml'),
    publishDir: path.join(work, 'os-images'),
    stateDir: path.join(work, 'server-state'),
    fetchOnStart: false,
    catalogToken: 'agent-testbed-token',
    http: { host: '127.0.0.1', port: 0 },
    ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
    logLevel: 'silent',
  });
  cleanups.push(() => server.stop());
  await server.fetchNow();
  gateway = await TestGateway.start();
  cleanups.push(() => gateway.close());

  const dir = path.join(work, 'device');
  const configFile = path.join(work, 'agent.yml');
  await writeFile(
    configFile,
    stringify({
      server: { url: gateway.url, enrollmentToken: 'testbed-token' },
      ...testbedAgentPaths(dir),
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, firstConnectJitterMs: 0 },
      inventoryIntervalMs: 1000,
    }),
  );
  await createTestbedDevice({
    dir,
    image: v1.path,
    updateServer: { host: '127.0.0.1', sshPort: server.sshPort, user: 'ec2-user' },
    fleetKeyPath: key.privatePath,
    name: 'EOS.x86_64-AB',
    dd: { progressIntervalMs: 100, bytesPerSecond: 32 * MiB },
    services: [
      {
        name: 'eos-fleet-agent',
        command: [
          process.execPath,
          path.join(agentDir, 'dist', 'eos-fleet-agent.mjs'),
          '--config',
          configFile,
        ],
      },
    ],
  });
  device = await bootTestbedDevice(dir);
  cleanups.push(() => device.shutdown());
  const enroll = await gateway.waitFor(() => gateway.framesOf('enroll')[0], 30_000);
  deviceId = enroll.deviceId;
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (process.env.KEEP) console.log(`kept ${work}`);
  else await rm(work, { recursive: true, force: true });
});

const deadline = () => new Date(Date.now() + 600_000).toISOString();

/** What an apply of `image` carries: the pinned prefix hash and the whole root partition's sha256. */
async function applyParams(image: BuiltEosImage) {
  const file = await open(image.path, 'r');
  try {
    const root = Buffer.alloc(image.root.size);
    await file.read(root, 0, root.length, image.root.offset);
    return {
      expectedRootPrefixHash: image.rootPrefixHash,
      expectedRootSha256: createHash('sha256').update(root).digest('hex'),
      expectedRootBytes: root.length,
      deadline: deadline(),
    };
  } finally {
    await file.close();
  }
}
const resultOf = (commandId: string) => () =>
  gateway.framesOf('result').find((r: ResultFrame) => r.commandId === commandId);
const online = () => gateway.waitFor(() => gateway.connected(deviceId), 30_000);

describe('agent on an EOS testbed device', () => {
  it('reports the running image from the device', async () => {
    const { inventory } = await gateway.waitFor(() => gateway.framesOf('inventory')[0]);
    expect(inventory).toMatchObject({
      rootPrefixHash: v1.rootPrefixHash,
      activeSlot: 'p.lxreadonly',
      slotSizeBytes: 12 * MiB,
      imageName: 'EOS.x86_64-AB',
      profile: 'AB',
      arch: 'x86_64',
      commitPending: false,
      osRelease: { versionId: '1.0.0' },
    });
  });

  it('checks against the update server', async () => {
    await online();
    gateway.command(deviceId, 'tb-check', 'check');
    expect(await gateway.waitFor(resultOf('tb-check'), 30_000)).toMatchObject({
      status: 'succeeded',
      data: {
        currentRootPrefixHash: v1.rootPrefixHash,
        updateRootPrefixHash: v2.rootPrefixHash,
        updateAvailable: true,
      },
    });
  }, 40_000);

  it('applies through kexec and commit, streaming progress, and reports the new hash', async () => {
    await online();
    gateway.command(deviceId, 'tb-apply', 'apply', await applyParams(v2));
    const result = await gateway.waitFor(resultOf('tb-apply'), 60_000);
    expect(result).toMatchObject({
      status: 'succeeded',
      data: {
        rootPrefixHash: v2.rootPrefixHash,
        activeSlot: 'p.lxrootclone1',
        previousSlot: 'p.lxreadonly',
      },
    });
    const progress = gateway.framesOf('progress').filter((p) => p.commandId === 'tb-apply');
    expect(progress.some((p) => p.phase === 'downloading' && (p.bytesWritten ?? 0) > 0)).toBe(true);
    expect(progress.some((p) => p.phase === 'rebooting')).toBe(true);
    expect(await device.status()).toMatchObject({
      currentSlot: 'p.lxrootclone1',
      commitPending: false,
    });
  }, 70_000);

  it('reports failed on the old slot when the device is power cycled before the commit', async () => {
    await online();
    await setTestbedFaults(device.paths.root, { hangAfterKexec: true });
    const before = await device.status();
    gateway.command(deviceId, 'tb-hang', 'apply', {
      imageName: 'EOS.x86_64-AB-old',
      ...(await applyParams(v1)),
    });
    expect(await device.waitForBoot(before.bootCount + 1, { timeoutMs: 60_000 })).toMatchObject({
      phase: 'hung',
      commitPending: true,
    });
    await setTestbedFaults(device.paths.root, {});
    await device.powerCycle();
    expect(await gateway.waitFor(resultOf('tb-hang'), 30_000)).toMatchObject({
      status: 'failed',
      error: { code: 'rolled_back' },
      data: {
        activeSlot: 'p.lxrootclone1',
        previousSlot: 'p.lxrootclone1',
        rootPrefixHash: v2.rootPrefixHash,
      },
    });
  }, 90_000);

  it('registers and removes a flake with the real flake-ctl and reports it', async () => {
    await online();
    gateway.command(deviceId, 'tb-flake', 'flake.register', {
      engine: 'podman',
      container: 'registry.opensuse.org/home/eos/joe',
      // The testbed relocates the device into a directory: its /usr/share/flakes/bin is below it.
      app: path.join(device.paths.flakesBin, 'joe'),
      target: '/usr/bin/joe',
    });
    const registered = await gateway.waitFor(resultOf('tb-flake'), 30_000);
    expect(registered, registered.output).toMatchObject({ status: 'succeeded' });
    const withFlake = await gateway.waitFor(() =>
      gateway
        .framesOf('inventory')
        .find((f) => f.inventory.flakes.some((flake) => flake.name === 'joe')),
    );
    expect(withFlake.inventory.flakes).toContainEqual(
      expect.objectContaining({
        engine: 'podman',
        name: 'joe',
        container: 'registry.opensuse.org/home/eos/joe',
      }),
    );
    gateway.command(deviceId, 'tb-unflake', 'flake.remove', {
      engine: 'podman',
      app: path.join(device.paths.flakesBin, 'joe'),
    });
    expect(await gateway.waitFor(resultOf('tb-unflake'), 30_000)).toMatchObject({
      status: 'succeeded',
    });
    const frames = gateway.framesOf('inventory');
    expect(frames[frames.length - 1]?.inventory.flakes.some((flake) => flake.name === 'joe')).toBe(
      false,
    );
  }, 60_000);

  it('rolls back to the other slot', async () => {
    await online();
    gateway.command(deviceId, 'tb-rollback', 'rollback');
    expect(await gateway.waitFor(resultOf('tb-rollback'), 60_000)).toMatchObject({
      status: 'succeeded',
      data: { activeSlot: 'p.lxreadonly', previousSlot: 'p.lxrootclone1' },
    });
  }, 70_000);
});
