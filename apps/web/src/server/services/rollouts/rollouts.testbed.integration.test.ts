// Staged rollouts on EOS testbed devices, the whole chain: the bundled agent on each device, EOS's
// unmodified os-update (../shared/eos-reference), the real update server over OpenSSH, the
// gateway, and the pg-boss scheduler as the app runs it. A small pool of devices is booted once and
// reused: each case labels its own devices, and a rollout back to v1 (or a revert) returns them to
// the old image. What is asserted comes from the devices themselves (the root prefix hash of the
// slot they booted, their boot log) and from the database (commands per device, states, reasons).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildEosImage, type BuiltEosImage } from '@eos-fleet/image';
import { setTestbedFaults, type RunningTestbedDevice } from '@eos-fleet/image/testbed';
import { rootPrefixHash } from '@eos-fleet/shared';
import { TERMINAL_COMMAND_STATES } from '@eos-fleet/shared/domain';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  AGENT_DIR,
  FLEET_IMAGE_NAME,
  bootAgentDevice,
  startFleetUpdateServer,
  type FleetUpdateServer,
} from '../../cli/testbed-fleet';
import { createTestApp } from '../../testing/test-app';
import { eventually } from '../../testing/eventually';
import { createUpdateServer } from '../catalog/manage-update-servers';
import { pollUpdateServer } from '../catalog/poll-update-server';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import { acceptDevice, getDevice, updateDevice } from '../devices/manage-device';
import { createEnrollmentToken } from '../enrollment/enrollment-tokens';
import { tickRollout } from './rollout-scheduler';
import type { CreateRolloutInput } from './rollout-inputs';

const MiB = 1024 * 1024;
const APP_SECRET = 'rollout-testbed-app-secret-0123456789abcdef';
const SERVER_NAME = 'testbed';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Http = Awaited<ReturnType<TestApp['listen']>>;

interface PoolDevice {
  name: string;
  device: RunningTestbedDevice;
  deviceId: string;
}

