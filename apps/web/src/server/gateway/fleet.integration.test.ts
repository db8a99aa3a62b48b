// The whole chain, as in the field: the bundled agent (apps/agent) runs as a service of EOS
// testbed devices (image/testbed: os-update, fleet, flake-ctl, kexec, commit, power cycle), talks
// to this server's gateway, and updates from the real update server (apps/update-server) over
// SSH. Operators act through the services the dashboard calls.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BuiltEosImage } from '@eos-fleet/image';
import { setTestbedFaults, type RunningTestbedDevice } from '@eos-fleet/image/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { acceptDevice, getDevice, rejectDevice } from '../services/devices/manage-device';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { createTestApp } from '../testing/test-app';
import {
  AGENT_DIR,
  FLEET_IMAGE_NAME,
  bootAgentDevice,
  startFleetUpdateServer,
  type FleetUpdateServer,
} from '../cli/testbed-fleet';
import { eventually } from '../testing/eventually';

const MiB = 1024 * 1024;

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

describe('the fleet: real agents on EOS testbed devices, the real gateway and update server', () => {
  let work: string;
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let port: number;
  let fleet: FleetUpdateServer;
  let v1: BuiltEosImage;
  let v2: BuiltEosImage;
  let ctx: ServiceContext;
  const devices: RunningTestbedDevice[] = [];
  let enrollmentToken = '';
  const cleanups: (() => Promise<unknown>)[] = [];

  /** A device booted from v1 whose agent enrolls with the test's token; resolves with its device id. */
  async function bootDevice(
    name: string,
  ): Promise<{ device: RunningTestbedDevice; deviceId: string }> {
    const device = await bootAgentDevice({
      dir: path.join(work, name),
      fleet,
      serverUrl: `ws://127.0.0.1:${port}/agent/v1`,
      enrollmentToken,
      bytesPerSecond: 32 * MiB,
    });
    devices.push(device);
    // the agent reports the boot id of the device it runs on: that is how we know which row is it
    const { bootId } = await device.status();
    const enrolled = await eventually(
      () => app.db.device.findFirst({ where: { bootId }, select: { id: true } }),
      (row) => row !== null,
    );
    return { device, deviceId: enrolled?.id ?? '' };
  }

  const commandState = (id: string) =>
    app.db.command.findUniqueOrThrow({
      where: { id },
      include: { events: { orderBy: { id: 'asc' } } },
    });
  const finished = (row: { state: string }) =>
    ['succeeded', 'failed', 'timed_out', 'rolled_back', 'cancelled'].includes(row.state);
  const online = (deviceId: string) =>
    eventually(
      () => getDevice(ctx, { deviceId }),
      (d) => d.online,
      30_000,
    );

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'eos-fleet-fleet-'));
    await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: AGENT_DIR });
    fleet = await startFleetUpdateServer(work, { rootMiB: 12 });
    ({ v1, v2 } = fleet);
    cleanups.push(() => fleet.updateServer.stop());

    app = await createTestApp();
    cleanups.push(() => app.close());
    http = await app.listen({ heartbeatMs: 1_000 });
    port = Number(new URL(http.baseUrl).port);
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    enrollmentToken = (
      await createEnrollmentToken(ctx, { name: 'testbed', labels: { ring: 'canary' } })
    ).token;
  }, 180_000);

  afterAll(async () => {
    for (const device of devices) await device.shutdown().catch(() => undefined);
    await http.close().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  });

  let deviceId = '';
  let device: RunningTestbedDevice;

  it('enrols the agents as pending; an operator accepts one and rejects the other', async () => {
    ({ device, deviceId } = await bootDevice('device-a'));
    const other = await bootDevice('device-b');
    expect((await getDevice(ctx, { deviceId })).status).toBe('pending');

    await acceptDevice(ctx, { deviceId });
    await rejectDevice(ctx, { deviceId: other.deviceId });
    const accepted = await online(deviceId);
    expect(accepted).toMatchObject({
      status: 'accepted',
      rootPrefixHash: v1.rootPrefixHash,
      activeSlot: 'p.lxreadonly',
      imageName: 'EOS.x86_64-AB',
      labels: { ring: 'canary' },
    });
    const rejected = await eventually(
      () => getDevice(ctx, { deviceId: other.deviceId }),
      (d) => !d.online,
      30_000,
    );
    expect(rejected.status).toBe('rejected');
  }, 120_000);

  it('checks for an update', async () => {
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    const done = await eventually(() => commandState(command.id), finished);
    expect(done).toMatchObject({
      state: 'succeeded',
      result: {
        data: {
          currentRootPrefixHash: v1.rootPrefixHash,
          updateRootPrefixHash: v2.rootPrefixHash,
          updateAvailable: true,
        },
      },
    });
  }, 60_000);

  it('applies an update through kexec and commit, with live progress, and reports the new hash', async () => {
    const command = await createCommand(ctx, {
      deviceId,
      kind: 'apply',
      params: {
        expectedRootPrefixHash: v2.rootPrefixHash,
        expectedRootSha256: v2.rootSha256,
        expectedRootBytes: v2.root.size,
      },
    });
    const done = await eventually(() => commandState(command.id), finished, 90_000);
    expect(done.state, JSON.stringify(done.result)).toBe('succeeded');
    const states = done.events.map((event) => event.state).filter(Boolean);
    // ('rebooting' is reported too, but kexec may kill the agent before that frame leaves it)
    expect(states).toEqual(
      expect.arrayContaining(['queued', 'delivered', 'downloading', 'succeeded']),
    );
    expect(
      done.events.some(
        (event) => (event.data as { bytesWritten?: number } | null)?.bytesWritten !== undefined,
      ),
    ).toBe(true);
    const updated = await eventually(
      () => getDevice(ctx, { deviceId }),
      (d) => d.rootPrefixHash === v2.rootPrefixHash && d.online,
    );
    expect(updated).toMatchObject({ activeSlot: 'p.lxrootclone1', commitPending: false });
  }, 120_000);

  it('reports a power cycle before the commit as rolled back, on the old slot', async () => {
    await online(deviceId);
    await setTestbedFaults(device.paths.root, { hangAfterKexec: true });
    const before = await device.status();
    const command = await createCommand(ctx, {
      deviceId,
      kind: 'apply',
      params: {
        imageName: `${FLEET_IMAGE_NAME}-1.0`,
        expectedRootPrefixHash: v1.rootPrefixHash,
        expectedRootSha256: v1.rootSha256,
        expectedRootBytes: v1.root.size,
      },
    });
    await device.waitForBoot(before.bootCount + 1, { timeoutMs: 60_000 });
    await setTestbedFaults(device.paths.root, {});
    await device.powerCycle();
    const done = await eventually(() => commandState(command.id), finished, 60_000);
    expect(done).toMatchObject({ state: 'rolled_back', errorCode: 'rolled_back' });
    expect(
      await eventually(
        () => getDevice(ctx, { deviceId }),
        (d) => d.online,
      ),
    ).toMatchObject({ activeSlot: 'p.lxrootclone1', rootPrefixHash: v2.rootPrefixHash });
  }, 120_000);

  it('registers and removes a flake, and the inventory follows', async () => {
    await online(deviceId);
    const app_ = path.join(device.paths.flakesBin, 'joe');
    const register = await createCommand(ctx, {
      deviceId,
      kind: 'flake.register',
      params: {
        engine: 'podman',
        container: 'registry.opensuse.org/home/eos/joe',
        app: app_,
        target: '/usr/bin/joe',
      },
    });
    expect((await eventually(() => commandState(register.id), finished)).state).toBe('succeeded');
    await eventually(
      () => getDevice(ctx, { deviceId }),
      (d) => d.flakes.some((flake) => flake.name === 'joe'),
    );

    // delivered again (as after a lost ack): answered from the agent's journal, not run twice,
    // which flake-ctl would refuse ("App path ... already exists")
    await app.db.command.update({
      where: { id: register.id },
      data: { state: 'delivered', ackedAt: null, completedAt: null },
    });
    await http.close();
    http = await app.listen({ heartbeatMs: 1_000, port });
    const again = await eventually(
      () => commandState(register.id),
      (row) => row.state === 'succeeded' && row.sendCount >= 2,
      60_000,
    );
    expect(again.errorCode).toBeNull();

    const remove = await createCommand(ctx, {
      deviceId,
      kind: 'flake.remove',
      params: { engine: 'podman', app: app_ },
    });
    expect((await eventually(() => commandState(remove.id), finished)).state).toBe('succeeded');
    await eventually(
      () => getDevice(ctx, { deviceId }),
      (d) => !d.flakes.some((flake) => flake.name === 'joe'),
    );
  }, 120_000);

  it('rolls back to the other slot', async () => {
    await online(deviceId);
    const command = await createCommand(ctx, { deviceId, kind: 'rollback' });
    const done = await eventually(() => commandState(command.id), finished, 90_000);
    expect(done.state).toBe('succeeded');
    expect(
      await eventually(
        () => getDevice(ctx, { deviceId }),
        (d) => d.online && d.activeSlot === 'p.lxreadonly',
      ),
    ).toMatchObject({ rootPrefixHash: v1.rootPrefixHash });
  }, 120_000);
});
