// The Overview's numbers against real PostgreSQL: each counter is the size of its Devices table
// filter (packages/shared/src/device-filter.ts), checked both against hand-counted seeds and against
// the contract's definitions written out in TypeScript over the same rows (isOnline,
// resolveDeviceVersions); the versions per image name; outcomes per UTC day; the online sampler.
import { createPrismaClient, type Db } from '@eos-fleet/db';
import type { UpdateState } from '@eos-fleet/shared/device-filter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createTestApp } from '../../testing/test-app';
import { eventually } from '../../testing/eventually';
import { startOnlineSampler } from '../../jobs/online-sampler';
import { resolveDeviceVersions } from '../catalog/resolve-device-versions';
import { isOnline } from '../devices/list-devices';
import { getFleetOverview } from './get-fleet-overview';
import { updateStateOf } from '../commands/command-lifecycle';
import { UPDATE_IN_PROGRESS_STATES } from './fleet-counters';
import { getUpdateOutcomesPerDay } from './update-outcomes';
import { getOnlineHistory, pruneOnlineSamples, sampleOnlineDevices } from './online-samples';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type CommandState = Parameters<Db['command']['create']>[0]['data']['state'];

const MINUTE = 60_000;
const hash = (c: string) => c.repeat(40);
let keys = 0;

async function addDevice(
  db: Db,
  name: string,
  fields: {
    status?: 'pending' | 'accepted' | 'rejected' | 'decommissioned';
    imageName?: string | null;
    rootPrefixHash?: string | null;
    /** presence: online flag and how long ago it was refreshed */
    presence?: { online: boolean; agoMs: number };
  } = {},
) {
  const device = await db.device.create({
    data: {
      name,
      publicKey: `key-${name}-${++keys}`,
      status: fields.status ?? 'accepted',
      imageName: fields.imageName ?? null,
      rootPrefixHash: fields.rootPrefixHash ?? null,
    },
  });
  if (fields.presence)
    await db.devicePresence.create({
      data: {
        deviceId: device.id,
        online: fields.presence.online,
        lastSeenAt: new Date(Date.now() - fields.presence.agoMs),
      },
    });
  return device;
}

/** Commands oldest first: each one a second newer than the one before. */
async function addCommands(
  db: Db,
  deviceId: string,
  commands: { kind: 'apply' | 'rollback' | 'check'; state: CommandState; deadlineInMs?: number }[],
) {
  const base = Date.now() - 3600_000;
  let newestUpdate: { id: string; state: CommandState; deadlineAt: Date } | undefined;
  for (const [i, command] of commands.entries()) {
    const row = await db.command.create({
      data: {
        deviceId,
        kind: command.kind,
        state: command.state,
        createdAt: new Date(base + i * 1000),
        deadlineAt: new Date(Date.now() + (command.deadlineInMs ?? 3600_000)),
      },
    });
    if (command.kind !== 'check') newestUpdate = row;
  }
  // what the command lifecycle keeps on the device with each change (command-lifecycle.ts)
  if (newestUpdate?.state)
    await db.device.update({
      where: { id: deviceId },
      data: {
        updateCommandId: newestUpdate.id,
        updateState: updateStateOf(newestUpdate.state),
        updateDeadlineAt: newestUpdate.deadlineAt,
      },
    });
}

/** The contract's update state, written out in TypeScript. */
function contractUpdateState(
  commands: { kind: string; state: string; createdAt: Date; deadlineAt: Date; id: string }[],
): UpdateState {
  const newest = commands
    .filter((c) => c.kind === 'apply' || c.kind === 'rollback')
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))[0];
  if (!newest) return 'none';
  if ((UPDATE_IN_PROGRESS_STATES as readonly string[]).includes(newest.state))
    return newest.deadlineAt.getTime() <= Date.now() ? 'stuck' : 'in_progress';
  if (newest.state === 'timed_out') return 'stuck';
  if (newest.state === 'failed' || newest.state === 'rolled_back') return 'failed';
  return newest.state === 'succeeded' ? 'succeeded' : 'cancelled';
}

