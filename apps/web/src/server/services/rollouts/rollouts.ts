// Rollouts as operators see them: create with a preview, list, read with honest counts, act on
// (pause, resume, approve the next batch, abort, retry failed devices, revert), and the decision
// trace of one device. The scheduler (rollout-scheduler.ts) moves them on; every transition here
// and there is audited and written to the rollout's timeline.
import type { Db, Prisma } from '@eos-fleet/db';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { wakeRollouts } from './rollout-wake';
import {
  createRolloutInput,
  disruptionBudgetSchema,
  maintenanceWindowSchema,
  rolloutTargetSchema,
  windowState,
  type CreateRolloutInput,
} from './rollout-inputs';
import {
  abortInTx,
  auditRollout,
  pauseInTx,
  rolloutEvent,
  revertSucceeded,
  SETTLED_DEVICE_STATES,
} from './rollout-scheduler';
import {
  ACTIVE_ROLLOUT_STATES,
  labelsOf,
  matchesLabels,
  otherActiveRollouts,
  preflight,
  targetDeviceSelect,
  targetWhere,
  type PinnedVersion,
  type TargetDevice,
} from './rollout-targets';

/** the scheduler ticks the rollout when this commits (jobs/job-runner.ts LISTENs) */
async function wakeRollout(tx: Prisma.TransactionClient, rolloutId: string) {
  await wakeRollouts(tx, [rolloutId]);
}

/** what one apply is assumed to take for the estimate (download, write, kexec, verify) */
const ESTIMATED_APPLY_SECONDS = 600;
const MAX_TARGET_DEVICES = 20_000;

async function loadVersion(db: Db, imageVersionId: string) {
  const version = await db.imageVersion.findUnique({
    where: { id: imageVersionId },
    include: { image: { include: { updateServer: true } } },
  });
  if (!version) throw new AppError('NOT_FOUND', 'No such image version.');
  const name = `${version.image.name} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`;
  if (version.blocked)
    throw new AppError('PRECONDITION_FAILED', `${name} is blocked: a rollout cannot use it.`);
  if (!version.available)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${name} is no longer offered by ${version.image.updateServer.name}.`,
    );
  if (version.rootSha256 === null)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${version.image.updateServer.name} does not publish the whole-root sha256 of ${name}: it cannot be pinned.`,
    );
  const pinned: PinnedVersion = {
    id: version.id,
    rootPrefixHash: version.rootPrefixHash,
    rootSha256: version.rootSha256,
    rootPartitionSize: version.rootPartitionSize,
    arch: version.arch ?? version.image.arch,
    profile: version.profile ?? version.image.profile,
    imageName: version.image.name,
    updateServer: version.image.updateServer,
  };
  return { version, pinned, name };
}

interface Plan {
  batches: { index: number; deviceIds: string[] }[];
  excluded: { deviceId: string; name: string; reason: string; kind: 'cannot_converge' | 'done' }[];
  waiting: { deviceId: string; name: string; reason: string }[];
  devices: TargetDevice[];
}

