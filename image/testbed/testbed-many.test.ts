// Several devices from one (xz-compressed) image on one machine: each has its own boots, /run and
// services.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildEosImage } from '../src';
import { createTestbedDevice } from './create-device';
import { bootTestbedDevice, type RunningTestbedDevice } from './testbed-device';
import { run, writeFleetKey } from './test-helpers';

const COUNT = 4;
let work: string;
let devices: RunningTestbedDevice[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'testbed-many-'));
  // xz-compressed like the published EOS.*.raw.xz, under a name without .xz.
  const image = await buildEosImage({
    outPath: path.join(work, 'EOS.raw'),
    version: '1.0.0',
    sizes: { root: 2, uefi: 1, spare: 1 },
    xz: true,
  });
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  const dirs = Array.from({ length: COUNT }, (_, index) => path.join(work, `device-${index}`));
  await Promise.all(
    dirs.map((dir) =>
      createTestbedDevice({
        dir,
        image: image.path,
        updateServer: { host: '127.0.0.1', sshPort: 1, user: 'ec2-user' },
        fleetKeyPath: key.privatePath,
        name: 'EOS.x86_64-AB',
        services: [
          {
            name: 'agent',
            command: [
              '/bin/sh',
              '-c',
              'echo "$EOS_TESTBED_DIR" > "$EOS_TESTBED_DIR/run/whoami"; exec sleep 600',
            ],
          },
        ],
      }),
    ),
  );
  devices = await Promise.all(dirs.map((dir) => bootTestbedDevice(dir)));
}, 120_000);

afterAll(async () => {
  await Promise.all(devices.map((device) => device.shutdown()));
  await rm(work, { recursive: true, force: true });
});

it('runs several devices side by side without sharing anything', async () => {
  const statuses = await Promise.all(devices.map((device) => device.status()));
  expect(new Set(statuses.map((status) => status.bootId)).size).toBe(COUNT);
  expect(new Set(statuses.map((status) => status.supervisorPid)).size).toBe(COUNT);
  for (const device of devices) {
    const deadline = Date.now() + 10_000;
    let whoami = '';
    while (whoami === '' && Date.now() < deadline) {
      whoami = await readFile(path.join(device.dir, 'run', 'whoami'), 'utf8').catch(() => '');
      if (whoami === '') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(whoami.trim()).toBe(device.paths.root);
  }

  const [first, ...others] = devices;
  if (!first) throw new Error('no device');
  expect((await run(first.paths.fleet, ['--getkey'])).code).toBe(0);
  await first.powerCycle();
  expect((await first.status()).bootCount).toBe(2);
  for (const other of others) {
    expect(await other.status()).toMatchObject({ bootCount: 1, phase: 'running' });
  }
  // The other devices' /run was not touched by the first one's boot, nor did they get its key.
  for (const other of others) {
    await expect(readFile(other.paths.fleetKey)).rejects.toThrow();
  }
}, 60_000);