describe('the Overview counters', () => {
  let app: TestApp;
  let versionIds: { v1: string; v2: string; v3: string };

  beforeAll(async () => {
    app = await createTestApp();
    const db = app.db;
    const server = await db.updateServer.create({
      data: { name: 'main', sshTarget: 'eos@update', httpUrl: 'http://update', reachable: true },
    });
    await db.updateServer.create({
      data: { name: 'down', sshTarget: 'eos@down', httpUrl: 'http://down', reachable: false },
    });
    const fetchFailed = await db.updateServer.create({
      data: { name: 'half', sshTarget: 'eos@half', httpUrl: 'http://half', reachable: true },
    });
    await db.image.create({
      data: { updateServerId: fetchFailed.id, name: 'EOS.half', fetchStatus: 'error' },
    });
    const ab = await db.image.create({
      data: { updateServerId: server.id, name: 'EOS.x86_64-AB' },
    });
    const arm = await db.image.create({ data: { updateServerId: server.id, name: 'EOS.arm' } });
    const version = (imageId: string, h: string, label: string, recommended = false) =>
      db.imageVersion.create({
        data: {
          imageId,
          rootPrefixHash: h,
          imageSha1: hash('f'),
          label,
          recommended,
          rootPartitionSize: 1024n,
        },
      });
    versionIds = {
      v1: (await version(ab.id, hash('a'), '1.0.0')).id,
      v2: (await version(ab.id, hash('b'), '2.0.0', true)).id,
      v3: (await version(arm.id, hash('c'), '0.9')).id,
    };

    const AB = 'EOS.x86_64-AB';
    const fresh = { online: true, agoMs: 5_000 };
    const d1 = await addDevice(db, 'd1', {
      imageName: AB,
      rootPrefixHash: hash('a'),
      presence: fresh,
    });
    // says online, but its gateway stopped refreshing two minutes ago: offline
    const d2 = await addDevice(db, 'd2', {
      imageName: AB,
      rootPrefixHash: hash('b'),
      presence: { online: true, agoMs: 2 * MINUTE },
    });
    const d3 = await addDevice(db, 'd3', { imageName: AB });
    const d4 = await addDevice(db, 'd4', {
      status: 'pending',
      imageName: AB,
      rootPrefixHash: hash('9'),
      presence: { online: false, agoMs: 5_000 },
    });
    const d5 = await addDevice(db, 'd5', {
      status: 'decommissioned',
      imageName: AB,
      rootPrefixHash: hash('a'),
      presence: fresh,
    });
    // no image name reported: the catalog's name for its hash (EOS.x86_64-AB) decides
    const d6 = await addDevice(db, 'd6', {
      status: 'rejected',
      rootPrefixHash: hash('a'),
      presence: fresh,
    });
    const d7 = await addDevice(db, 'd7', { imageName: 'EOS.arm', rootPrefixHash: hash('c') });
    const d8 = await addDevice(db, 'd8', { imageName: AB, rootPrefixHash: hash('b') });
    const d9 = await addDevice(db, 'd9', { imageName: AB, rootPrefixHash: hash('b') });

    await addCommands(db, d1.id, [
      { kind: 'apply', state: 'failed' },
      { kind: 'apply', state: 'succeeded' },
    ]);
    // a newer check does not change the update state
    await addCommands(db, d2.id, [
      { kind: 'apply', state: 'queued' },
      { kind: 'check', state: 'failed' },
    ]);
    await addCommands(db, d3.id, [{ kind: 'apply', state: 'downloading', deadlineInMs: -MINUTE }]);
    await addCommands(db, d4.id, [{ kind: 'apply', state: 'timed_out' }]);
    await addCommands(db, d5.id, [{ kind: 'apply', state: 'failed' }]);
    await addCommands(db, d6.id, [{ kind: 'rollback', state: 'rolled_back' }]);
    await addCommands(db, d7.id, [
      { kind: 'apply', state: 'failed' },
      { kind: 'rollback', state: 'succeeded' },
    ]);
    await addCommands(db, d8.id, [{ kind: 'apply', state: 'rolled_back' }]);
    await addCommands(db, d9.id, [{ kind: 'apply', state: 'cancelled' }]);
  });
  afterAll(() => app.close());

  it('counts each filter as hand-counted on the seeds', async () => {
    const { counters } = await getFleetOverview({ db: app.db });
    expect(counters).toEqual({
      devices: 8,
      online: 2,
      offline: { filter: { online: false }, count: 6 },
      pending: { filter: { status: 'pending' }, count: 1 },
      outOfDate: { filter: { outOfDate: true }, count: 3 },
      failedUpdates: { filter: { updateState: 'failed' }, count: 2 },
      stuckUpdates: { filter: { updateState: 'stuck' }, count: 2 },
      updatesInProgress: { filter: { updateState: 'in_progress' }, count: 1 },
      updateServersWithErrors: 2,
    });
  });

  it('agrees with the contract written out in TypeScript over the same rows', async () => {
    const devices = await app.db.device.findMany({
      where: { status: { not: 'decommissioned' } },
      include: { presence: true, commands: true },
    });
    const versions = await resolveDeviceVersions({ db: app.db }, devices);
    const states = devices.map((d) => contractUpdateState(d.commands));
    const count = (predicate: (i: number) => boolean) =>
      devices.filter((_, i) => predicate(i)).length;
    const { counters } = await getFleetOverview({ db: app.db });
    expect(counters.offline.count).toBe(count((i) => !isOnline(devices[i]?.presence)));
    expect(counters.online).toBe(count((i) => isOnline(devices[i]?.presence)));
    expect(counters.pending.count).toBe(count((i) => devices[i]?.status === 'pending'));
    expect(counters.outOfDate.count).toBe(
      count((i) => versions.get(devices[i]?.id ?? '')?.outOfDate === true),
    );
    expect(counters.failedUpdates.count).toBe(count((i) => states[i] === 'failed'));
    expect(counters.stuckUpdates.count).toBe(count((i) => states[i] === 'stuck'));
    expect(counters.updatesInProgress.count).toBe(count((i) => states[i] === 'in_progress'));
  });

  it('shows what the fleet runs per image name, named from the catalog', async () => {
    const { versions } = await getFleetOverview({ db: app.db });
    expect(versions.otherDevices).toBe(0);
    expect(versions.imageNames).toEqual([
      {
        imageName: 'EOS.x86_64-AB',
        devices: 6,
        versions: [
          { label: '2.0.0', versionId: versionIds.v2, recommended: true, devices: 3 },
          { label: '1.0.0', versionId: versionIds.v1, recommended: false, devices: 1 },
          { label: 'not reported', versionId: null, recommended: false, devices: 1 },
          { label: 'unknown build', versionId: 'unknown', recommended: false, devices: 1 },
        ],
      },
      {
        imageName: 'EOS.arm',
        devices: 1,
        versions: [{ label: '0.9', versionId: versionIds.v3, recommended: false, devices: 1 }],
      },
      {
        imageName: null,
        devices: 1,
        versions: [{ label: '1.0.0', versionId: versionIds.v1, recommended: false, devices: 1 }],
      },
    ]);
  });

  it('is what the fleet.overview procedure returns to a viewer', async () => {
    const viewer = await app.addOperator('viewer');
    const overview = await app.callerFor(viewer).fleet.overview();
    expect(overview.counters.stuckUpdates.count).toBe(2);
    expect(overview.devices).toEqual({ pending: 1, accepted: 6, rejected: 1, decommissioned: 1 });
    expect(overview.rollouts).toEqual({ total: 0, rollouts: [] });
  });
});