/** Target -> preflight -> batches: devices in name order, each batch's selector first served. */
async function plan(
  db: Db,
  input: z.output<typeof createRolloutInput>,
  pinned: PinnedVersion,
): Promise<Plan> {
  const devices = await db.device.findMany({
    where: targetWhere(input.target),
    select: targetDeviceSelect,
    orderBy: { name: 'asc' },
    take: MAX_TARGET_DEVICES + 1,
  });
  if (devices.length > MAX_TARGET_DEVICES)
    throw new AppError(
      'BAD_REQUEST',
      `The target names more than ${MAX_TARGET_DEVICES} devices: narrow it.`,
    );
  if (input.target.deviceIds && devices.length !== new Set(input.target.deviceIds).size)
    throw new AppError(
      'BAD_REQUEST',
      'Some devices of the list do not exist (or are decommissioned).',
    );
  const others = await otherActiveRollouts(
    db,
    devices.map((d) => d.id),
    null,
  );
  const offered = { available: true, blocked: false, rootSha256: pinned.rootSha256 };
  const excluded: Plan['excluded'] = [];
  const waiting: Plan['waiting'] = [];
  const eligible: TargetDevice[] = [];
  for (const device of devices) {
    const problem = preflight(device, pinned, offered, others.get(device.id) ?? null);
    if (problem && problem.kind !== 'waiting')
      excluded.push({
        deviceId: device.id,
        name: device.name,
        reason: problem.reason,
        kind: problem.kind,
      });
    else {
      if (problem) waiting.push({ deviceId: device.id, name: device.name, reason: problem.reason });
      eligible.push(device);
    }
  }
  const assigned = new Set<string>();
  const batches = input.batches.map((spec, index) => {
    const size =
      spec.count ?? Math.max(1, Math.ceil((eligible.length * (spec.percent ?? 0)) / 100));
    const picked = eligible
      .filter((d) => !assigned.has(d.id) && matchesLabels(d.labels, spec.selector?.labels))
      .slice(0, size);
    for (const d of picked) assigned.add(d.id);
    return { index, deviceIds: picked.map((d) => d.id) };
  });
  // what the batch sizes left over goes with the last batch: the target is covered whole
  const rest = eligible.filter((d) => !assigned.has(d.id)).map((d) => d.id);
  batches.at(-1)?.deviceIds.push(...rest);
  return { batches, excluded, waiting, devices };
}

function estimateSeconds(input: z.output<typeof createRolloutInput>, p: Plan, serverCap: number) {
  const cap = Math.min(input.maxConcurrentPerServer ?? Infinity, serverCap);
  return p.batches.reduce(
    (sum, batch, i) =>
      sum +
      Math.ceil(batch.deviceIds.length / cap) * ESTIMATED_APPLY_SECONDS +
      (batch.deviceIds.length ? (input.batches[i]?.soakSeconds ?? 0) : 0),
    0,
  );
}

export async function previewRollout(ctx: Pick<ServiceContext, 'db'>, raw: CreateRolloutInput) {
  const input = createRolloutInput.parse(raw);
  const { pinned, name } = await loadVersion(ctx.db, input.imageVersionId);
  const p = await plan(ctx.db, input, pinned);
  const win = windowState(input.maintenanceWindow ?? null, input.startAt ?? new Date());
  return {
    version: name,
    targetDevices: p.devices.length,
    batches: p.batches.map((b) => ({ index: b.index, devices: b.deviceIds.length })),
    preflightFailures: p.excluded.map(({ deviceId, name: device, reason }) => ({
      deviceId,
      device,
      reason,
    })),
    waiting: p.waiting.map(({ deviceId, name: device, reason }) => ({ deviceId, device, reason })),
    windowOpen: win.open,
    nextWindowOpening: win.open ? null : win.opensAt,
    estimatedSeconds: estimateSeconds(input, p, pinned.updateServer.maxConcurrentApplies),
    assumedApplySeconds: ESTIMATED_APPLY_SECONDS,
  };
}

