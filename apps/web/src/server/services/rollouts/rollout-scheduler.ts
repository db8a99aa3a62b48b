// The rollout scheduler's tick: one rollout, one decision round. Safe to run twice and on several
// processes at once:
// - the decision round holds a transaction-scoped advisory lock per rollout (a second tick that
//   finds it taken returns "busy" and changes nothing);
// - an apply is sent only by the tick whose compare-and-set moved the rollout device from
//   `scheduled` with attempts = n to `applying` with attempts = n + 1: (rollout device, attempt)
//   is the unique key of an apply, so two ticks can never send the same attempt twice;
// - everything it knows is in rows (states, soak ends, retry times), so a restart loses nothing.
// What counts as success: the apply command `succeeded` (the agent reports it only after booting
// the new slot, EOS committing it and the whole-slot hash matching), the device back online on
// the pinned hash, and online through the batch's soak. Timed out, rolled back, failed, or offline
// during soak: failed at once, counted toward the failure threshold.
import type { Db, Prisma } from '@eos-fleet/db';
import { TERMINAL_COMMAND_STATES } from '@eos-fleet/shared/domain';
import { recordAuditEvent } from '../audit/record-audit-event';
import { noteChange } from '../events/change-notices';
import { applyImageVersion } from '../catalog/apply-image-version';
import { createCommand } from '../commands/commands';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import { AppError } from '../errors';
import type { AuditAction } from '../audit/audit-actions';
import {
  disruptionBudgetSchema,
  maintenanceWindowSchema,
  rolloutTargetSchema,
  windowState,
} from './rollout-inputs';
import {
  labelsOf,
  otherActiveRollouts,
  preflight,
  targetDeviceSelect,
  targetWhere,
  type PinnedVersion,
} from './rollout-targets';

type Tx = Prisma.TransactionClient;

/** rollout device states that are over for this rollout */
export const SETTLED_DEVICE_STATES = [
  'succeeded',
  'failed',
  'timed_out',
  'skipped',
  'reverted',
] as const;
const FAILED = ['failed', 'timed_out'] as const;
/** a claimed device with no command recorded this long is a tick that died before sending */
const CLAIM_GRACE_MS = 60_000;

export interface TickOutcome {
  outcome: 'busy' | 'idle' | 'ticked';
  /** applies sent by this tick */
  sent: number;
  /** when the next time-driven tick is due (soak end, retry, window, start) */
  nextAt: Date | null;
}

async function loadPinned(db: Tx | Db, imageVersionId: string) {
  const version = await db.imageVersion.findUniqueOrThrow({
    where: { id: imageVersionId },
    include: { image: { include: { updateServer: true } } },
  });
  return version;
}

function pinnedOf(
  rollout: { pinnedRootPrefixHash: string; pinnedRootSha256: string; pinnedRootBytes: bigint },
  version: Awaited<ReturnType<typeof loadPinned>>,
): PinnedVersion {
  return {
    id: version.id,
    rootPrefixHash: rollout.pinnedRootPrefixHash,
    rootSha256: rollout.pinnedRootSha256,
    rootPartitionSize: rollout.pinnedRootBytes,
    arch: version.arch ?? version.image.arch,
    profile: version.profile ?? version.image.profile,
    imageName: version.image.name,
    updateServer: {
      id: version.image.updateServer.id,
      name: version.image.updateServer.name,
      sshTarget: version.image.updateServer.sshTarget,
      maxConcurrentApplies: version.image.updateServer.maxConcurrentApplies,
    },
  };
}

export async function rolloutEvent(
  tx: Tx,
  rolloutId: string,
  message: string,
  deviceId: string | null = null,
) {
  await tx.rolloutEvent.create({ data: { rolloutId, message, deviceId } });
  // every transition writes an event: the dashboard's rollout views hear of it here
  noteChange('rollouts');
}

export async function auditRollout(
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  tx: Tx,
  action: AuditAction,
  rollout: { id: string; name: string },
  data: Record<string, unknown> = {},
) {
  await recordAuditEvent(ctx, tx, {
    action,
    targetType: 'rollout',
    targetId: rollout.id,
    data: { name: rollout.name, ...data },
  });
}

interface Claim {
  rolloutDeviceId: string;
  deviceId: string;
  attempt: number;
}

/**
 * One decision round for `rolloutId` at `now`. Sends the applies it claimed after its
 * transaction committed (a command is created by the command service, in its own transaction).
 */