describe('update outcomes per UTC day', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('buckets apply outcomes by the UTC day they completed, 14 days up to today', async () => {
    const device = await addDevice(app.db, 'history', { status: 'decommissioned' });
    const now = new Date('2026-03-10T12:00:00.000Z');
    const ended = async (kind: 'apply' | 'rollback' | 'check', state: CommandState, at: string) =>
      app.db.command.create({
        data: {
          deviceId: device.id,
          kind,
          state,
          completedAt: new Date(at),
          createdAt: new Date(at),
          deadlineAt: new Date(at),
        },
      });
    await ended('apply', 'succeeded', '2026-03-10T00:00:00.000Z'); // today's first millisecond
    await ended('apply', 'succeeded', '2026-03-10T11:59:00.000Z');
    await ended('apply', 'failed', '2026-03-09T23:59:59.999Z'); // yesterday's last
    await ended('apply', 'rolled_back', '2026-03-05T08:00:00.000Z');
    await ended('apply', 'timed_out', '2026-02-25T00:00:00.000Z'); // the first of the 14 days
    await ended('apply', 'failed', '2026-02-24T23:59:59.999Z'); // the day before: not shown
    await ended('rollback', 'succeeded', '2026-03-10T01:00:00.000Z'); // not an update
    await ended('check', 'failed', '2026-03-10T01:00:00.000Z');
    await ended('apply', 'cancelled', '2026-03-10T01:00:00.000Z'); // not an outcome
    const days = await getUpdateOutcomesPerDay({ db: app.db }, { now });
    expect(days).toHaveLength(14);
    expect(days[0]?.day).toBe('2026-02-25');
    expect(days[13]?.day).toBe('2026-03-10');
    const zero = { succeeded: 0, failed: 0, timed_out: 0, rolled_back: 0 };
    const nonEmpty = days.filter((d) => d.succeeded + d.failed + d.timed_out + d.rolled_back > 0);
    expect(nonEmpty).toEqual([
      { day: '2026-02-25', ...zero, timed_out: 1 },
      { day: '2026-03-05', ...zero, rolled_back: 1 },
      { day: '2026-03-09', ...zero, failed: 1 },
      { day: '2026-03-10', ...zero, succeeded: 2 },
    ]);
  });
});