export async function createRollout(ctx: ServiceContext, raw: CreateRolloutInput) {
  const input = createRolloutInput.parse(raw);
  const { pinned, name } = await loadVersion(ctx.db, input.imageVersionId);
  const p = await plan(ctx.db, input, pinned);
  const state = !input.start ? 'draft' : 'scheduled';
  // 10,000 members are one INSERT, but a busy database can take more than the default 5 s over it
  return ctx.db.$transaction(
    async (tx) => {
      const rollout = await tx.rollout.create({
        data: {
          name: input.name,
          imageVersionId: pinned.id,
          pinnedRootPrefixHash: pinned.rootPrefixHash,
          pinnedRootSha256: pinned.rootSha256,
          pinnedRootBytes: pinned.rootPartitionSize,
          state,
          target: input.target,
          dynamic: input.dynamic,
          successThresholdPercent: input.successThresholdPercent,
          failureThresholdCount: input.failureThresholdCount ?? null,
          failureThresholdPercent: input.failureThresholdPercent ?? null,
          failureMinSample: input.failureMinSample,
          failureAction: input.failureAction,
          deviceTimeoutSeconds: input.deviceTimeoutSeconds,
          maxRetries: input.maxRetries,
          retryBackoffSeconds: input.retryBackoffSeconds,
          maxConcurrentPerServer: input.maxConcurrentPerServer ?? null,
          disruptionBudget: input.disruptionBudget ?? undefined,
          rollbackOnAbort: input.rollbackOnAbort,
          startAt: input.startAt ?? null,
          maintenanceWindow: input.maintenanceWindow ?? undefined,
          createdById: ctx.actor.type === 'operator' ? ctx.actor.id : null,
          batches: {
            create: input.batches.map((b, index) => ({
              index,
              count: b.count ?? null,
              percent: b.percent ?? null,
              selector: b.selector ?? undefined,
              soakSeconds: b.soakSeconds,
              gate: b.gate,
            })),
          },
        },
      });
      await tx.rolloutDevice.createMany({
        data: [
          ...p.batches.flatMap((b) =>
            b.deviceIds.map((deviceId) => ({
              rolloutId: rollout.id,
              deviceId,
              batchIndex: b.index,
            })),
          ),
          ...p.excluded.map((e) => ({
            rolloutId: rollout.id,
            deviceId: e.deviceId,
            state: 'skipped' as const,
            skipReason: e.reason,
          })),
        ],
      });
      await rolloutEvent(
        tx,
        rollout.id,
        `created by ${ctx.actor.label}: ${name} to ${p.devices.length} devices (${p.excluded.length} excluded)`,
      );
      await auditRollout(ctx, tx, 'rollout.created', rollout, {
        version: name,
        devices: p.devices.length,
      });
      await wakeRollout(tx, rollout.id);
      return { id: rollout.id, state: rollout.state };
    },
    { timeout: 60_000 },
  );
}

// ---------------------------------------------------------------------------------- reading

export const listRolloutsInput = z.object({
  state: z
    .array(z.enum(['draft', 'scheduled', 'running', 'paused', 'completed', 'aborted', 'failed']))
    .max(7)
    .optional(),
  active: z.boolean().optional(),
  search: z.string().max(120).optional(),
  limit: z.int().min(1).max(100).default(50),
  cursor: z.uuid().optional(),
});

