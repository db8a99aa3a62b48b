// The Overview's rollouts card: the rollouts under way (scheduled, running, paused), newest first,
// with their devices counted by state. Driven by the rollout tables' columns only.
import type { ServiceContext } from '../context';

export const ACTIVE_ROLLOUT_STATES = ['scheduled', 'running', 'paused'] as const;
/** The card lists at most this many; `total` says how many there are. */
export const ACTIVE_ROLLOUTS_SHOWN = 5;

export async function getActiveRollouts(ctx: Pick<ServiceContext, 'db'>) {
  const where = { state: { in: [...ACTIVE_ROLLOUT_STATES] } };
  const [total, rollouts] = await Promise.all([
    ctx.db.rollout.count({ where }),
    ctx.db.rollout.findMany({
      where,
      orderBy: { createdAt: 'desc' },
      take: ACTIVE_ROLLOUTS_SHOWN,
      select: {
        id: true,
        name: true,
        state: true,
        startAt: true,
        startedAt: true,
        imageVersion: {
          select: { label: true, rootPrefixHash: true, image: { select: { name: true } } },
        },
        _count: { select: { batches: true } },
      },
    }),
  ]);
  const ids = rollouts.map((rollout) => rollout.id);
  const [deviceCounts, currentBatches] = ids.length
    ? await Promise.all([
        ctx.db.rolloutDevice.groupBy({
          by: ['rolloutId', 'state'],
          where: { rolloutId: { in: ids } },
          _count: { _all: true },
        }),
        ctx.db.rolloutBatch.findMany({
          where: {
            rolloutId: { in: ids },
            state: { in: ['running', 'soaking', 'awaiting_approval'] },
          },
          select: { rolloutId: true, index: true, state: true },
          orderBy: { index: 'asc' },
        }),
      ])
    : [[], []];
  return {
    total,
    rollouts: rollouts.map((rollout) => {
      const devices = { total: 0, pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 0 };
      for (const row of deviceCounts.filter((r) => r.rolloutId === rollout.id)) {
        const n = row._count._all;
        devices.total += n;
        if (row.state === 'pending') devices.pending += n;
        else if (['scheduled', 'applying', 'soaking'].includes(row.state)) devices.inProgress += n;
        else if (row.state === 'succeeded') devices.succeeded += n;
        else if (row.state === 'failed' || row.state === 'timed_out') devices.failed += n;
        else devices.skipped += n;
      }
      const batch = currentBatches.find((b) => b.rolloutId === rollout.id) ?? null;
      const version = rollout.imageVersion;
      return {
        id: rollout.id,
        name: rollout.name,
        state: rollout.state,
        startAt: rollout.startAt,
        startedAt: rollout.startedAt,
        version: `${version.image.name} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`,
        batches: rollout._count.batches,
        /** the batch under way (index from 0) and what it waits for */
        currentBatch: batch ? { index: batch.index, state: batch.state } : null,
        devices,
      };
    }),
  };
}