describe('the online sampler', () => {
  let app: TestApp;
  let second: Db;
  beforeAll(async () => {
    app = await createTestApp();
    // a second web process: its own connection pool on the same database
    second = createPrismaClient(app.url, { poolSize: 2 });
    await addDevice(app.db, 'on-1', { presence: { online: true, agoMs: 1_000 } });
    await addDevice(app.db, 'on-2', {
      status: 'pending',
      presence: { online: true, agoMs: 1_000 },
    });
    await addDevice(app.db, 'stale', { presence: { online: true, agoMs: 5 * MINUTE } });
    await addDevice(app.db, 'off', { presence: { online: false, agoMs: 1_000 } });
    await addDevice(app.db, 'gone', {
      status: 'decommissioned',
      presence: { online: true, agoMs: 1_000 },
    });
  });
  afterAll(async () => {
    await second.$disconnect();
    await app.close();
  });

  it('writes one row per minute, run twice or by two processes at once', async () => {
    const minute = new Date('2026-03-10T12:34:00.000Z');
    const first = await sampleOnlineDevices({ db: app.db }, new Date(minute.getTime() + 1_500));
    const again = await sampleOnlineDevices({ db: app.db }, new Date(minute.getTime() + 59_000));
    expect([first, again]).toEqual([true, false]);
    const next = new Date(minute.getTime() + MINUTE + 10);
    const together = await Promise.all(
      [app.db, second, app.db, second].map((db) => sampleOnlineDevices({ db }, next)),
    );
    expect(together.filter(Boolean)).toHaveLength(1);
    const rows = await app.db.onlineSample.findMany({ orderBy: { minute: 'asc' } });
    expect(rows).toEqual([
      { minute, online: 2, devices: 4 },
      { minute: new Date(minute.getTime() + MINUTE), online: 2, devices: 4 },
    ]);
  });

  it('deletes samples past the retention and keeps the rest', async () => {
    const now = new Date('2026-04-20T00:00:00.000Z');
    const day = 24 * 3600_000;
    await app.db.onlineSample.createMany({
      data: [
        { minute: new Date(now.getTime() - 31 * day), online: 1, devices: 1 },
        { minute: new Date(now.getTime() - 30 * day - MINUTE), online: 1, devices: 1 },
        { minute: new Date(now.getTime() - 29 * day), online: 1, devices: 1 },
      ],
    });
    const before = await app.db.onlineSample.count();
    expect(await pruneOnlineSamples({ db: app.db }, { now })).toBe(before - 1);
    expect(await app.db.onlineSample.findMany({ select: { minute: true } })).toEqual([
      { minute: new Date(now.getTime() - 29 * day) },
    ]);
  });

  it('averages the minutes into 5-minute points for the chart', async () => {
    await app.db.onlineSample.deleteMany();
    const start = new Date('2026-05-01T10:00:00.000Z').getTime();
    await app.db.onlineSample.createMany({
      data: Array.from({ length: 10 }, (_, i) => ({
        minute: new Date(start + i * MINUTE),
        online: i < 5 ? 10 : 20 + i,
        devices: 40,
      })),
    });
    const points = await getOnlineHistory(
      { db: app.db },
      { now: new Date(start + 10 * MINUTE), hours: 1 },
    );
    expect(points).toEqual([
      { at: '2026-05-01T10:00:00.000Z', online: 10, devices: 40 },
      { at: '2026-05-01T10:05:00.000Z', online: 27, devices: 40 },
    ]);
  });

  it('the job samples the current minute in each of two processes once', async () => {
    await app.db.onlineSample.deleteMany();
    const logger = pino({ level: 'silent' });
    const samplers = [
      startOnlineSampler({ db: app.db, logger }),
      startOnlineSampler({ db: second, logger }),
    ];
    try {
      const rows = await eventually(
        () => app.db.onlineSample.findMany(),
        (found) => found.length > 0,
      );
      expect(rows[0]).toMatchObject({ online: 2, devices: 4 });
    } finally {
      await Promise.all(samplers.map((sampler) => sampler.stop()));
    }
    // both first rounds ran; a minute boundary between them may make it two minutes, never more
    const rows = await app.db.onlineSample.findMany({ orderBy: { minute: 'asc' } });
    expect(rows.length).toBeLessThanOrEqual(2);
    const minutes = rows.map((row) => row.minute.getTime());
    expect(new Set(minutes).size).toBe(rows.length);
  });
});