export async function listRollouts(
  ctx: Pick<ServiceContext, 'db'>,
  raw: z.input<typeof listRolloutsInput> = {},
) {
  const input = listRolloutsInput.parse(raw);
  const rows = await ctx.db.rollout.findMany({
    where: {
      state: input.active
        ? { in: [...ACTIVE_ROLLOUT_STATES] }
        : input.state
          ? { in: input.state }
          : undefined,
      name: input.search ? { contains: input.search, mode: 'insensitive' } : undefined,
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: input.limit + 1,
    cursor: input.cursor ? { id: input.cursor } : undefined,
    skip: input.cursor ? 1 : 0,
    include: { imageVersion: { include: { image: { select: { name: true } } } } },
  });
  const page = rows.slice(0, input.limit);
  const counts = await ctx.db.rolloutDevice.groupBy({
    by: ['rolloutId', 'state'],
    where: { rolloutId: { in: page.map((r) => r.id) } },
    _count: { _all: true },
  });
  return {
    items: page.map((r) => {
      const mine = counts.filter((c) => c.rolloutId === r.id);
      const n = (states: string[]) =>
        mine.filter((c) => states.includes(c.state)).reduce((s, c) => s + c._count._all, 0);
      return {
        id: r.id,
        name: r.name,
        state: r.state,
        stateReason: r.stateReason,
        version: `${r.imageVersion.image.name} ${r.imageVersion.label ?? r.pinnedRootPrefixHash.slice(0, 12)}`,
        createdAt: r.createdAt,
        startedAt: r.startedAt,
        completedAt: r.completedAt,
        devices: n([
          'pending',
          'scheduled',
          'applying',
          'soaking',
          'succeeded',
          'failed',
          'timed_out',
          'reverted',
        ]),
        succeeded: n(['succeeded']),
        failed: n(['failed', 'timed_out']),
        /** by state alone here (an apply whose device is offline counts as in flight) */
        inFlight: n(['applying', 'soaking']),
        waiting: n(['pending', 'scheduled']),
        reverted: n(['reverted']),
        excluded: n(['skipped']),
      };
    }),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** What a rollout device is doing, in words the page counts and filters by. */
export const DEVICE_CATEGORIES = [
  'done',
  'in_flight',
  'waiting',
  'failed',
  'cannot_converge',
  'excluded',
] as const;
export type DeviceCategory = (typeof DEVICE_CATEGORIES)[number];

/** preflight's reason for a device already on the pinned version (rollout-targets.ts) */
export const ALREADY_THERE = 'already runs the target version';

/** The category of a rollout device (rollout-devices.ts whereCategory is the same as a query). */
export function categoryOf(
  state: string,
  online: boolean,
  skipReason: string | null,
): DeviceCategory {
  switch (state) {
    case 'succeeded':
    case 'reverted':
      return 'done';
    case 'applying':
      return online ? 'in_flight' : 'waiting';
    case 'soaking':
      return 'in_flight';
    case 'failed':
    case 'timed_out':
      return 'failed';
    case 'skipped':
      return skipReason === ALREADY_THERE ? 'excluded' : 'cannot_converge';
    default:
      return 'waiting';
  }
}

/** A device's rollout state in words: "waiting" reasons apart from "cannot converge" ones. */
export function deviceView(
  m: Prisma.RolloutDeviceGetPayload<{
    include: { device: { select: { name: true; presence: { select: { online: true } } } } };
  }>,
  rollout: { state: string; stateReason: string | null },
  /** a reverted device's rollback command, when it was sent: its outcome is the revert's */
  rollback?: { state: string; error: string | null } | null,
) {
  const settled = (SETTLED_DEVICE_STATES as readonly string[]).includes(m.state);
  const online = m.device.presence?.online ?? false;
  const category: DeviceCategory = categoryOf(m.state, online, m.skipReason);
  let reason: string;
  switch (m.state) {
    case 'succeeded':
      reason = m.skipReason ?? 'runs the new version and stayed up through its soak';
      break;
    case 'reverted':
      reason = revertInWords(m.skipReason, m.lastError, rollback);
      break;
    case 'applying':
      reason = online
        ? 'applying the new version'
        : 'applying; offline (rebooting, or gone: its deadline decides)';
      break;
    case 'soaking':
      reason = `soaking until ${m.soakUntil?.toISOString() ?? '?'}`;
      break;
    case 'failed':
    case 'timed_out':
      reason = `${m.lastError ?? 'failed'}${m.attempts > 1 ? ` (after ${m.attempts} attempts)` : ''}`;
      break;
    case 'skipped':
      reason = m.skipReason ?? 'excluded';
      break;
    default:
      reason =
        rollout.state === 'paused'
          ? `the rollout is paused${rollout.stateReason ? `: ${rollout.stateReason}` : ''}`
          : m.state === 'pending'
            ? 'its batch has not been reached'
            : m.nextAttemptAt
              ? `retry due at ${m.nextAttemptAt.toISOString()} (${m.lastError ?? ''})`
              : (m.skipReason ?? 'next in line');
  }
  return {
    deviceId: m.deviceId,
    name: m.device.name,
    batch: m.batchIndex === null ? null : m.batchIndex + 1,
    state: m.state,
    category,
    reason,
    settled,
    attempts: m.attempts,
    commandId: m.lastCommandId,
    online,
  };
}

/** What became of a revert: sent, back on the previous slot, or failed and why. */
function revertInWords(
  skipReason: string | null,
  lastError: string | null,
  rollback: { state: string; error: string | null } | null | undefined,
): string {
  if (lastError?.startsWith('revert refused')) return lastError;
  if (!rollback) return skipReason ?? 'sent back to its previous slot';
  switch (rollback.state) {
    case 'succeeded':
      return 'back on its previous slot (rollback succeeded)';
    case 'failed':
    case 'timed_out':
    case 'cancelled':
    case 'rolled_back':
      return `revert ${rollback.state.replace('_', ' ')}: ${rollback.error ?? 'no reason given'}; it may still run the new version`;
    default:
      return `being sent back to its previous slot (rollback ${rollback.state})`;
  }
}

/** Rollback commands of reverted members, by command id (their outcome is the revert's). */
export async function rollbacksOf(
  db: Pick<Db, 'command'>,
  members: readonly { state: string; lastCommandId: string | null }[],
) {
  const ids = members
    .filter((m) => m.state === 'reverted' && m.lastCommandId)
    .map((m) => m.lastCommandId as string);
  if (!ids.length) return new Map<string, { state: string; error: string | null }>();
  const commands = await db.command.findMany({
    where: { id: { in: ids }, kind: 'rollback' },
    select: { id: true, state: true, error: true },
  });
  return new Map(commands.map((c) => [c.id, { state: c.state, error: c.error }]));
}

/** Devices per batch and category, counted in the database (the list is rollouts.devices). */
async function countDevices(db: Db, rolloutId: string) {
  const groups = await db.$queryRaw<
    { batch: number | null; state: string; online: boolean; skipReason: string | null; n: number }[]
  >`
    SELECT rd."batchIndex" AS batch, rd.state::text AS state, COALESCE(p.online, false) AS online,
           CASE WHEN rd.state = 'skipped' THEN rd."skipReason" END AS "skipReason",
           count(*)::int AS n
    FROM rollout_device rd LEFT JOIN device_presence p ON p."deviceId" = rd."deviceId"
    WHERE rd."rolloutId" = ${rolloutId}::uuid
    GROUP BY 1, 2, 3, 4`;
  const tally = (rows: typeof groups) => {
    const of = (category: DeviceCategory) =>
      rows
        .filter((g) => categoryOf(g.state, g.online, g.skipReason) === category)
        .reduce((sum, g) => sum + g.n, 0);
    return {
      total: rows.reduce((sum, g) => sum + g.n, 0),
      succeeded: rows.filter((g) => g.state === 'succeeded').reduce((sum, g) => sum + g.n, 0),
      reverted: rows.filter((g) => g.state === 'reverted').reduce((sum, g) => sum + g.n, 0),
      failed: of('failed'),
      inFlight: of('in_flight'),
      waiting: of('waiting'),
      excluded: of('excluded') + of('cannot_converge'),
      cannotConverge: of('cannot_converge'),
    };
  };
  return {
    all: tally(groups),
    ofBatch: (index: number | null) => tally(groups.filter((g) => g.batch === index)),
  };
}

export async function getRollout(ctx: Pick<ServiceContext, 'db'>, input: { rolloutId: string }) {
  const { rolloutId } = z.object({ rolloutId: z.uuid() }).parse(input);
  const rollout = await ctx.db.rollout.findUnique({
    where: { id: rolloutId },
    include: {
      batches: { orderBy: { index: 'asc' } },
      imageVersion: { include: { image: { select: { name: true } } } },
      events: { orderBy: { at: 'desc' }, take: 50 },
    },
  });
  if (!rollout) throw new AppError('NOT_FOUND', 'No such rollout.');
  const counts = await countDevices(ctx.db, rolloutId);
  return {
    id: rollout.id,
    name: rollout.name,
    state: rollout.state,
    stateReason: rollout.stateReason,
    version: `${rollout.imageVersion.image.name} ${rollout.imageVersion.label ?? rollout.pinnedRootPrefixHash.slice(0, 12)}`,
    imageVersionId: rollout.imageVersionId,
    pinned: {
      rootPrefixHash: rollout.pinnedRootPrefixHash,
      rootSha256: rollout.pinnedRootSha256,
      rootBytes: Number(rollout.pinnedRootBytes),
    },
    target: rolloutTargetSchema.parse(rollout.target),
    dynamic: rollout.dynamic,
    createdAt: rollout.createdAt,
    startAt: rollout.startAt,
    startedAt: rollout.startedAt,
    completedAt: rollout.completedAt,
    maintenanceWindow: rollout.maintenanceWindow
      ? maintenanceWindowSchema.parse(rollout.maintenanceWindow)
      : null,
    nextWindow: rollout.maintenanceWindow
      ? windowState(maintenanceWindowSchema.parse(rollout.maintenanceWindow), new Date())
      : null,
    options: {
      deviceTimeoutSeconds: rollout.deviceTimeoutSeconds,
      maxRetries: rollout.maxRetries,
      retryBackoffSeconds: rollout.retryBackoffSeconds,
      maxConcurrentPerServer: rollout.maxConcurrentPerServer,
      disruptionBudget: rollout.disruptionBudget
        ? disruptionBudgetSchema.parse(rollout.disruptionBudget)
        : null,
      rollbackOnAbort: rollout.rollbackOnAbort,
    },
    thresholds: {
      successPercent: rollout.successThresholdPercent,
      failureCount: rollout.failureThresholdCount,
      failurePercent: rollout.failureThresholdPercent,
      minSample: rollout.failureMinSample,
      action: rollout.failureAction,
      failed: counts.all.failed,
      succeeded: counts.all.succeeded,
    },
    batches: rollout.batches.map((b) => {
      const { total, succeeded, failed, inFlight, waiting, excluded } = counts.ofBatch(b.index);
      return {
        index: b.index,
        state: b.state,
        gate: b.gate,
        approved: b.approvedById !== null,
        count: b.count,
        percent: b.percent,
        selector: b.selector ? labelsOf((b.selector as { labels?: unknown }).labels) : null,
        soakSeconds: b.soakSeconds,
        soakUntil: b.soakUntil,
        startedAt: b.startedAt,
        completedAt: b.completedAt,
        total,
        succeeded,
        failed,
        inFlight,
        waiting,
        excluded,
      };
    }),
    /** every device of the rollout by category (rollouts.devices lists them a page at a time) */
    devices: counts.all,
    /** devices left out at creation (no batch): preflight said they cannot converge, or are done */
    excluded: counts.ofBatch(null).total,
    /** the newest events (rollouts.events pages through all of them) */
    events: rollout.events.map((e) => ({ at: e.at, message: e.message, deviceId: e.deviceId })),
  };
}

/** the rollouts the scheduler ticks */
export async function activeRolloutIds(db: Db) {
  const rows = await db.rollout.findMany({
    where: {
      OR: [
        { state: { in: [...ACTIVE_ROLLOUT_STATES] } },
        // stopped, with devices still to report their outcome
        {
          state: { in: ['aborted', 'failed'] },
          devices: { some: { state: { in: ['applying', 'soaking'] } } },
        },
      ],
    },
    select: { id: true },
    take: 1000,
  });
  return rows.map((r) => r.id);
}

// ---------------------------------------------------------------------------------- actions

export const rolloutActionInput = z.object({
  rolloutId: z.uuid(),
  reason: z.string().max(500).optional(),
});

async function inTransition<T>(
  ctx: ServiceContext,
  rolloutId: string,
  allowed: readonly string[],
  verb: string,
  act: (
    tx: Prisma.TransactionClient,
    rollout: { id: string; name: string; state: string; rollbackOnAbort: boolean },
  ) => Promise<T>,
) {
  return ctx.db.$transaction(async (tx) => {
    // the same lock as the scheduler's tick: an action and a tick do not interleave
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`rollout:${rolloutId}`}, 0))`;
    const rollout = await tx.rollout.findUnique({
      where: { id: rolloutId },
      select: { id: true, name: true, state: true, rollbackOnAbort: true },
    });
    if (!rollout) throw new AppError('NOT_FOUND', 'No such rollout.');
    if (!allowed.includes(rollout.state))
      throw new AppError(
        'PRECONDITION_FAILED',
        `The rollout is ${rollout.state}: it cannot be ${verb}.`,
      );
    const result = await act(tx, rollout);
    await wakeRollout(tx, rollout.id);
    return result;
  });
}

export async function startRollout(ctx: ServiceContext, input: z.input<typeof rolloutActionInput>) {
  const { rolloutId } = rolloutActionInput.parse(input);
  return inTransition(ctx, rolloutId, ['draft'], 'started', async (tx, rollout) => {
    await tx.rollout.update({ where: { id: rollout.id }, data: { state: 'scheduled' } });
    await rolloutEvent(tx, rollout.id, `scheduled by ${ctx.actor.label}`);
    return { state: 'scheduled' as const };
  });
}

export async function pauseRollout(ctx: ServiceContext, input: z.input<typeof rolloutActionInput>) {
  const { rolloutId, reason } = rolloutActionInput.parse(input);
  return inTransition(ctx, rolloutId, ['scheduled', 'running'], 'paused', async (tx, rollout) => {
    await pauseInTx(tx, ctx, rollout, reason ?? `paused by ${ctx.actor.label}`);
    return { state: 'paused' as const };
  });
}

export async function resumeRollout(
  ctx: ServiceContext,
  input: z.input<typeof rolloutActionInput>,
) {
  const { rolloutId } = rolloutActionInput.parse(input);
  return inTransition(ctx, rolloutId, ['paused'], 'resumed', async (tx, rollout) => {
    await tx.rollout.update({
      where: { id: rollout.id },
      data: { state: 'running', stateReason: null },
    });
    await rolloutEvent(tx, rollout.id, `resumed by ${ctx.actor.label}`);
    await auditRollout(ctx, tx, 'rollout.resumed', rollout);
    return { state: 'running' as const };
  });
}

export async function approveNextBatch(
  ctx: ServiceContext,
  input: z.input<typeof rolloutActionInput>,
) {
  const { rolloutId } = rolloutActionInput.parse(input);
  return inTransition(
    ctx,
    rolloutId,
    ['scheduled', 'running', 'paused'],
    'approved',
    async (tx, rollout) => {
      const batch = await tx.rolloutBatch.findFirst({
        where: {
          rolloutId,
          state: { in: ['pending', 'awaiting_approval'] },
          gate: 'manual',
          approvedById: null,
        },
        orderBy: { index: 'asc' },
      });
      if (!batch) throw new AppError('PRECONDITION_FAILED', 'No batch waits for approval.');
      await tx.rolloutBatch.update({
        where: { id: batch.id },
        data: {
          approvedById: ctx.actor.type === 'operator' ? ctx.actor.id : ctx.actor.label,
          state: 'pending',
        },
      });
      await rolloutEvent(tx, rollout.id, `batch ${batch.index + 1} approved by ${ctx.actor.label}`);
      await auditRollout(ctx, tx, 'rollout.batch_approved', rollout, { batch: batch.index + 1 });
      return { batch: batch.index + 1 };
    },
  );
}

export async function abortRollout(ctx: ServiceContext, input: z.input<typeof rolloutActionInput>) {
  const { rolloutId, reason } = rolloutActionInput.parse(input);
  const rollout = await inTransition(
    ctx,
    rolloutId,
    ['draft', 'scheduled', 'running', 'paused'],
    'aborted',
    async (tx, r) => {
      await abortInTx(tx, ctx, r, reason ?? `aborted by ${ctx.actor.label}`);
      return r;
    },
  );
  const reverted = rollout.rollbackOnAbort ? await revertDevices(ctx, rollout) : 0;
  return { state: 'aborted' as const, reverted };
}

export async function retryFailedDevices(
  ctx: ServiceContext,
  input: z.input<typeof rolloutActionInput>,
) {
  const { rolloutId } = rolloutActionInput.parse(input);
  return inTransition(ctx, rolloutId, ['running', 'paused'], 'retried', async (tx, rollout) => {
    const moved = await tx.rolloutDevice.updateMany({
      where: { rolloutId, state: { in: ['failed', 'timed_out'] }, batchIndex: { not: null } },
      data: { state: 'scheduled', nextAttemptAt: null, lastCommandId: null },
    });
    // their batches are open again
    await tx.rolloutBatch.updateMany({
      where: { rolloutId, state: 'failed' },
      data: { state: 'running', completedAt: null },
    });
    await rolloutEvent(
      tx,
      rollout.id,
      `${moved.count} failed devices retried by ${ctx.actor.label}`,
    );
    await auditRollout(ctx, tx, 'rollout.retried', rollout, { devices: moved.count });
    return { devices: moved.count };
  });
}

function revertDevices(ctx: ServiceContext, rollout: { id: string; name: string }) {
  return revertSucceeded(ctx, rollout, `by ${ctx.actor.label}`);
}

/** Revert: the succeeded devices back to the previous slot (no download). The rollout stops. */
export async function revertRollout(
  ctx: ServiceContext,
  input: z.input<typeof rolloutActionInput>,
) {
  const { rolloutId } = rolloutActionInput.parse(input);
  const rollout = await inTransition(
    ctx,
    rolloutId,
    ['running', 'paused', 'completed', 'aborted', 'failed'],
    'reverted',
    async (tx, r) => {
      if (r.state === 'running' || r.state === 'paused')
        await abortInTx(tx, ctx, r, `reverted by ${ctx.actor.label}`);
      return r;
    },
  );
  return { devices: await revertDevices(ctx, rollout) };
}

// ---------------------------------------------------------------------------------- trace

/**
 * "Why is this device not on version X?": each rollout that pins X (or the given rollout) and
 * what it decided for the device, in words, plus the device's own facts.
 */
export async function traceDevice(
  ctx: Pick<ServiceContext, 'db'>,
  input: { deviceId: string; rolloutId?: string },
) {
  const { deviceId, rolloutId } = z
    .object({ deviceId: z.uuid(), rolloutId: z.uuid().optional() })
    .parse(input);
  const device = await ctx.db.device.findUnique({
    where: { id: deviceId },
    select: targetDeviceSelect,
  });
  if (!device) throw new AppError('NOT_FOUND', 'No such device.');
  const rollouts = await ctx.db.rollout.findMany({
    where: rolloutId
      ? { id: rolloutId }
      : { state: { in: [...ACTIVE_ROLLOUT_STATES, 'completed'] } },
    orderBy: { createdAt: 'desc' },
    take: 20,
    include: {
      batches: { orderBy: { index: 'asc' } },
      devices: {
        where: { deviceId },
        include: { device: { select: { name: true, presence: { select: { online: true } } } } },
      },
      imageVersion: { include: { image: { select: { name: true } } } },
    },
  });
  const rollbacks = await rollbacksOf(
    ctx.db,
    rollouts.flatMap((r) => r.devices),
  );
  return {
    device: device.name,
    online: device.presence?.online ?? false,
    rollouts: rollouts.map((r) => {
      const version = `${r.imageVersion.image.name} ${r.imageVersion.label ?? r.pinnedRootPrefixHash.slice(0, 12)}`;
      const steps: string[] = [];
      const member = r.devices[0];
      if (device.rootPrefixHash === r.pinnedRootPrefixHash) steps.push(`already runs ${version}`);
      else if (!member) {
        const target = rolloutTargetSchema.parse(r.target);
        const inTarget = target.deviceIds
          ? target.deviceIds.includes(deviceId)
          : target.imageName
            ? device.imageName === target.imageName
            : matchesLabels(device.labels, target.labels);
        steps.push(
          inTarget
            ? r.dynamic
              ? 'in the target; joins at the next tick'
              : 'joined the target after the rollout was created (not dynamic)'
            : 'not in the target',
        );
      } else {
        const view = deviceView(member, r, rollbacks.get(member.lastCommandId ?? ''));
        steps.push(`rollout is ${r.state}${r.stateReason ? ` (${r.stateReason})` : ''}`);
        if (member.batchIndex !== null) {
          const batch = r.batches[member.batchIndex];
          steps.push(
            `in batch ${member.batchIndex + 1}${batch ? ` (${batch.state.replace('_', ' ')})` : ''}`,
          );
        }
        steps.push(`${view.category.replace('_', ' ')}: ${view.reason}`);
        if (!device.presence?.online && member.state !== 'succeeded')
          steps.push(
            `offline since ${(device.presence?.lastSeenAt ?? device.lastSeenAt)?.toISOString() ?? 'it enrolled'}`,
          );
      }
      return { rolloutId: r.id, rollout: r.name, version, state: member?.state ?? null, steps };
    }),
  };
}
