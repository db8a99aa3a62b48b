// The Devices table on a real PostgreSQL: every field of the shared filter, sort, pagination,
// bad input in words, bulk preview vs run, bulk over a filter, blocked versions, permissions and
// the update-state column following command transitions (command-lifecycle.ts).
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../testing/test-app';
import { seedFleet, type SeededFleet } from '../../testing/seed-fleet';
import {
  expireOverdueCommands,
  recordCommandResult,
  takeCommandsToSend,
} from '../commands/command-lifecycle';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

async function failure(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(error)}`);
  return error;
}

const N = 280;

describe('the Devices table: query and bulk actions', () => {
  let app: TestApp;
  let fleet: SeededFleet;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;
  let viewer: Awaited<ReturnType<TestApp['addOperator']>>;
  const all = async () =>
    app.db.device.findMany({
      where: { status: { not: 'decommissioned' } },
      include: { presence: true },
    });

  beforeAll(async () => {
    app = await createTestApp();
    fleet = await seedFleet(app.db, N);
    operator = await app.addOperator('operator');
    viewer = await app.addOperator('viewer');
  });
  afterAll(async () => {
    await app?.close();
  });

  const page = (input: Parameters<ReturnType<TestApp['callerFor']>['devices']['page']>[0]) =>
    app.callerFor(viewer).devices.page(input);

  it('counts every device but decommissioned ones, pages them, and bounds the page size', async () => {
    const first = await page({ pageSize: 100 });
    expect(first.total).toBe(N);
    expect(first.rows).toHaveLength(100);
    expect(first.pageCount).toBe(3);
    const last = await page({ pageSize: 100, page: 3 });
    expect(last.rows).toHaveLength(N - 200);
    const names = new Set([...first.rows, ...last.rows].map((r) => r.name));
    expect(names.size).toBe(100 + N - 200);
    const beyond = await page({ pageSize: 100, page: 4 });
    expect(beyond.rows).toHaveLength(0);
    expect(beyond.total).toBe(N);

    const tooBig = await failure(page({ pageSize: 201 }));
    expect(tooBig.code).toBe('BAD_REQUEST');
    expect(tooBig.message).toMatch(/200/);
    expect((await failure(page({ page: 0 }))).code).toBe('BAD_REQUEST');
    const badLabel = await failure(page({ labels: ['site = berlin'] }));
    expect(badLabel.message).toMatch(/key=value/);
    expect((await failure(page({ q: 'x'.repeat(101) }))).code).toBe('BAD_REQUEST');
  });

  it('filters by each field with the meaning of device-filter.ts', async () => {
    const devices = await all();
    const now = Date.now();
    const online = devices.filter(
      (d) => d.presence?.online && now - d.presence.lastSeenAt.getTime() < 60_000,
    );
    expect((await page({ online: true })).total).toBe(online.length);
    expect((await page({ online: false })).total).toBe(devices.length - online.length);
    expect(online.length).toBeGreaterThan(0);

    expect((await page({ status: 'pending' })).total).toBe(
      devices.filter((d) => d.status === 'pending').length,
    );
    expect((await page({ imageName: 'EOS.aarch64-AB' })).total).toBe(
      devices.filter((d) => d.imageName === 'EOS.aarch64-AB').length,
    );

    const v2 = fleet.versions['EOS.x86_64-AB']?.['2.0.0'];
    const onV2 = devices.filter((d) => d.rootPrefixHash === v2?.rootPrefixHash);
    const byVersion = await page({ versionId: v2?.id, pageSize: 200 });
    expect(byVersion.total).toBe(onV2.length);
    expect(byVersion.rows.every((r) => r.runningVersion === 'EOS.x86_64-AB 2.0.0')).toBe(true);

    const known = new Set(
      Object.values(fleet.versions).flatMap((v) => Object.values(v).map((x) => x.rootPrefixHash)),
    );
    const unknown = devices.filter((d) => d.rootPrefixHash && !known.has(d.rootPrefixHash));
    const unknownPage = await page({ versionId: 'unknown', pageSize: 200 });
    expect(unknownPage.total).toBe(unknown.length);
    expect(unknownPage.rows.every((r) => r.runningVersion === 'unknown build')).toBe(true);

    // out of date: its image name has a recommended version (2.0.0) it does not run
    const recommended = new Set(
      Object.values(fleet.versions).map((v) => v['2.0.0']?.rootPrefixHash),
    );
    const stale = devices.filter((d) => d.rootPrefixHash && !recommended.has(d.rootPrefixHash));
    expect((await page({ outOfDate: true })).total).toBe(stale.length);
    expect((await page({ outOfDate: false })).total).toBe(devices.length - stale.length);
    expect((await page({ outOfDate: true, pageSize: 200 })).rows.every((r) => r.outOfDate)).toBe(
      true,
    );

    // stuck: stored stuck, or in progress past its deadline
    const stuck = devices.filter(
      (d) =>
        d.updateState === 'stuck' ||
        (d.updateState === 'in_progress' &&
          d.updateDeadlineAt &&
          d.updateDeadlineAt.getTime() < now),
    );
    expect(stuck.some((d) => d.updateState === 'in_progress')).toBe(true);
    expect((await page({ updateState: 'stuck' })).total).toBe(stuck.length);
    expect((await page({ updateState: 'in_progress' })).total).toBe(
      devices.filter((d) => d.updateState === 'in_progress').length -
        stuck.filter((d) => d.updateState === 'in_progress').length,
    );
    expect((await page({ updateState: 'failed' })).total).toBe(
      devices.filter((d) => d.updateState === 'failed').length,
    );

    const labels = (d: (typeof devices)[number]) => d.labels as Record<string, string>;
    expect((await page({ labels: ['site=berlin'] })).total).toBe(
      devices.filter((d) => labels(d).site === 'berlin').length,
    );
    expect((await page({ labels: ['canary'] })).total).toBe(
      devices.filter((d) => 'canary' in labels(d)).length,
    );
    expect((await page({ labels: ['canary', 'site=prague'] })).total).toBe(
      devices.filter((d) => 'canary' in labels(d) && labels(d).site === 'prague').length,
    );

    const seen = (d: (typeof devices)[number]) =>
      (d.presence?.lastSeenAt ?? d.lastSeenAt)?.getTime() ?? null;
    expect((await page({ lastSeen: '24h' })).total).toBe(
      devices.filter((d) => (seen(d) ?? 0) >= now - 24 * 3_600_000 - 5_000).length,
    );
    expect((await page({ lastSeen: 'older' })).total).toBe(
      devices.filter((d) => seen(d) === null || (seen(d) ?? 0) < now - 7 * 24 * 3_600_000).length,
    );

    // q: name, id prefix, label value; LIKE characters match only themselves
    expect((await page({ q: 'SIM-00001' })).total).toBe(
      devices.filter((d) => d.name.includes('sim-00001')).length,
    );
    const one = devices[5];
    expect((await page({ q: one?.id.slice(0, 8) })).rows.map((r) => r.id)).toContain(one?.id);
    expect((await page({ q: 'nuremb' })).total).toBe(
      devices.filter((d) => labels(d).site === 'nuremberg').length,
    );
    expect((await page({ q: 'sim%' })).total).toBe(0);
  });

  it('sorts by each key, both directions, stably', async () => {
    const byName = await page({ sort: 'name', dir: 'desc', pageSize: 5 });
    expect(byName.rows[0]?.name).toBe(`sim-${String(N).padStart(6, '0')}`);
    const seen = await page({ sort: 'lastSeen', dir: 'desc', pageSize: 50 });
    const times = seen.rows.map((r) => r.lastSeenAt?.getTime() ?? 0);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const versions = await page({ sort: 'version', dir: 'asc', pageSize: 200 });
    const labels = versions.rows.map((r) => r.runningVersion ?? '');
    expect(labels[0]).toBe('EOS.aarch64-AB 1.0.0');
    for (const sort of ['status', 'imageName', 'updateState', 'createdAt'] as const) {
      const a = await page({ sort, dir: 'asc', pageSize: 200 });
      const b = await page({ sort, dir: 'asc', pageSize: 200, page: 2 });
      expect(new Set([...a.rows, ...b.rows].map((r) => r.id)).size).toBe(N);
    }
  });

  it('previews and runs a label over a filter, with one audit entry and counts that agree', async () => {
    const caller = app.callerFor(operator);
    const target = { filter: { labels: ['site=austin'] } };
    const preview = await caller.devices.bulkPreview({
      target,
      action: { type: 'setLabel', key: 'wave', value: 'one' },
    });
    const austin = (await page({ labels: ['site=austin'] })).total;
    expect(preview.matched).toBe(austin);
    expect(preview.acting).toBe(austin);
    expect(preview.summary).toContain('wave=one');
    const run = await caller.devices.bulk({
      target,
      action: { type: 'setLabel', key: 'wave', value: 'one' },
    });
    expect(run.acting).toBe(preview.acting);
    expect((await page({ labels: ['wave=one'] })).total).toBe(austin);
    const again = await caller.devices.bulkPreview({
      target,
      action: { type: 'setLabel', key: 'wave', value: 'one' },
    });
    expect(again.acting).toBe(0);
    expect(again.skipped[0]?.reason).toMatch(/already labelled/);
    const audit = await app.db.auditEvent.findMany({ where: { action: 'device.bulk_labelled' } });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.data).toMatchObject({ changed: austin });

    const bad = await failure(
      caller.devices.bulk({ target, action: { type: 'setLabel', key: 'Bad Key', value: 'x' } }),
    );
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toMatch(/label keys/);
  });

  it('applies a catalog version to a selection, skipping with reasons; a blocked one is refused', async () => {
    const caller = app.callerFor(operator);
    const x86 = fleet.versions['EOS.x86_64-AB'];
    const target = { filter: { imageName: undefined, labels: ['site=berlin'] } };
    const preview = await caller.devices.bulkPreview({
      target,
      action: { type: 'apply', imageVersionId: x86?.['2.0.0']?.id ?? '' },
    });
    const berlin = (await page({ labels: ['site=berlin'] })).total;
    expect(preview.matched).toBe(berlin);
    const reasons = preview.skipped.map((s) => s.reason).join(' | ');
    expect(reasons).toMatch(/wrong image name/);
    expect(reasons).toMatch(/already runs EOS.x86_64-AB 2.0.0/);
    expect(preview.acting + preview.skipped.reduce((a, s) => a + s.count, 0)).toBe(berlin);
    expect(preview.notes[0]?.note).toMatch(/offline: queued/);

    const before = await app.db.command.count();
    const run = await caller.devices.bulk({
      target,
      action: { type: 'apply', imageVersionId: x86?.['2.0.0']?.id ?? '' },
    });
    expect(run.acting).toBe(preview.acting);
    expect(await app.db.command.count()).toBe(before + preview.acting);
    const commanded = await app.db.command.findMany({ where: { kind: 'apply' } });
    expect(commanded[0]?.params).toMatchObject({
      expectedRootPrefixHash: x86?.['2.0.0']?.rootPrefixHash,
      imageName: `EOS.x86_64-AB@${x86?.['2.0.0']?.rootPrefixHash}`,
    });
    expect(await app.db.auditEvent.count({ where: { action: 'command.created' } })).toBe(
      preview.acting,
    );
    expect(await app.db.auditEvent.count({ where: { action: 'device.bulk_commanded' } })).toBe(1);
    // the update state follows: every commanded device is in progress now
    expect(
      await app.db.device.count({
        where: { id: { in: commanded.map((c) => c.deviceId) }, updateState: 'in_progress' },
      }),
    ).toBe(commanded.length);

    const blocked = await failure(
      caller.devices.bulkPreview({
        target,
        action: { type: 'apply', imageVersionId: x86?.['2.1.0-rc']?.id ?? '' },
      }),
    );
    expect(blocked.code).toBe('PRECONDITION_FAILED');
    expect(blocked.message).toMatch(/blocked/);
  });

  it('moves the update state with the command: delivered, succeeded; timed out reads stuck', async () => {
    const device = await app.db.device.findFirstOrThrow({
      where: { status: 'accepted', name: { startsWith: 'sim-' } },
      orderBy: { name: 'asc' },
    });
    const caller = app.callerFor(operator);
    const [command] = (
      await caller.devices.bulk({ target: { ids: [device.id] }, action: { type: 'rollback' } })
    ).acting
      ? await app.db.command.findMany({
          where: { deviceId: device.id, kind: 'rollback' },
          orderBy: { createdAt: 'desc' },
        })
      : [];
    expect(command).toBeDefined();
    const stateOf = async () =>
      (await page({ q: device.name, pageSize: 10 })).rows.find((r) => r.id === device.id)
        ?.updateState;
    expect(await stateOf()).toBe('in_progress');
    await takeCommandsToSend(app.db, device.id);
    expect((await app.db.device.findUniqueOrThrow({ where: { id: device.id } })).updateState).toBe(
      'in_progress',
    );
    await recordCommandResult(app.db, device.id, {
      type: 'result',
      commandId: command?.id ?? '',
      kind: 'rollback',
      status: 'succeeded',
      finishedAt: new Date().toISOString(),
    });
    expect(await stateOf()).toBe('succeeded');

    // another, never delivered: past its queue time the sweep times it out -> stuck
    await caller.devices.bulk({ target: { ids: [device.id] }, action: { type: 'rollback' } });
    expect(await stateOf()).toBe('in_progress');
    await expireOverdueCommands(app.db, new Date(Date.now() + 7 * 24 * 3_600_000));
    expect((await app.db.device.findUniqueOrThrow({ where: { id: device.id } })).updateState).toBe(
      'stuck',
    );
    expect(await stateOf()).toBe('stuck');
    // a check is not an update: the state stays
    await caller.devices.bulk({ target: { ids: [device.id] }, action: { type: 'check' } });
    expect(await stateOf()).toBe('stuck');
  });

  it('refuses bulk actions to viewers, and decommissions over a filter with counts', async () => {
    const viewerCaller = app.callerFor(viewer);
    const target = { filter: { labels: ['site=taipei', 'canary'] } };
    expect(
      (await failure(viewerCaller.devices.bulk({ target, action: { type: 'check' } }))).code,
    ).toBe('FORBIDDEN');
    expect((await failure(viewerCaller.devices.bulkDecommission({ target }))).code).toBe(
      'FORBIDDEN',
    );
    expect(
      (
        await failure(
          viewerCaller.devices.setLabel({ deviceId: fleet.updateServerId, key: 'a', value: 'b' }),
        )
      ).code,
    ).toBe('FORBIDDEN');

    const caller = app.callerFor(operator);
    const preview = await caller.devices.bulkDecommissionPreview({ target });
    const matching = (await page({ labels: ['site=taipei', 'canary'] })).total;
    expect(preview.acting).toBe(matching);
    expect(preview.summary).toMatch(/cannot be undone/);
    const run = await caller.devices.bulkDecommission({ target });
    expect(run.acting).toBe(matching);
    expect((await page({ labels: ['site=taipei', 'canary'] })).total).toBe(0);
    expect(
      (await page({ labels: ['site=taipei', 'canary'], status: 'decommissioned' })).total,
    ).toBe(matching);
    expect(await app.db.auditEvent.count({ where: { action: 'device.bulk_decommissioned' } })).toBe(
      1,
    );
  });

  it('edits one label in place, validated', async () => {
    const caller = app.callerFor(operator);
    const device = await app.db.device.findFirstOrThrow({ where: { status: 'accepted' } });
    const set = await caller.devices.setLabel({ deviceId: device.id, key: 'rack', value: 'r12' });
    expect(set.labels.rack).toBe('r12');
    const removed = await caller.devices.setLabel({
      deviceId: device.id,
      key: 'rack',
      value: null,
    });
    expect(removed.labels.rack).toBeUndefined();
    const bad = await failure(
      caller.devices.setLabel({ deviceId: device.id, key: 'rack', value: 'has space' }),
    );
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toMatch(/label values/);
  });

  it('names the devices of a list of ids: unknown ids left out, decommissioned ones with their status', async () => {
    const caller = app.callerFor(viewer);
    const [live, gone] = await app.db.device.findMany({
      where: { status: 'accepted' },
      orderBy: { name: 'asc' },
      take: 2,
    });
    if (!live || !gone) throw new Error('the seeded fleet has accepted devices');
    await app.db.device.update({ where: { id: gone.id }, data: { status: 'decommissioned' } });
    const unknown = '6d1f5a7e-0000-4000-8000-0000000000ff';
    const named = await caller.devices.byIds({ ids: [live.id, gone.id, unknown] });
    expect(named.map((d) => [d.name, d.status]).sort()).toEqual(
      [
        [live.name, 'accepted'],
        [gone.name, 'decommissioned'],
      ].sort(),
    );
    const tooMany = await failure(
      caller.devices.byIds({ ids: Array.from({ length: 201 }, () => unknown) }),
    );
    expect(tooMany.code).toBe('BAD_REQUEST');
    expect((await failure(caller.devices.byIds({ ids: ['not-an-id'] }))).code).toBe('BAD_REQUEST');
  });
});