describe('the active rollouts card', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  it('lists rollouts under way with their devices by state, not drafts or finished ones', async () => {
    const db = app.db;
    const server = await db.updateServer.create({
      data: { name: 'main', sshTarget: 'eos@update', httpUrl: 'http://update' },
    });
    const image = await db.image.create({ data: { updateServerId: server.id, name: 'EOS.x' } });
    const version = await db.imageVersion.create({
      data: {
        imageId: image.id,
        rootPrefixHash: hash('d'),
        imageSha1: hash('e'),
        label: '3.1.0',
        rootPartitionSize: 1n,
      },
    });
    const rollout = (name: string, state: 'draft' | 'running' | 'paused' | 'completed') =>
      db.rollout.create({
        data: {
          name,
          state,
          imageVersionId: version.id,
          pinnedRootPrefixHash: hash('d'),
          pinnedRootSha256: 'e'.repeat(64),
          pinnedRootBytes: 1n,
          target: {},
        },
      });
    const running = await rollout('canary first', 'running');
    await rollout('a draft', 'draft');
    await rollout('done', 'completed');
    const paused = await rollout('stopped at a failure', 'paused');
    await db.rolloutBatch.createMany({
      data: [
        { rolloutId: running.id, index: 0, state: 'succeeded' },
        { rolloutId: running.id, index: 1, state: 'soaking' },
        { rolloutId: running.id, index: 2, state: 'pending' },
      ],
    });
    const states = [
      'succeeded',
      'succeeded',
      'applying',
      'failed',
      'timed_out',
      'pending',
    ] as const;
    for (const [i, state] of states.entries()) {
      const device = await addDevice(db, `r${i}`);
      await db.rolloutDevice.create({
        data: { rolloutId: running.id, deviceId: device.id, state },
      });
    }
    const { rollouts } = await getFleetOverview({ db });
    expect(rollouts.total).toBe(2);
    expect(rollouts.rollouts.map((r) => r.name)).toEqual(['stopped at a failure', 'canary first']);
    expect(rollouts.rollouts[0]).toMatchObject({ id: paused.id, state: 'paused', batches: 0 });
    expect(rollouts.rollouts[1]).toMatchObject({
      state: 'running',
      version: 'EOS.x 3.1.0',
      batches: 3,
      currentBatch: { index: 1, state: 'soaking' },
      devices: { total: 6, pending: 1, inProgress: 1, succeeded: 2, failed: 2, skipped: 0 },
    });
  });
});