export async function tickRollout(
  db: Db,
  rolloutId: string,
  now = new Date(),
): Promise<TickOutcome> {
  const decided = await db.$transaction(
    async (tx) => {
      const [lock] = await tx.$queryRaw<{ got: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(hashtextextended(${`rollout:${rolloutId}`}, 0)) AS got`;
      if (!lock?.got) return { outcome: 'busy' as const };
      const rollout = await tx.rollout.findUnique({
        where: { id: rolloutId },
        include: { batches: { orderBy: { index: 'asc' } } },
      });
      if (!rollout || !['scheduled', 'running', 'paused'].includes(rollout.state))
        return { outcome: 'idle' as const };
      return decide(tx, rollout, now);
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  if (decided.outcome !== 'ticked') return { outcome: decided.outcome, sent: 0, nextAt: null };
  let sent = 0;
  for (const claim of decided.claims) if (await sendApply(db, decided.rollout, claim)) sent++;
  return { outcome: 'ticked', sent, nextAt: decided.nextAt };
}

async function sendApply(
  db: Db,
  rollout: { id: string; name: string; imageVersionId: string; pinnedRootSha256: string },
  claim: Claim,
): Promise<boolean> {
  const ctx = { db, actor: { type: 'system' as const, label: `rollout ${rollout.name}` } };
  try {
    const command = await applyImageVersion(
      ctx,
      { deviceId: claim.deviceId, imageVersionId: rollout.imageVersionId },
      { rolloutId: rollout.id, pinnedRootSha256: rollout.pinnedRootSha256 },
    );
    await db.rolloutDevice.updateMany({
      where: { id: claim.rolloutDeviceId, attempts: claim.attempt, state: 'applying' },
      data: { lastCommandId: command.id, skipReason: null },
    });
    return true;
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    // refused before anything was sent: the device cannot take it (it counts as failed)
    await db.$transaction(async (tx) => {
      const moved = await tx.rolloutDevice.updateMany({
        where: { id: claim.rolloutDeviceId, attempts: claim.attempt, state: 'applying' },
        data: { state: 'failed', lastError: error.message },
      });
      if (moved.count)
        await rolloutEvent(tx, rollout.id, `apply refused: ${error.message}`, claim.deviceId);
    });
    return false;
  }
}

type LoadedRollout = Prisma.RolloutGetPayload<{ include: { batches: true } }>;

async function decide(tx: Tx, rollout: LoadedRollout, now: Date) {
  const system = { actor: SYSTEM_ACTOR };
  let nextAt: Date | null = null;
  const wake = (at: Date | null | undefined) => {
    if (at && at > now && (!nextAt || at < nextAt)) nextAt = at;
  };
  const claims: Claim[] = [];
  const done = { outcome: 'ticked' as const, rollout, claims, nextAt: null as Date | null };

  // --- start time
  if (rollout.state === 'scheduled') {
    if (rollout.startAt && rollout.startAt > now) {
      wake(rollout.startAt);
      return { ...done, nextAt };
    }
    await tx.rollout.update({
      where: { id: rollout.id },
      data: { state: 'running', startedAt: now },
    });
    rollout.state = 'running';
    await rolloutEvent(tx, rollout.id, 'started');
    await auditRollout(system, tx, 'rollout.started', rollout);
  }

  const version = await loadPinned(tx, rollout.imageVersionId);
  const pinned = pinnedOf(rollout, version);
  const offered = {
    available: version.available,
    blocked: version.blocked,
    rootSha256: version.rootSha256,
  };

  // --- dynamic mode: devices that joined the target since go to the current (or last) batch
  if (rollout.dynamic) await pickUpNewDevices(tx, rollout, pinned, offered);

  const members = await tx.rolloutDevice.findMany({
    where: { rolloutId: rollout.id },
    include: { device: { select: targetDeviceSelect } },
  });
  const commandIds = members.map((m) => m.lastCommandId).filter((id): id is string => !!id);
  const commands = new Map(
    (
      await tx.command.findMany({
        where: { id: { in: commandIds } },
        select: {
          id: true,
          state: true,
          error: true,
          errorCode: true,
          createdAt: true,
          completedAt: true,
        },
      })
    ).map((c) => [c.id, c]),
  );
  const batchOf = new Map(rollout.batches.map((b) => [b.index, b]));

  // --- in-flight and soaking devices: what their commands and presence say
  for (const member of members) {
    const online = member.device.presence?.online === true;
    const set = async (data: Prisma.RolloutDeviceUpdateManyMutationInput, message?: string) => {
      const moved = await tx.rolloutDevice.updateMany({
        where: { id: member.id, state: member.state, attempts: member.attempts },
        data,
      });
      if (moved.count) {
        Object.assign(member, data);
        if (message)
          await rolloutEvent(tx, rollout.id, `${member.device.name}: ${message}`, member.deviceId);
      }
    };
    if (member.state === 'applying') {
      const command = member.lastCommandId ? commands.get(member.lastCommandId) : undefined;
      if (!command) {
        // a tick claimed it and died before recording the command: find it, or release the claim
        if (now.getTime() - member.updatedAt.getTime() < CLAIM_GRACE_MS) continue;
        const found = await tx.command.findFirst({
          where: {
            rolloutId: rollout.id,
            deviceId: member.deviceId,
            kind: 'apply',
            createdAt: { gte: new Date(member.updatedAt.getTime() - CLAIM_GRACE_MS) },
          },
          orderBy: { createdAt: 'desc' },
          select: { id: true },
        });
        await set(found ? { lastCommandId: found.id } : { state: 'scheduled' });
        continue;
      }
      const attemptsLeft = member.attempts <= rollout.maxRetries;
      const fail = async (reason: string, state: 'failed' | 'timed_out', retryable: boolean) => {
        if (retryable && attemptsLeft) {
          const backoff =
            rollout.retryBackoffSeconds * 1000 * 2 ** Math.max(0, member.attempts - 1);
          const at = new Date(now.getTime() + backoff);
          await set(
            { state: 'scheduled', lastError: reason, nextAttemptAt: at, lastCommandId: null },
            `${reason}; retry ${member.attempts} of ${rollout.maxRetries} at ${at.toISOString()}`,
          );
          wake(at);
        } else await set({ state, lastError: reason }, reason);
      };
      switch (command.state) {
        case 'succeeded': {
          if (!online) break; // back when it reconnects (the soak starts then)
          if (member.device.rootPrefixHash !== pinned.rootPrefixHash) break; // inventory to come
          const soak = batchOf.get(member.batchIndex ?? -1)?.soakSeconds ?? 0;
          if (soak === 0)
            await set({ state: 'succeeded', lastError: null }, 'runs the new version');
          else {
            const until = new Date(now.getTime() + soak * 1000);
            await set(
              { state: 'soaking', soakUntil: until },
              `booted the new version; soaking until ${until.toISOString()}`,
            );
            wake(until);
          }
          break;
        }
        case 'rolled_back':
          await fail('rolled back to its previous slot', 'failed', false);
          break;
        case 'timed_out':
          await fail(
            'did not come back with a result before its deadline (unreachable)',
            'timed_out',
            false,
          );
          break;
        case 'failed':
        case 'cancelled':
          await fail(
            `apply ${command.state}: ${command.error ?? command.errorCode ?? 'no reason given'}`,
            'failed',
            true,
          );
          break;
        default:
          if (now.getTime() - command.createdAt.getTime() > rollout.deviceTimeoutSeconds * 1000)
            await fail(
              `no outcome within the per-device timeout of ${rollout.deviceTimeoutSeconds} s`,
              'timed_out',
              false,
            );
          else
            wake(new Date(command.createdAt.getTime() + rollout.deviceTimeoutSeconds * 1000 + 1));
      }
    } else if (member.state === 'soaking') {
      if (!online)
        await set(
          { state: 'failed', lastError: 'went offline during soak' },
          'went offline during soak',
        );
      else if (member.device.rootPrefixHash !== pinned.rootPrefixHash)
        await set(
          { state: 'failed', lastError: 'left the new version during soak (rolled back)' },
          'left the new version during soak',
        );
      else if (member.soakUntil && member.soakUntil <= now)
        await set({ state: 'succeeded', lastError: null }, 'stayed online through its soak');
      else wake(member.soakUntil);
    } else if (member.state === 'scheduled' && member.nextAttemptAt) wake(member.nextAttemptAt);
  }

  // --- failure threshold (judged over the whole rollout, once the minimum sample is reached)
  const failed = members.filter((m) => (FAILED as readonly string[]).includes(m.state)).length;
  const succeeded = members.filter((m) => m.state === 'succeeded').length;
  const sample = failed + succeeded;
  if (rollout.state === 'running' && sample >= rollout.failureMinSample) {
    const byCount =
      rollout.failureThresholdCount !== null && failed >= rollout.failureThresholdCount;
    const byPercent =
      rollout.failureThresholdPercent !== null &&
      failed * 100 >= rollout.failureThresholdPercent * sample;
    if (failed > 0 && (byCount || byPercent)) {
      const reason = `failure threshold reached: ${failed} of ${sample} devices failed (threshold ${rollout.failureThresholdCount ?? `${rollout.failureThresholdPercent}%`})`;
      if (rollout.failureAction === 'abort') await abortInTx(tx, system, rollout, reason);
      else await pauseInTx(tx, system, rollout, reason);
      return { ...done, nextAt };
    }
  }

  // --- batches
  let current = rollout.batches.find((b) => b.state !== 'succeeded' && b.state !== 'failed');
  while (current) {
    const index = current.index;
    const inBatch = members.filter((m) => m.batchIndex === index);
    if (current.state === 'pending') {
      if (rollout.state !== 'running') break;
      if (current.gate === 'manual' && !current.approvedById) {
        await tx.rolloutBatch.update({
          where: { id: current.id },
          data: { state: 'awaiting_approval' },
        });
        current.state = 'awaiting_approval';
        await rolloutEvent(tx, rollout.id, `batch ${current.index + 1} waits for approval`);
        break;
      }
      await startBatch(tx, rollout.id, current, now);
      for (const m of inBatch) if (m.state === 'pending') m.state = 'scheduled';
    }
    if (current.state === 'awaiting_approval') break;
    const settled = inBatch.every((m) =>
      (SETTLED_DEVICE_STATES as readonly string[]).includes(m.state),
    );
    if (!settled) break;
    const ok = inBatch.filter((m) => m.state === 'succeeded').length;
    const bad = inBatch.filter((m) => (FAILED as readonly string[]).includes(m.state)).length;
    const percent = ok + bad === 0 ? 100 : Math.floor((ok * 100) / (ok + bad));
    const passed = percent >= rollout.successThresholdPercent;
    await tx.rolloutBatch.update({
      where: { id: current.id },
      data: { state: passed ? 'succeeded' : 'failed', completedAt: now },
    });
    current.state = passed ? 'succeeded' : 'failed';
    await rolloutEvent(
      tx,
      rollout.id,
      `batch ${current.index + 1} ${passed ? 'succeeded' : 'failed'}: ${ok} succeeded, ${bad} failed (${percent}%, threshold ${rollout.successThresholdPercent}%)`,
    );
    if (!passed && rollout.state === 'running') {
      await pauseInTx(
        tx,
        system,
        rollout,
        `batch ${current.index + 1} reached ${percent}% success, below the ${rollout.successThresholdPercent}% threshold`,
      );
      return { ...done, nextAt };
    }
    current = rollout.batches.find((b) => b.state !== 'succeeded' && b.state !== 'failed');
  }
  if (!current && rollout.state === 'running') {
    const anyFailed = rollout.batches.some((b) => b.state === 'failed');
    await tx.rollout.update({
      where: { id: rollout.id },
      data: {
        state: 'completed',
        completedAt: now,
        stateReason: anyFailed ? 'completed after a failed batch was resumed' : null,
      },
    });
    await rolloutEvent(tx, rollout.id, `completed: ${succeeded} succeeded, ${failed} failed`);
    await auditRollout(system, tx, 'rollout.completed', rollout, { succeeded, failed });
    return { ...done, nextAt: null };
  }
  if (rollout.state !== 'running' || !current || current.state !== 'running')
    return { ...done, nextAt };

  // --- claims: the current batch's scheduled devices, inside the window, the budget and the caps
  const window = rollout.maintenanceWindow
    ? maintenanceWindowSchema.parse(rollout.maintenanceWindow)
    : null;
  const win = windowState(window, now);
  const waiting = members.filter(
    (m) =>
      m.batchIndex === current.index &&
      m.state === 'scheduled' &&
      (!m.nextAttemptAt || m.nextAttemptAt <= now),
  );
  const hold = async (m: (typeof members)[number], reason: string) => {
    if (m.skipReason !== reason)
      await tx.rolloutDevice.updateMany({
        where: { id: m.id, state: 'scheduled' },
        data: { skipReason: reason },
      });
  };
  if (!win.open) {
    wake(win.opensAt);
    const reason = `outside the maintenance window (next opening ${win.opensAt?.toISOString() ?? 'never'})`;
    for (const m of waiting) await hold(m, reason);
    return { ...done, nextAt };
  }

  const server = version.image.updateServer;
  const cap = Math.min(rollout.maxConcurrentPerServer ?? Infinity, server.maxConcurrentApplies);
  const serverRollouts = (
    await tx.rollout.findMany({
      where: { imageVersion: { image: { updateServerId: server.id } } },
      select: { id: true },
    })
  ).map((r) => r.id);
  // exact: apply commands not terminal, of devices online (offline, failed, timed out free the slot)
  let inFlight = await tx.command.count({
    where: {
      kind: 'apply',
      state: { notIn: [...TERMINAL_COMMAND_STATES] },
      device: { presence: { online: true } },
      OR: [{ rolloutId: { in: serverRollouts } }, { device: { updateServerId: server.id } }],
    },
  });

  const budget = rollout.disruptionBudget
    ? disruptionBudgetSchema.parse(rollout.disruptionBudget)
    : null;
  const unavailable = new Map<string, number>();
  const sizeOf = new Map<string, number>();
  if (budget)
    for (const m of members) {
      const value = labelsOf(m.device.labels)[budget.label] ?? '';
      sizeOf.set(value, (sizeOf.get(value) ?? 0) + 1);
      // unavailable: applying (downloading, rebooting) or offline; a failed device that is up
      // runs its old image and serves
      if (m.state === 'applying' || (m.state !== 'succeeded' && !m.device.presence?.online))
        unavailable.set(value, (unavailable.get(value) ?? 0) + 1);
    }

  const others = await otherActiveRollouts(
    tx as unknown as Db,
    waiting.map((m) => m.deviceId),
    rollout.id,
  );
  for (const m of waiting) {
    const problem = preflight(m.device, pinned, offered, others.get(m.deviceId) ?? null);
    if (problem?.kind === 'done') {
      await tx.rolloutDevice.updateMany({
        where: { id: m.id, state: 'scheduled' },
        data: { state: 'succeeded', skipReason: 'already runs the target version' },
      });
      continue;
    }
    if (problem) {
      // content no longer offered is held (never other bytes); other problems exclude the device
      const held = problem.kind === 'waiting' || problem.reason.includes('no longer offers');
      if (held)
        await hold(
          m,
          held && problem.kind !== 'waiting' ? `held: ${problem.reason}` : problem.reason,
        );
      else {
        await tx.rolloutDevice.updateMany({
          where: { id: m.id, state: 'scheduled' },
          data: { state: 'skipped', skipReason: problem.reason },
        });
        await rolloutEvent(
          tx,
          rollout.id,
          `${m.device.name}: excluded: ${problem.reason}`,
          m.deviceId,
        );
      }
      continue;
    }
    if (inFlight >= cap) {
      await hold(m, `${server.name} is at its cap of ${cap} concurrent applies`);
      continue;
    }
    if (budget) {
      const value = labelsOf(m.device.labels)[budget.label] ?? '';
      const limit = budget.percent
        ? Math.max(1, Math.floor(((sizeOf.get(value) ?? 0) * budget.max) / 100))
        : budget.max;
      if ((unavailable.get(value) ?? 0) >= limit) {
        await hold(
          m,
          `disruption budget: ${limit} of ${budget.label}=${value} already unavailable`,
        );
        continue;
      }
      unavailable.set(value, (unavailable.get(value) ?? 0) + 1);
    }
    const moved = await tx.rolloutDevice.updateMany({
      where: { id: m.id, state: 'scheduled', attempts: m.attempts },
      data: {
        state: 'applying',
        attempts: m.attempts + 1,
        lastCommandId: null,
        skipReason: null,
        nextAttemptAt: null,
        previousRootPrefixHash: m.device.rootPrefixHash,
      },
    });
    if (!moved.count) continue;
    inFlight++;
    claims.push({ rolloutDeviceId: m.id, deviceId: m.deviceId, attempt: m.attempts + 1 });
  }
  if (win.closesAt) wake(win.closesAt);
  return { ...done, nextAt };
}

async function startBatch(
  tx: Tx,
  rolloutId: string,
  batch: LoadedRollout['batches'][number],
  now: Date,
) {
  await tx.rolloutBatch.update({
    where: { id: batch.id },
    data: { state: 'running', startedAt: now },
  });
  batch.state = 'running';
  await tx.rolloutDevice.updateMany({
    where: { rolloutId, batchIndex: batch.index, state: 'pending' },
    data: { state: 'scheduled' },
  });
  await rolloutEvent(tx, rolloutId, `batch ${batch.index + 1} started`);
}

export async function pauseInTx(
  tx: Tx,
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  rollout: { id: string; name: string; state: string },
  reason: string,
) {
  await tx.rollout.update({
    where: { id: rollout.id },
    data: { state: 'paused', stateReason: reason },
  });
  rollout.state = 'paused';
  await rolloutEvent(tx, rollout.id, `paused: ${reason}`);
  await auditRollout(ctx, tx, 'rollout.paused', rollout, {
    reason,
  });
}

/** Abort: no new applies; queued ones are left to finish or expire; optionally revert. */
export async function abortInTx(
  tx: Tx,
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  rollout: { id: string; name: string; state: string },
  reason: string,
) {
  await tx.rollout.update({
    where: { id: rollout.id },
    data: { state: 'aborted', stateReason: reason, completedAt: new Date() },
  });
  rollout.state = 'aborted';
  await tx.rolloutDevice.updateMany({
    where: { rolloutId: rollout.id, state: { in: ['pending', 'scheduled'] } },
    data: { state: 'skipped', skipReason: 'the rollout was aborted' },
  });
  await rolloutEvent(tx, rollout.id, `aborted: ${reason}`);
  await auditRollout(ctx, tx, 'rollout.aborted', rollout, {
    reason,
  });
}

/** Revert: the succeeded devices go back to their previous slot (`os-update --rollback`). */
export async function sendReverts(ctx: ServiceContext, rollout: { id: string; name: string }) {
  const members = await ctx.db.rolloutDevice.findMany({
    where: { rolloutId: rollout.id, state: { in: ['succeeded', 'soaking'] } },
    select: { id: true, deviceId: true, state: true },
  });
  let sent = 0;
  for (const member of members) {
    const moved = await ctx.db.rolloutDevice.updateMany({
      where: { id: member.id, state: member.state },
      data: { state: 'reverted', skipReason: 'sent back to its previous slot' },
    });
    if (!moved.count) continue; // another revert took it
    try {
      const command = await createCommand(
        ctx,
        { deviceId: member.deviceId, kind: 'rollback', params: {} },
        { rolloutId: rollout.id },
      );
      await ctx.db.rolloutDevice.update({
        where: { id: member.id },
        data: { lastCommandId: command.id },
      });
      sent++;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      await ctx.db.rolloutDevice.update({
        where: { id: member.id },
        data: { lastError: `revert refused: ${error.message}` },
      });
    }
  }
  return sent;
}

/** Dynamic mode: target devices not yet members join the current batch (or the last). */
async function pickUpNewDevices(
  tx: Tx,
  rollout: LoadedRollout,
  pinned: PinnedVersion,
  offered: { available: boolean; blocked: boolean; rootSha256: string | null },
) {
  const target = rolloutTargetSchema.parse(rollout.target);
  const fresh = await tx.device.findMany({
    where: { AND: [targetWhere(target), { rollouts: { none: { rolloutId: rollout.id } } }] },
    select: targetDeviceSelect,
    take: 1000,
  });
  if (!fresh.length) return;
  const others = await otherActiveRollouts(
    tx as unknown as Db,
    fresh.map((d) => d.id),
    rollout.id,
  );
  const open =
    rollout.batches.find((b) => b.state !== 'succeeded' && b.state !== 'failed') ??
    rollout.batches.at(-1);
  for (const device of fresh) {
    const problem = preflight(device, pinned, offered, others.get(device.id) ?? null);
    const excluded = problem && problem.kind !== 'waiting';
    await tx.rolloutDevice.createMany({
      data: [
        {
          rolloutId: rollout.id,
          deviceId: device.id,
          batchIndex: excluded ? null : (open?.index ?? 0),
          state: excluded
            ? 'skipped'
            : open && open.state !== 'pending' && open.state !== 'awaiting_approval'
              ? 'scheduled'
              : 'pending',
          skipReason: problem?.reason ?? null,
        },
      ],
      skipDuplicates: true,
    });
    await rolloutEvent(
      tx,
      rollout.id,
      `${device.name} joined the target${excluded ? ` (excluded: ${problem.reason})` : ''}`,
      device.id,
    );
  }
}