describe('staged rollouts on testbed devices: the real agent, os-update and update server', () => {
  let work: string;
  let fleet: FleetUpdateServer;
  let v1: BuiltEosImage;
  let v2: BuiltEosImage;
  /** the database's owner (its close drops it); `app` is the instance serving now */
  let original: TestApp;
  let app: TestApp;
  let http: Http;
  let port: number;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;
  let updateServerId: string;
  const versionIds = { v1: '', v2: '' };
  let autoToken: string;
  const pool: PoolDevice[] = [];
  let small: PoolDevice;
  const booted: RunningTestbedDevice[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  const ctx = (): ServiceContext => ({ db: app.db, actor: SYSTEM_ACTOR });
  const caller = () => app.callerFor(operator);
  /** the rollout with its devices (a handful here: one page holds them) */
  const rolloutOf = async (rolloutId: string) => {
    const [rollout, devices] = await Promise.all([
      caller().rollouts.get({ rolloutId }),
      caller().rollouts.devices({ rolloutId, pageSize: 200 }),
    ]);
    return { ...rollout, devices: devices.rows };
  };
  const applies = (rolloutId: string) =>
    app.db.command.findMany({
      where: { rolloutId, kind: 'apply' },
      orderBy: { createdAt: 'asc' },
    });
  const device = (index: number): PoolDevice => {
    const found = pool[index];
    if (!found) throw new Error(`no device ${index + 1} in the pool`);
    return found;
  };

  /** A device flashed with `image` (default v1) whose agent enrols with `token`. */
  async function boot(name: string, token: string, image?: string): Promise<PoolDevice> {
    const running = await bootAgentDevice({
      dir: path.join(work, name),
      fleet,
      serverUrl: `ws://127.0.0.1:${port}/agent/v1`,
      enrollmentToken: token,
      bytesPerSecond: 64 * MiB,
      image,
    });
    booted.push(running);
    const { bootId } = await running.status();
    const row = await eventually(
      () => app.db.device.findFirst({ where: { bootId }, select: { id: true } }),
      (found) => found !== null,
      60_000,
    );
    return { name, device: running, deviceId: row?.id ?? '' };
  }

  /** What the device itself booted: the root prefix hash of the slot behind its /dev/root. */
  const bootedHash = (d: PoolDevice) => rootPrefixHash({ path: d.device.paths.rootDevice });

  /** Online, idle, and reporting `image`; the device's own slot agrees. */
  async function expectOn(devices: PoolDevice[], image: BuiltEosImage, timeoutMs = 60_000) {
    for (const d of devices) {
      await eventually(
        () => getDevice(ctx(), { deviceId: d.deviceId }),
        (row) => row.online && row.rootPrefixHash === image.rootPrefixHash && !row.commitPending,
        timeoutMs,
      );
      await eventually(
        () =>
          app.db.command.count({
            where: { deviceId: d.deviceId, state: { notIn: [...TERMINAL_COMMAND_STATES] } },
          }),
        (open) => open === 0,
        timeoutMs,
      );
      expect(await bootedHash(d), `${d.name} booted ${image.version}`).toBe(image.rootPrefixHash);
    }
  }

  async function label(devices: PoolDevice[], labels: Record<string, string>) {
    for (const d of devices) await updateDevice(ctx(), { deviceId: d.deviceId, labels });
  }

  /**
   * A rollout of `version`, aborted when the test ends (a failed case must not keep its devices
   * in an active rollout: the next cases would find them excluded).
   */
  async function create(
    input: Omit<CreateRolloutInput, 'imageVersionId'>,
    version: 'v1' | 'v2',
    finished: (fn: () => Promise<void>) => void = onTestFinished,
  ) {
    const created = await caller().rollouts.create({
      ...input,
      imageVersionId: versionIds[version],
    });
    finished(async () => {
      await caller()
        .rollouts.abort({ rolloutId: created.id })
        .catch(() => undefined);
    });
    return created;
  }

  const until = (
    rolloutId: string,
    accept: (r: Awaited<ReturnType<typeof rolloutOf>>) => boolean,
    timeoutMs = 120_000,
  ) => eventually(() => rolloutOf(rolloutId), accept, timeoutMs);

  /** the rollout-tick jobs pg-boss finished for a rollout since `since` (the scheduler looked) */
  async function ticksSince(rolloutId: string, since: Date) {
    const [row] = await app.db.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pgboss.job
      WHERE name = 'rollout-tick' AND state = 'completed'
        AND data->>'rolloutId' = ${rolloutId} AND completed_on > ${since}`;
    return row?.n ?? 0;
  }

  async function sha256OfFile(file: string) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'eos-fleet-rollouts-'));
    await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: AGENT_DIR });
    fleet = await startFleetUpdateServer(work, { rootMiB: 12 });
    ({ v1, v2 } = fleet);
    cleanups.push(() => fleet.updateServer.stop());

    original = app = await createTestApp();
    cleanups.push(() => original.close());
    http = await app.listen({ heartbeatMs: 1_000 });
    port = Number(new URL(http.baseUrl).port);
    operator = await app.addOperator('operator');

    // the update server as an operator registers it; its catalog polled once (the Refresh button)
    updateServerId = (
      await createUpdateServer(ctx(), APP_SECRET, {
        name: SERVER_NAME,
        sshTarget: 'ec2-user@127.0.0.1',
        sshPort: fleet.updateServer.sshPort,
        httpUrl: `http://127.0.0.1:${fleet.updateServer.httpPort}`,
        catalogToken: fleet.catalogToken,
      })
    ).id;
    const polled = await pollUpdateServer(app.db, updateServerId, {
      appSecret: APP_SECRET,
      wait: true,
    });
    expect(polled).toMatchObject({ outcome: 'polled', reachable: true });
    for (const [key, built] of [
      ['v1', v1],
      ['v2', v2],
    ] as const) {
      versionIds[key] = (
        await app.db.imageVersion.findFirstOrThrow({
          where: { rootPrefixHash: built.rootPrefixHash, image: { updateServerId } },
        })
      ).id;
    }

    autoToken = (await createEnrollmentToken(ctx(), { name: 'pool', autoAccept: true })).token;
    // the pool, and one device flashed with an image whose slots are a MiB smaller
    const smallImage = await buildEosImage({
      outPath: path.join(work, 'EOS-1.0.0-small.raw'),
      version: '1.0.0',
      sizes: { root: 11, uefi: 2, spare: 1 },
    });
    const names = ['d1', 'd2', 'd3', 'd4', 'd5'];
    const devices = await Promise.all([
      ...names.map((name) => boot(name, autoToken)),
      boot('small', autoToken, smallImage.path),
    ]);
    pool.push(...devices.slice(0, names.length));
    small = devices[names.length] as PoolDevice;
    for (const d of pool) await expectOn([d], v1);
    await eventually(
      () => getDevice(ctx(), { deviceId: small.deviceId }),
      (row) => row.online && row.slotSize === 11 * MiB,
    );
  }, 240_000);

  afterAll(async () => {
    for (const running of booted) await running.shutdown().catch(() => undefined);
    await http?.close().catch(() => undefined);
    if (app !== original) await app?.close().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  let threeBatches = '';

  it('a three-batch rollout completes: one apply per device, batch after batch, pinned content booted', async () => {
    const devices = [device(0), device(1), device(2)];
    await label([...devices, small], { case: 'three' });
    const input = {
      name: 'three batches',
      target: { labels: { case: 'three' } },
      batches: [{ count: 1, soakSeconds: 2 }, { count: 1 }, { percent: 100 }],
      failureThresholdCount: 1,
    };
    const preview = await caller().rollouts.preview({ ...input, imageVersionId: versionIds.v2 });
    expect(preview.batches.map((b) => b.devices)).toEqual([1, 1, 1]);
    const { id } = await create(input, 'v2');
    threeBatches = id;
    const done = await until(id, (r) => r.state === 'completed', 180_000);
    expect(done.batches.map((b) => [b.state, b.succeeded, b.failed, b.total])).toEqual([
      ['succeeded', 1, 0, 1],
      ['succeeded', 1, 0, 1],
      ['succeeded', 1, 0, 1],
    ]);
    const sent = await applies(id);
    expect(sent.map((c) => c.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(new Set(sent.map((c) => c.deviceId))).toEqual(new Set(devices.map((d) => d.deviceId)));
    expect(sent.map((c) => c.params)).toEqual(
      sent.map((): unknown =>
        expect.objectContaining({
          expectedRootPrefixHash: v2.rootPrefixHash,
          expectedRootSha256: v2.rootSha256,
          imageName: `${FLEET_IMAGE_NAME}@${v2.rootPrefixHash}`,
        }),
      ),
    );
    // each batch started only after the one before it had succeeded
    const batches = await app.db.rolloutBatch.findMany({
      where: { rolloutId: id },
      orderBy: { index: 'asc' },
    });
    for (let i = 1; i < batches.length; i++)
      expect(batches[i]?.startedAt?.getTime()).toBeGreaterThanOrEqual(
        batches[i - 1]?.completedAt?.getTime() ?? Infinity,
      );
    // the too-small device took no part
    expect(done.devices.find((d) => d.deviceId === small.deviceId)).toMatchObject({
      state: 'skipped',
      category: 'cannot_converge',
    });
    await expectOn(devices, v2);
    for (const d of devices)
      expect((await d.device.status()).currentSlot, d.name).toBe('p.lxrootclone1');
  }, 240_000);

  it('a device whose slot is too small is excluded by preflight, the sizes in words', async () => {
    await label([small], { case: 'small' });
    const input = {
      name: 'too small',
      target: { labels: { case: 'small' } },
      batches: [{ percent: 100 }],
    };
    const reason = 'the root partition (12.0 MiB) does not fit the slot (11.0 MiB)';
    const preview = await caller().rollouts.preview({ ...input, imageVersionId: versionIds.v2 });
    expect(preview.preflightFailures).toEqual([
      { deviceId: small.deviceId, device: expect.any(String), reason },
    ]);
    const { id } = await create(input, 'v2');
    const done = await until(id, (r) => r.state === 'completed');
    expect(done.devices).toEqual([
      expect.objectContaining({ state: 'skipped', category: 'cannot_converge', reason }),
    ]);
    expect(await app.db.command.count({ where: { deviceId: small.deviceId } })).toBe(0);
    const before = await bootedHash(small);
    expect((await small.device.status()).bootCount).toBe(1);
    expect(await bootedHash(small)).toBe(before);
    // it has served its purpose: fewer processes for the cases below
    await small.device.shutdown();
  }, 120_000);

  it('revert sends the devices of a completed rollout back to v1 with os-update --rollback', async () => {
    const devices = [device(0), device(1), device(2)];
    const boots = await Promise.all(devices.map(async (d) => (await d.device.status()).bootCount));
    const { devices: sent } = await caller().rollouts.revert({ rolloutId: threeBatches });
    expect(sent).toBe(3);
    const rollbacks = await eventually(
      () => app.db.command.findMany({ where: { rolloutId: threeBatches, kind: 'rollback' } }),
      (list) => list.length === 3 && list.every((c) => c.state === 'succeeded'),
      120_000,
    );
    expect(new Set(rollbacks.map((c) => c.deviceId))).toEqual(
      new Set(devices.map((d) => d.deviceId)),
    );
    await expectOn(devices, v1);
    for (const [i, d] of devices.entries()) {
      // a reboot into the old slot, no new image written (a kexec would say so)
      const log = (await d.device.bootLog()).slice(boots[i]);
      expect(log.map((b) => [b.kind, b.slot])).toEqual([['reboot', 'p.lxreadonly']]);
    }
    const after = await rolloutOf(threeBatches);
    expect(after.devices.filter((d) => d.deviceId !== small.deviceId).map((d) => d.state)).toEqual([
      'reverted',
      'reverted',
      'reverted',
    ]);
    // the rollout page says the revert took, from the rollback commands' outcome
    for (const d of after.devices.filter((d) => d.deviceId !== small.deviceId))
      expect(d.reason).toBe('back on its previous slot (rollback succeeded)');
    expect(await applies(threeBatches)).toHaveLength(3);
  }, 180_000);

  // These wait on the clock (a 60 s device timeout, a window opening): side by side, on devices
  // of their own.
  describe('cases that wait on the clock, side by side', { concurrent: true }, () => {
    it('a device that never returns after kexec is counted as failed by its per-device timeout', async ({
      expect,
      onTestFinished: finished,
    }) => {
      const d = device(4);
      await label([d], { case: 'hang' });
      await setTestbedFaults(d.device.paths.root, { hangAfterKexec: true });
      const before = await d.device.status();
      const { id } = await create(
        {
          name: 'never returns',
          target: { labels: { case: 'hang' } },
          batches: [{ percent: 100 }],
          deviceTimeoutSeconds: 60,
          failureThresholdCount: 1,
        },
        'v2',
        finished,
      );
      // it streams, writes, kexecs, and hangs before the new system's services start
      const hung = await d.device.waitForBoot(before.bootCount + 1, { timeoutMs: 90_000 });
      expect(hung.phase).toBe('hung');
      const paused = await until(id, (r) => r.state === 'paused', 150_000);
      expect(paused.stateReason).toMatch(/failure threshold reached: 1 of 1 devices failed/);
      expect(paused.devices[0]).toMatchObject({ state: 'timed_out', category: 'failed' });
      expect(paused.devices[0]?.reason).toMatch(/no outcome within the per-device timeout of 60 s/);
      expect(paused.thresholds.failed).toBe(1);
      const [apply] = await applies(id);
      const member = await app.db.rolloutDevice.findFirstOrThrow({ where: { rolloutId: id } });
      // the rollout's deadline decided, not the command's (that one is over an hour away)
      expect(member.updatedAt.getTime() - (apply?.createdAt.getTime() ?? 0)).toBeGreaterThan(
        60_000,
      );
      expect(TERMINAL_COMMAND_STATES as readonly string[]).not.toContain(
        (await app.db.command.findUniqueOrThrow({ where: { id: apply?.id } })).state,
      );

      // an operator power-cycles it: the uncommitted slot is gone, v1 is back
      await setTestbedFaults(d.device.paths.root, {});
      await d.device.powerCycle();
      const outcome = await eventually(
        () => app.db.command.findUniqueOrThrow({ where: { id: apply?.id } }),
        (c) => c.state === 'rolled_back',
        60_000,
      );
      expect(outcome.errorCode).toBe('rolled_back');
      await expectOn([d], v1);
      // the late result changes nothing: the device stays counted as timed out
      expect((await rolloutOf(id)).devices[0]?.state).toBe('timed_out');
      await caller().rollouts.abort({ rolloutId: id });
    }, 240_000);

    it('a maintenance window in Asia/Kolkata holds applies until it opens', async ({
      expect,
      onTestFinished: finished,
    }) => {
      const d = device(2);
      await label([d], { case: 'window' });
      // the next whole minute at least 25 s away, as Kolkata (UTC+05:30) reads it
      const opensAt = new Date(Math.ceil((Date.now() + 25_000) / 60_000) * 60_000);
      const [hour, minute] = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Asia/Kolkata',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })
        .format(opensAt)
        .split(':')
        .map(Number);
      const input = {
        name: 'windowed',
        target: { labels: { case: 'window' } },
        batches: [{ percent: 100 }],
        maintenanceWindow: {
          cron: `${minute} ${hour} * * *`,
          timezone: 'Asia/Kolkata',
          durationMinutes: 5,
        },
      };
      const preview = await caller().rollouts.preview({ ...input, imageVersionId: versionIds.v2 });
      expect(preview.windowOpen).toBe(false);
      expect(preview.nextWindowOpening?.getTime()).toBe(opensAt.getTime());
      const { id } = await create(input, 'v2', finished);
      const held = await until(id, (r) =>
        /outside the maintenance window/.test(r.devices[0]?.reason ?? ''),
      );
      expect(held.devices[0]).toMatchObject({ state: 'scheduled', category: 'waiting' });
      // the reason names the opening as the window's zone reads it
      const local = `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
      expect(held.devices[0]?.reason).toContain(`${local} Asia/Kolkata`);
      expect(await applies(id)).toHaveLength(0);

      const done = await until(id, (r) => r.state === 'completed', 150_000);
      expect(done.devices[0]?.state).toBe('succeeded');
      const sent = await applies(id);
      expect(sent).toHaveLength(1);
      expect(sent[0]?.createdAt.getTime()).toBeGreaterThanOrEqual(opensAt.getTime());
      await expectOn([d], v2);
    }, 240_000);

    it('a failing canary batch pauses the rollout by threshold; the next batch gets nothing', async ({
      expect,
      onTestFinished: finished,
    }) => {
      const canary = device(3);
      const rest = [device(0), device(1)];
      await label([canary], { case: 'canary', canary: 'yes' });
      await label(rest, { case: 'canary', canary: 'no' });
      // the canary's network drops every image stream after 1 MiB
      await setTestbedFaults(canary.device.paths.root, { cutStream: { bytes: MiB } });
      const { id } = await create(
        {
          name: 'bad canary',
          target: { labels: { case: 'canary' } },
          batches: [{ count: 1, selector: { labels: { canary: 'yes' } } }, { percent: 100 }],
          failureThresholdCount: 1,
        },
        'v2',
        finished,
      );
      const paused = await until(id, (r) => r.state === 'paused');
      expect(paused.stateReason).toMatch(/failure threshold reached: 1 of 1 devices failed/);
      expect(paused.batches[0]).toMatchObject({ state: 'running', failed: 1, succeeded: 0 });
      expect(paused.batches[1]).toMatchObject({ state: 'pending', waiting: 2, inFlight: 0 });
      const canaryView = paused.devices.find((d) => d.deviceId === canary.deviceId);
      expect(canaryView).toMatchObject({ state: 'failed', category: 'failed' });
      expect(canaryView?.reason).toMatch(/^apply failed: /);
      for (const other of paused.devices.filter((d) => d.deviceId !== canary.deviceId))
        expect(other.reason).toMatch(/the rollout is paused: failure threshold reached/);
      const sent = await applies(id);
      expect(sent.map((c) => [c.deviceId, c.state])).toEqual([[canary.deviceId, 'failed']]);
      // the fault really hit the canary's streams, and nothing was booted
      expect(await readFile(canary.device.paths.networkLog, 'utf8')).toMatch(/cut after/);
      await setTestbedFaults(canary.device.paths.root, {});
      await caller().rollouts.abort({ rolloutId: id });
      await expectOn([canary, ...rest], v1);
      expect((await canary.device.status()).bootCount).toBe(1);
    }, 180_000);
  });

  it('a manual gate holds the next batch until an operator approves it', async () => {
    const devices = [device(0), device(1)];
    await label(devices, { case: 'gate' });
    const { id } = await create(
      {
        name: 'gated',
        target: { labels: { case: 'gate' } },
        batches: [{ count: 1 }, { count: 1, gate: 'manual' }],
      },
      'v2',
    );
    const waiting = await until(id, (r) => r.batches[1]?.state === 'awaiting_approval');
    expect(waiting.batches[0]?.state).toBe('succeeded');
    const [first] = await applies(id);
    const gated = devices.find((d) => d.deviceId !== first?.deviceId);
    if (!gated) throw new Error('the first apply went to neither device');
    // the scheduler keeps looking and keeps holding
    const since = new Date();
    await eventually(
      () => ticksSince(id, since),
      (n) => n >= 3,
    );
    expect((await rolloutOf(id)).batches[1]?.state).toBe('awaiting_approval');
    expect(await applies(id)).toHaveLength(1);
    expect(await bootedHash(gated)).toBe(v1.rootPrefixHash);

    await caller().rollouts.approveNextBatch({ rolloutId: id });
    await until(id, (r) => r.state === 'completed');
    const sent = await applies(id);
    expect(sent.map((c) => c.state)).toEqual(['succeeded', 'succeeded']);
    expect(sent[1]?.deviceId).toBe(gated.deviceId);
    expect(
      (await app.db.auditEvent.findMany({ where: { targetId: id } })).map((a) => a.action),
    ).toContain('rollout.batch_approved');
    await expectOn(devices, v2);
  }, 180_000);

  it('a disruption budget of one per site: never two of a site applying, the sites side by side', async () => {
    const north = [device(0), device(1)];
    const south = device(2);
    await label(north, { case: 'budget', site: 'north' });
    await label([south], { case: 'budget', site: 'south' });
    // back to v1 (all three run v2 now)
    const { id } = await create(
      {
        name: 'budgeted',
        target: { labels: { case: 'budget' } },
        batches: [{ percent: 100 }],
        disruptionBudget: { label: 'site', max: 1 },
      },
      'v1',
    );
    const held = await until(
      id,
      (r) =>
        r.devices.some(
          (d) => d.reason === 'disruption budget: 1 of site=north already unavailable',
        ),
      60_000,
    );
    expect(held.devices.filter((d) => d.state === 'applying')).toHaveLength(2);
    await until(id, (r) => r.state === 'completed', 180_000);
    const sent = await applies(id);
    expect(sent).toHaveLength(3);
    const of = (d: PoolDevice) => {
      const command = sent.find((c) => c.deviceId === d.deviceId);
      if (!command?.completedAt) throw new Error(`${d.name}: no finished apply`);
      return { from: command.createdAt.getTime(), to: command.completedAt.getTime() };
    };
    const [a, b] = north.map(of).sort((x, y) => x.from - y.from);
    const s = of(south);
    // the second northern device was sent its apply only after the first had finished ...
    expect(b?.from).toBeGreaterThanOrEqual(a?.to ?? Infinity);
    // ... while the southern one applied alongside the first
    expect(s.from < (a?.to ?? 0) && (a?.from ?? Infinity) < s.to).toBe(true);
    await expectOn([...north, south], v1);
  }, 240_000);

  it('the update server replaces the image mid-rollout: the devices left get the pinned bytes', async () => {
    const devices = [device(0), device(1), device(2)];
    await label(devices, { case: 'replace' });
    const { id } = await create(
      {
        name: 'image replaced',
        target: { labels: { case: 'replace' } },
        batches: [{ count: 1 }, { percent: 100, gate: 'manual' }],
      },
      'v2',
    );
    await until(id, (r) => r.batches[1]?.state === 'awaiting_approval');

    // upstream publishes other bytes under the same name; the server fetches, the dashboard polls
    const v3 = await buildEosImage({
      outPath: path.join(work, 'EOS-3.0.0.raw'),
      version: '3.0.0',
      sizes: { root: 12, uefi: 2, spare: 1 },
    });
    await copyFile(v3.path, v2.path);
    if (!('fetchNow' in fleet.updateServer)) throw new Error('the update server runs in-process');
    const fetched = await fleet.updateServer.fetchNow();
    expect(fetched.map((f) => f.outcome)).toContain('published');
    await pollUpdateServer(app.db, updateServerId, { appSecret: APP_SECRET, wait: true });
    const versions = await app.db.imageVersion.findMany({
      where: { image: { name: FLEET_IMAGE_NAME, updateServerId } },
    });
    expect(versions.find((v) => v.rootPrefixHash === v3.rootPrefixHash)).toMatchObject({
      current: true,
    });
    expect(versions.find((v) => v.id === versionIds.v2)).toMatchObject({
      current: false,
      available: true,
    });

    await caller().rollouts.approveNextBatch({ rolloutId: id });
    const done = await until(id, (r) => r.state === 'completed', 180_000);
    expect(done.devices.map((d) => d.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const sent = await applies(id);
    expect(sent).toHaveLength(3);
    for (const command of sent)
      expect(command.params).toMatchObject({
        imageName: `${FLEET_IMAGE_NAME}@${v2.rootPrefixHash}`,
        expectedRootSha256: v2.rootSha256,
      });
    await expectOn(devices, v2);
    for (const d of devices) {
      // the whole booted slot is v2's, byte for byte: never the new image
      const slot = await sha256OfFile(d.device.paths.rootDevice);
      expect(slot, d.name).toBe(v2.rootSha256);
      expect(slot).not.toBe(v3.rootSha256);
    }
  }, 240_000);

  it('a server restart mid-rollout: the new process finishes it, one apply per device', async () => {
    const devices = [device(0), device(1), device(2)];
    await label(devices, { case: 'restart' });
    const { id } = await create(
      {
        name: 'restarted',
        target: { labels: { case: 'restart' } },
        batches: [{ count: 1 }, { percent: 100 }],
      },
      'v1',
    );
    // the first apply is on its way (the agent took it), then the server goes down
    const [first] = await eventually(
      () => applies(id),
      (list) => list.length === 1 && list[0]?.state !== 'queued',
    );
    await http.close();
    await app.db.$disconnect();
    const downAt = new Date();
    app = await createTestApp({ databaseUrl: original.url });
    http = await app.listen({ heartbeatMs: 1_000, port });

    const done = await until(id, (r) => r.state === 'completed', 180_000);
    expect(done.batches.map((b) => b.succeeded)).toEqual([1, 2]);
    const sent = await applies(id);
    expect(sent.map((c) => c.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(new Set(sent.map((c) => c.deviceId)).size).toBe(3);
    // the first one finished while (or after) the old process was gone
    const firstDone = sent.find((c) => c.id === first?.id);
    expect(firstDone?.completedAt?.getTime()).toBeGreaterThan(downAt.getTime());
    await expectOn(devices, v1);
  }, 240_000);

  it('two server processes ticking at once send no apply twice', async () => {
    const devices = [device(0), device(1), device(2), device(4)];
    await label(devices, { case: 'twin' });
    const second = await createTestApp({ databaseUrl: original.url });
    const secondHttp = await second.listen({ heartbeatMs: 1_000 });
    try {
      const { id } = await create(
        {
          name: 'two processes',
          target: { labels: { case: 'twin' } },
          batches: [{ count: 2 }, { percent: 100 }],
        },
        'v2',
      );
      // both job runners tick it; on top, each process's client ticks it as fast as it can
      const outcomes: string[] = [];
      let sentByHand = 0;
      const deadline = Date.now() + 180_000;
      while (Date.now() < deadline) {
        const round = await Promise.all([tickRollout(app.db, id), tickRollout(second.db, id)]);
        for (const o of round) {
          outcomes.push(o.outcome);
          sentByHand += o.sent;
        }
        const { state } = await app.db.rollout.findUniqueOrThrow({ where: { id } });
        if (state !== 'running' && state !== 'scheduled') break;
      }
      expect((await rolloutOf(id)).state).toBe('completed');
      const sent = await applies(id);
      const perDevice = new Map<string, number>();
      for (const c of sent) perDevice.set(c.deviceId, (perDevice.get(c.deviceId) ?? 0) + 1);
      expect([...perDevice.values()]).toEqual([1, 1, 1, 1]);
      expect(sent.every((c) => c.state === 'succeeded')).toBe(true);
      expect(sentByHand).toBeLessThanOrEqual(4);
      expect(outcomes.length).toBeGreaterThan(2);
      await expectOn(devices, v2);
    } finally {
      await secondHttp.close();
      await second.close();
    }
  }, 240_000);

  it('dynamic mode picks up a device enrolled (and accepted) after the rollout started', async () => {
    const first = device(3);
    await label([first], { case: 'dynamic' });
    const { id } = await create(
      {
        name: 'dynamic',
        target: { labels: { case: 'dynamic' } },
        dynamic: true,
        batches: [{ count: 1 }, { count: 1, gate: 'manual' }],
      },
      'v2',
    );
    await until(id, (r) => r.batches[0]?.state === 'succeeded');

    // a device comes up later; its token labels it into the target, an operator accepts it
    const pendingToken = (
      await createEnrollmentToken(ctx(), { name: 'later', labels: { case: 'dynamic' } })
    ).token;
    const late = await boot('late', pendingToken);
    await eventually(
      () => getDevice(ctx(), { deviceId: late.deviceId }),
      (row) => row.online && row.status === 'pending' && row.slotSize !== null,
    );
    // the scheduler looks at it while it is still pending
    const since = new Date();
    await eventually(
      () => ticksSince(id, since),
      (n) => n >= 2,
    );
    await acceptDevice(ctx(), { deviceId: late.deviceId });
    const joined = await until(
      id,
      (r) => r.devices.some((d) => d.deviceId === late.deviceId && d.batch === 2),
      60_000,
    );
    expect(joined.events.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/joined the target/)]),
    );
    await caller().rollouts.approveNextBatch({ rolloutId: id });
    const done = await until(id, (r) => r.state === 'completed');
    expect(done.devices.find((d) => d.deviceId === late.deviceId)).toMatchObject({
      state: 'succeeded',
      batch: 2,
    });
    const sent = await applies(id);
    expect(sent.map((c) => c.deviceId)).toEqual([first.deviceId, late.deviceId]);
    await expectOn([first, late], v2);
  }, 240_000);
});
