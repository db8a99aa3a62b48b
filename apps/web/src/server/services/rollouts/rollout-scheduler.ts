// The rollout scheduler's tick: one rollout, one decision round. Safe to run twice and on several
// processes at once:
// - the decision round holds a transaction-scoped advisory lock per rollout (a second tick that
//   finds it taken returns "busy" and changes nothing);
// - an apply is sent only by the tick whose compare-and-set moved the rollout device from
//   `scheduled` with attempts = n to `applying` with attempts = n + 1: (rollout device, attempt)
//   is the unique key of an apply, so two ticks can never send the same attempt twice;
// - everything it knows is in rows (states, soak ends, retry times), so a restart loses nothing.
// The round costs statements per kind of decision, not per device (bench/rollout-schedule.ts): its
// moves are set-based UPDATEs that keep the compare-and-set per device (id AND state AND attempts),
// and a tick's claims are sent in chunks, one transaction each.
// What counts as success: the apply command `succeeded` (the agent reports it only after booting
// the new slot, EOS committing it and the whole-slot hash matching), the device back online on
// the pinned hash, and online through the batch's soak. Timed out, rolled back, failed, or offline
// during soak: failed at once, counted toward the failure threshold.
import { Prisma, type Db, type RolloutDeviceState } from '@eos-fleet/db';
import { TERMINAL_COMMAND_STATES } from '@eos-fleet/shared/domain';
import { commandSchema, describeIssues } from '@eos-fleet/shared/protocol/index';
import { recordAuditEvent, recordAuditEvents } from '../audit/record-audit-event';
import { configuredServerOf, sameSshTarget } from '../catalog/resolve-device-versions';
import { enqueueCommands, provisionalApplyDeadline } from '../commands/command-lifecycle';
import { noteChange } from '../events/change-notices';
import { createCommand } from '../commands/commands';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import { AppError } from '../errors';
import { publishFleetEvents } from '../events/fleet-events';
import type { AuditAction } from '../audit/audit-actions';
import {
  disruptionBudgetSchema,
  inZone,
  maintenanceWindowSchema,
  rolloutTargetSchema,
  windowState,
} from './rollout-inputs';
import { cancelQueuedRolloutApplies } from '../commands/command-lifecycle';
import {
  labelsOf,
  missingWorkloads,
  otherActiveRollouts,
  preflight,
  targetDeviceSelect,
  targetWhere,
  workloadNames,
  type PinnedVersion,
  type TargetDevice,
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
/** the rollouts the scheduler ticks: active ones, and stopped ones whose devices still report */
export const TICKED_ROLLOUT_STATES = [
  'scheduled',
  'running',
  'paused',
  'aborted',
  'failed',
] as const;
/** a claimed device with no command recorded this long is a tick that died before sending */
const CLAIM_GRACE_MS = 60_000;
/** ids per set-based statement (bind parameters stay far below PostgreSQL's 65,535) */
const SET_CHUNK = 5_000;
/** applies sent per transaction */
const SEND_CHUNK = 500;
const MiB = 1024 * 1024;

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
      if (!rollout || !(TICKED_ROLLOUT_STATES as readonly string[]).includes(rollout.state))
        return { outcome: 'idle' as const };
      return decide(tx, rollout, now);
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
  if (decided.outcome !== 'ticked') return { outcome: decided.outcome, sent: 0, nextAt: null };
  let sent = 0;
  for (let i = 0; i < decided.claims.length; i += SEND_CHUNK)
    sent += await sendApplies(db, decided.rollout, decided.claims.slice(i, i + SEND_CHUNK));
  if (decided.revert)
    await revertSucceeded({ db, actor: SYSTEM_ACTOR }, decided.rollout, 'the failure threshold');
  return { outcome: 'ticked', sent, nextAt: decided.nextAt };
}

/**
 * The claimed applies, in one transaction: each pinned to the rollout's content, refused (failed,
 * with the reason) for a device that can no longer take it, as applyImageVersion and createCommand
 * would refuse it one by one. Each claim records its command only if it is still that attempt.
 */
async function sendApplies(
  db: Db,
  rollout: { id: string; name: string; imageVersionId: string; pinnedRootSha256: string },
  claimed: Claim[],
): Promise<number> {
  if (!claimed.length) return 0;
  let claims = claimed;
  const actor = { type: 'system' as const, label: `rollout ${rollout.name}` };
  const now = new Date();
  return db.$transaction(
    async (tx) => {
      // only claims still current get a command: the row lock orders this against a later tick
      // releasing the same claim (its compare-and-set also requires no command recorded), so a
      // claim is either sent here or released there, never both
      const current = new Set(
        (
          await tx.$queryRaw<{ id: string }[]>`
            SELECT rd."id" FROM "rollout_device" rd
              JOIN unnest(${claims.map((c) => c.rolloutDeviceId)}::uuid[],
                          ${claims.map((c) => c.attempt)}::int[]) AS c("id", "attempt")
                ON rd."id" = c."id" AND rd."attempts" = c."attempt"
             WHERE rd."state" = 'applying' AND rd."lastCommandId" IS NULL
               FOR UPDATE OF rd`
        ).map((row) => row.id),
      );
      claims = claims.filter((c) => current.has(c.rolloutDeviceId));
      if (!claims.length) return 0;
      const version = await tx.imageVersion.findUnique({
        where: { id: rollout.imageVersionId },
        include: {
          image: { include: { updateServer: { select: { name: true, sshTarget: true } } } },
        },
      });
      const devices = new Map(
        (
          await tx.device.findMany({
            where: { id: { in: claims.map((c) => c.deviceId) } },
            select: {
              id: true,
              name: true,
              status: true,
              facts: true,
              slotSize: true,
              rootPrefixHash: true,
              activeSlot: true,
            },
          })
        ).map((d) => [d.id, d]),
      );
      const name = version
        ? `${version.image.name} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`
        : '';
      const versionProblem = !version
        ? 'No such image version.'
        : version.blocked
          ? `${name} is blocked: it is not applied any more.`
          : !version.available
            ? `${name} is no longer offered by ${version.image.updateServer.name}.`
            : version.rootSha256 !== rollout.pinnedRootSha256
              ? `${version.image.updateServer.name} now publishes other content for ${name} than the rollout pinned.`
              : null;
      const refused = new Map<string, Claim[]>();
      const accepted: Claim[] = [];
      for (const claim of claims) {
        const device = devices.get(claim.deviceId);
        const configured = configuredServerOf(device?.facts);
        const reason =
          versionProblem ??
          (!version || !device
            ? 'No such device.'
            : device.status !== 'accepted'
              ? `The device is ${device.status}: only accepted devices take commands.`
              : !configured || !sameSshTarget(configured, version.image.updateServer.sshTarget)
                ? `The device fetches from ${configured ?? 'an unreported server'}; ${name} is published by ${version.image.updateServer.name}.`
                : device.slotSize !== null && version.rootPartitionSize > device.slotSize
                  ? `${name} does not fit: its root partition is ${(Number(version.rootPartitionSize) / MiB).toFixed(1)} MiB, the device's slot ${(Number(device.slotSize) / MiB).toFixed(1)} MiB.`
                  : null);
        if (reason) refused.set(reason, [...(refused.get(reason) ?? []), claim]);
        else accepted.push(claim);
      }
      for (const [reason, group] of refused) {
        // refused before anything was sent: the device cannot take it (it counts as failed)
        const moved = await tx.rolloutDevice.updateManyAndReturn({
          where: {
            OR: group.map((c) => ({ id: c.rolloutDeviceId, attempts: c.attempt })),
            state: 'applying',
          },
          data: { state: 'failed', lastError: reason },
          select: { deviceId: true },
        });
        await tx.rolloutEvent.createMany({
          data: moved.map((m) => ({
            rolloutId: rollout.id,
            deviceId: m.deviceId,
            message: `apply refused: ${reason}`,
          })),
        });
      }
      if (!version || !accepted.length) return 0;
      const params = commandSchema.safeParse({
        kind: 'apply',
        params: {
          expectedRootPrefixHash: version.rootPrefixHash,
          expectedRootSha256: version.rootSha256 ?? '',
          expectedRootBytes: Number(version.rootPartitionSize),
          imageName: `${version.image.name}@${version.rootPrefixHash}`,
          deadline: provisionalApplyDeadline(now).toISOString(),
        },
      });
      if (!params.success)
        throw new AppError(
          'BAD_REQUEST',
          `Invalid apply parameters: ${describeIssues(params.error)}`,
        );
      const commands = await enqueueCommands(
        tx,
        {
          deviceIds: accepted.map((c) => c.deviceId),
          kind: 'apply',
          params: params.data.params,
          createdById: null,
          actorLabel: actor.label,
          rolloutId: rollout.id,
        },
        now,
      );
      await recordAuditEvents(
        { actor },
        tx,
        commands.map((command) => {
          const device = devices.get(command.deviceId);
          // what ran where when it was sent, as createCommand records it
          return {
            action: 'command.created' as const,
            targetType: 'device',
            targetId: command.deviceId,
            data: {
              commandId: command.id,
              kind: 'apply',
              device: device?.name,
              rootPrefixHash: device?.rootPrefixHash,
              activeSlot: device?.activeSlot,
            },
          };
        }),
      );
      await publishFleetEvents(
        tx,
        commands.map((c) => ({
          type: 'command.queued' as const,
          deviceId: c.deviceId,
          commandId: c.id,
        })),
      );
      const commandOf = new Map(commands.map((c) => [c.deviceId, c.id]));
      const recorded = accepted.filter((c) => commandOf.has(c.deviceId));
      await tx.$executeRaw`
        UPDATE "rollout_device" rd
           SET "lastCommandId" = c."commandId", "skipReason" = NULL, "updatedAt" = now()
          FROM unnest(${recorded.map((c) => c.rolloutDeviceId)}::uuid[],
                      ${recorded.map((c) => c.attempt)}::int[],
                      ${recorded.map((c) => commandOf.get(c.deviceId) ?? '')}::uuid[])
            AS c("id", "attempt", "commandId")
         WHERE rd."id" = c."id" AND rd."attempts" = c."attempt" AND rd."state" = 'applying'`;
      return commands.length;
    },
    { timeout: 60_000, maxWait: 10_000 },
  );
}

/** The columns a move sets (MOVE_COLUMNS gives their SQL types). */
type MoveData = Partial<{
  state: RolloutDeviceState;
  attempts: number;
  lastCommandId: string | null;
  skipReason: string | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  soakUntil: Date | null;
  previousRootPrefixHash: string | null;
  workloadsBefore: string[];
}>;

/** A decided change of one rollout device, applied with the others of its kind (applyMoves). */
interface Move {
  member: { id: string; deviceId: string; state: RolloutDeviceState; attempts: number };
  data: MoveData;
  /** the rollout event it writes, if it moved */
  message?: string;
  /** a release of a claim also requires that no command was recorded for it meanwhile */
  unsent?: true;
}

/**
 * Set-based moves with the compare-and-set of each device kept: moves with the same data from the
 * same (state, attempts) are one UPDATE ... WHERE id IN (...) AND state AND attempts; only the rows
 * it returns moved (their events are written, their members updated in memory).
 */
async function applyMoves(tx: Tx, rolloutId: string, moves: Move[]) {
  const groups = new Map<string, Move[]>();
  for (const move of moves) {
    const key = `${move.member.state}\u0000${move.member.attempts}\u0000${move.unsent ?? ''}\u0000${JSON.stringify(move.data)}`;
    groups.set(key, [...(groups.get(key) ?? []), move]);
  }
  let movedCount = 0;
  for (const group of groups.values()) {
    const [first] = group;
    if (!first) continue;
    for (let i = 0; i < group.length; i += SET_CHUNK) {
      const chunk = group.slice(i, i + SET_CHUNK);
      const moved = new Set(
        (
          await tx.$queryRaw<{ id: string }[]>`
            UPDATE "rollout_device" SET ${setClause(first.data)}, "updatedAt" = now()
             WHERE "id" = ANY(${chunk.map((m) => m.member.id)}::uuid[])
               AND "state" = ${first.member.state}::"RolloutDeviceState"
               AND "attempts" = ${first.member.attempts}
               ${first.unsent ? Prisma.sql`AND "lastCommandId" IS NULL` : Prisma.empty}
            RETURNING "id"::text AS "id"`
        ).map((row) => row.id),
      );
      movedCount += moved.size;
      const events: RolloutEventRow[] = [];
      for (const move of chunk) {
        if (!moved.has(move.member.id)) continue;
        Object.assign(move.member, move.data);
        if (move.message) events.push({ message: move.message, deviceId: move.member.deviceId });
      }
      await insertRolloutEvents(tx, rolloutId, events);
    }
  }
  return movedCount;
}

/** The columns a move may set, with the SQL type of each (the moves' data is ours, never input). */
const MOVE_COLUMNS = {
  state: '"RolloutDeviceState"',
  attempts: 'int',
  lastCommandId: 'uuid',
  skipReason: 'text',
  lastError: 'text',
  nextAttemptAt: 'timestamptz',
  soakUntil: 'timestamptz',
  previousRootPrefixHash: 'text',
  workloadsBefore: 'text[]',
} as const;

function setClause(data: MoveData): Prisma.Sql {
  const sets = Object.entries(data).map(([column, value]) => {
    const type = MOVE_COLUMNS[column as keyof typeof MOVE_COLUMNS];
    if (!type) throw new Error(`a rollout device move cannot set ${column}`);
    return Prisma.sql`${Prisma.raw(`"${column}"`)} = ${value ?? null}::${Prisma.raw(type)}`;
  });
  return Prisma.join(sets, ', ');
}

interface RolloutEventRow {
  message: string;
  deviceId: string | null;
}

/** A tick's rollout events in one statement. */
async function insertRolloutEvents(tx: Tx, rolloutId: string, events: RolloutEventRow[]) {
  if (!events.length) return;
  await tx.$executeRaw`
    INSERT INTO "rollout_event" ("id", "rolloutId", "deviceId", "message")
    SELECT gen_random_uuid(), ${rolloutId}::uuid, e."deviceId", e."message"
      FROM unnest(${events.map((e) => e.deviceId)}::uuid[], ${events.map((e) => e.message)}::text[])
        WITH ORDINALITY AS e("deviceId", "message", "n")
     ORDER BY e."n"`;
  noteChange('rollouts');
}

/** rollout device states not over yet */
const UNSETTLED = ['pending', 'scheduled', 'applying', 'soaking'] as const;

/**
 * How many members are in each (batch, state), from one GROUP BY after the tick's moves. Starting
 * a batch (pending -> scheduled) leaves its unsettled count as it is, so the counts stay true.
 */
async function countMembers(tx: Tx, rolloutId: string) {
  const rows = await tx.$queryRaw<{ batchIndex: number | null; state: string; n: number }[]>`
    SELECT "batchIndex", "state"::text AS "state", count(*)::int AS "n"
      FROM "rollout_device" WHERE "rolloutId" = ${rolloutId}::uuid
     GROUP BY 1, 2`;
  const sum = (keep: (row: (typeof rows)[number]) => boolean) =>
    rows.filter(keep).reduce((total, row) => total + row.n, 0);
  return {
    total: (states: readonly string[]) => sum((r) => states.includes(r.state)),
    inBatch: (batch: number, states: readonly string[]) =>
      sum((r) => r.batchIndex === batch && states.includes(r.state)),
  };
}

/**
 * Per value of the budget's label: the members (size) and those unavailable: applying
 * (downloading, rebooting) or offline; a failed device that is up runs its old image and serves.
 */
async function budgetByLabel(tx: Tx, rolloutId: string, label: string) {
  return tx.$queryRaw<{ value: string; size: number; unavailable: number }[]>`
    SELECT coalesce(d."labels"->>${label}, '') AS "value", count(*)::int AS "size",
           (count(*) FILTER (WHERE rd."state" = 'applying'
              OR (rd."state" <> 'succeeded' AND NOT coalesce(p."online", false))))::int AS "unavailable"
      FROM "rollout_device" rd
      JOIN "device" d ON d."id" = rd."deviceId"
      LEFT JOIN "device_presence" p ON p."deviceId" = rd."deviceId"
     WHERE rd."rolloutId" = ${rolloutId}::uuid
     GROUP BY 1`;
}

/**
 * The rollout's members in `states` (of one batch, or all) with what the tick needs of their
 * devices. The last batch of a 10,000-device rollout starts with 9,000 waiting, and both Prisma's
 * include and its raw rows decode value by value in JS (0.05 to 0.15 ms a row), so the rows come
 * as one JSON document of positional arrays, and a waiting member carries neither its workloads
 * (read for the claimed ones only: workloadsOf) nor labels other than the budget's. Timestamps are
 * stored as UTC without a zone: AT TIME ZONE 'UTC' makes their JSON carry the offset. The device
 * part has the shape preflight takes (TargetDevice), its facts cut to the one the scheduler reads.
 */
async function loadMembers(
  tx: Tx,
  rolloutId: string,
  states: RolloutDeviceState[],
  { batchIndex, budgetLabel }: { batchIndex?: number; budgetLabel?: string } = {},
) {
  const [row] = await tx.$queryRaw<{ members: string | null }[]>`
    SELECT json_agg(json_build_array(
             rd."id", rd."deviceId", rd."batchIndex", rd."state", rd."attempts",
             rd."lastCommandId", rd."skipReason", rd."nextAttemptAt" AT TIME ZONE 'UTC',
             rd."soakUntil" AT TIME ZONE 'UTC', rd."workloadsBefore",
             rd."updatedAt" AT TIME ZONE 'UTC',
             d."name", d."status",
             ${budgetLabel === undefined ? Prisma.sql`NULL` : Prisma.sql`jsonb_build_object(${budgetLabel}::text, d."labels"->${budgetLabel}::text)`},
             d."facts"->'updateServer', d."rootPrefixHash", d."arch", d."profile",
             d."slotSize"::text, d."imageName", d."lastSeenAt" AT TIME ZONE 'UTC',
             CASE WHEN rd."state" = 'scheduled' THEN NULL ELSE d."flakes" END,
             p."online", p."lastSeenAt" AT TIME ZONE 'UTC'))::text AS "members"
      FROM "rollout_device" rd
      JOIN "device" d ON d."id" = rd."deviceId"
      LEFT JOIN "device_presence" p ON p."deviceId" = rd."deviceId"
     WHERE rd."rolloutId" = ${rolloutId}::uuid AND rd."state"::text = ANY(${states}::text[])
       ${batchIndex === undefined ? Prisma.empty : Prisma.sql`AND rd."batchIndex" = ${batchIndex}`}`;
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return (JSON.parse(row?.members ?? '[]') as MemberTuple[]).map(
    ([
      id,
      deviceId,
      batch,
      state,
      attempts,
      lastCommandId,
      skipReason,
      nextAttemptAt,
      soakUntil,
      workloadsBefore,
      updatedAt,
      name,
      status,
      labels,
      updateServer,
      rootPrefixHash,
      arch,
      profile,
      slotSize,
      imageName,
      lastSeenAt,
      flakes,
      online,
      presenceLastSeenAt,
    ]) => ({
      id,
      deviceId,
      batchIndex: batch,
      state,
      attempts,
      lastCommandId,
      skipReason,
      nextAttemptAt: date(nextAttemptAt),
      soakUntil: date(soakUntil),
      workloadsBefore,
      updatedAt: new Date(updatedAt),
      device: {
        id: deviceId,
        name,
        status,
        labels,
        facts: { updateServer },
        rootPrefixHash,
        arch,
        profile,
        slotSize: slotSize === null ? null : BigInt(slotSize),
        imageName,
        lastSeenAt: date(lastSeenAt),
        flakes,
        presence:
          online === null ? null : { online, lastSeenAt: new Date(presenceLastSeenAt ?? 0) },
      } satisfies TargetDevice,
    }),
  );
}

/** a member as loadMembers' json_build_array writes it (timestamps and the slot size as text) */
type MemberTuple = [
  id: string,
  deviceId: string,
  batchIndex: number | null,
  state: RolloutDeviceState,
  attempts: number,
  lastCommandId: string | null,
  skipReason: string | null,
  nextAttemptAt: string | null,
  soakUntil: string | null,
  workloadsBefore: string[],
  updatedAt: string,
  name: string,
  status: TargetDevice['status'],
  labels: Prisma.JsonValue,
  updateServer: Prisma.JsonValue,
  rootPrefixHash: string | null,
  arch: string | null,
  profile: string | null,
  slotSize: string | null,
  imageName: string | null,
  lastSeenAt: string | null,
  flakes: Prisma.JsonValue,
  online: boolean | null,
  presenceLastSeenAt: string | null,
];

/** The workload names of the devices being claimed (waiting members are loaded without them). */
async function workloadsOf(tx: Tx, deviceIds: string[]) {
  if (!deviceIds.length) return new Map<string, string[]>();
  const rows = await tx.$queryRaw<{ id: string; flakes: Prisma.JsonValue }[]>`
    SELECT "id"::text AS "id", "flakes" FROM "device" WHERE "id" = ANY(${deviceIds}::uuid[])`;
  return new Map(rows.map((row) => [row.id, workloadNames(row.flakes)]));
}

type LoadedRollout = Prisma.RolloutGetPayload<{ include: { batches: true } }>;

async function decide(tx: Tx, rollout: LoadedRollout, now: Date) {
  const system = { actor: SYSTEM_ACTOR };
  let nextAt: Date | null = null;
  const wake = (at: Date | null | undefined) => {
    if (at && at > now && (!nextAt || at < nextAt)) nextAt = at;
  };
  const claims: Claim[] = [];
  const done = {
    outcome: 'ticked' as const,
    rollout,
    claims,
    nextAt: null as Date | null,
    /** the failure threshold stopped it and its devices that succeeded go back (rollbackOnAbort) */
    revert: false,
  };
  // aborted or failed: only the devices still applying or soaking are followed to their outcome
  const stopped = rollout.state === 'aborted' || rollout.state === 'failed';

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
  if (rollout.dynamic && !stopped) await pickUpNewDevices(tx, rollout, pinned, offered);

  // only the members a decision can move are read (in flight, soaking, or in a started batch);
  // the settled and the not yet started are counted in SQL, so a tick's cost follows the work
  // in flight, not the size of the rollout
  const budget = rollout.disruptionBudget
    ? disruptionBudgetSchema.parse(rollout.disruptionBudget)
    : null;
  const members = await loadMembers(
    tx,
    rollout.id,
    stopped ? ['applying', 'soaking'] : ['applying', 'soaking', 'scheduled'],
    { budgetLabel: budget?.label },
  );
  // only the in-flight members' commands are read
  const commandIds = members
    .filter((m) => m.state === 'applying')
    .map((m) => m.lastCommandId)
    .filter((id): id is string => !!id);
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

  // --- in-flight and soaking devices: what their commands and presence say (moves are applied
  // together after the loop, each still a compare-and-set on the state and attempts it was read in)
  const moves: Move[] = [];
  for (const member of members) {
    const online = member.device.presence?.online === true;
    const set = async (data: MoveData, message?: string, unsent?: true) => {
      moves.push({
        member,
        data,
        message: message ? `${member.device.name}: ${message}` : undefined,
        unsent,
      });
      return Promise.resolve();
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
        if (found) await set({ lastCommandId: found.id });
        else await set({ state: 'scheduled' }, undefined, true);
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
          // the inventory that carries the new hash carries the workloads too
          const lost = missingWorkloads(member.workloadsBefore, member.device.flakes);
          if (lost.length) {
            await fail(`came back without its workloads: ${lost.join(', ')}`, 'failed', false);
            break;
          }
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
      else if (missingWorkloads(member.workloadsBefore, member.device.flakes).length) {
        const lost = missingWorkloads(member.workloadsBefore, member.device.flakes).join(', ');
        await set(
          { state: 'failed', lastError: `lost its workloads during soak: ${lost}` },
          `lost its workloads during soak: ${lost}`,
        );
      } else if (member.soakUntil && member.soakUntil <= now)
        await set({ state: 'succeeded', lastError: null }, 'stayed online through its soak');
      else wake(member.soakUntil);
    } else if (member.state === 'scheduled' && member.nextAttemptAt) wake(member.nextAttemptAt);
  }
  await applyMoves(tx, rollout.id, moves);
  if (stopped) return { ...done, nextAt };

  // --- failure threshold (judged over the whole rollout, once the minimum sample is reached)
  const counts = await countMembers(tx, rollout.id);
  const failed = counts.total(FAILED);
  const succeeded = counts.total(['succeeded']);
  const sample = failed + succeeded;
  if (rollout.state === 'running' && sample >= rollout.failureMinSample) {
    const byCount =
      rollout.failureThresholdCount !== null && failed >= rollout.failureThresholdCount;
    const byPercent =
      rollout.failureThresholdPercent !== null &&
      failed * 100 >= rollout.failureThresholdPercent * sample;
    if (failed > 0 && (byCount || byPercent)) {
      const reason = `failure threshold reached: ${failed} of ${sample} devices failed (threshold ${rollout.failureThresholdCount ?? `${rollout.failureThresholdPercent}%`})`;
      if (rollout.failureAction === 'pause') {
        await pauseInTx(tx, system, rollout, reason);
        return { ...done, nextAt };
      }
      await abortInTx(tx, system, rollout, reason, 'failed');
      return { ...done, nextAt, revert: rollout.rollbackOnAbort };
    }
  }

  // --- batches
  let current = rollout.batches.find((b) => b.state !== 'succeeded' && b.state !== 'failed');
  while (current) {
    const index = current.index;
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
      // its devices are waiting now: read them for this tick's claims
      const known = new Set(members.map((m) => m.id));
      for (const m of await loadMembers(tx, rollout.id, ['scheduled'], {
        batchIndex: index,
        budgetLabel: budget?.label,
      }))
        if (!known.has(m.id)) members.push(m);
    }
    if (current.state === 'awaiting_approval') break;
    if (counts.inBatch(index, UNSETTLED) > 0) break;
    const ok = counts.inBatch(index, ['succeeded']);
    const bad = counts.inBatch(index, FAILED);
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
  // holds, exclusions and claims are decided device by device, then written set-based
  const holds = new Map<string, string[]>();
  const hold = (m: (typeof members)[number], reason: string) => {
    if (m.skipReason !== reason) holds.set(reason, [...(holds.get(reason) ?? []), m.id]);
  };
  const writeHolds = async () => {
    for (const [reason, ids] of holds)
      for (let i = 0; i < ids.length; i += SET_CHUNK)
        await tx.$executeRaw`
          UPDATE "rollout_device" SET "skipReason" = ${reason}, "updatedAt" = now()
           WHERE "id" = ANY(${ids.slice(i, i + SET_CHUNK)}::uuid[]) AND "state" = 'scheduled'`;
  };
  if (!win.open) {
    wake(win.opensAt);
    const reason = win.opensAt
      ? `outside the maintenance window until ${inZone(win.opensAt, window?.timezone ?? 'UTC')} (${win.opensAt.toISOString()})`
      : 'outside the maintenance window (it never opens again)';
    for (const m of waiting) hold(m, reason);
    await writeHolds();
    return { ...done, nextAt };
  }

  const server = version.image.updateServer;
  const cap = Math.min(rollout.maxConcurrentPerServer ?? Infinity, server.maxConcurrentApplies);
  // every rollout on this server claims under one lock, so two rollouts cannot both take the
  // last slot; the slots are counted exactly: applies not finished of devices online (an offline,
  // failed or timed-out device frees its slot at once), and claims whose command is not sent yet
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`update-server:${server.id}`}, 0))`;
  let inFlight = await countServerSlotsInUse(tx, server.id);

  const unavailable = new Map<string, number>();
  const sizeOf = new Map<string, number>();
  if (budget)
    for (const row of await budgetByLabel(tx, rollout.id, budget.label)) {
      sizeOf.set(row.value, row.size);
      unavailable.set(row.value, row.unavailable);
    }

  const others = await otherActiveRollouts(
    tx,
    waiting.map((m) => m.deviceId),
    rollout.id,
  );
  const settle: Move[] = [];
  const claiming: Move[] = [];
  for (const m of waiting) {
    const problem = preflight(m.device, pinned, offered, others.get(m.deviceId) ?? null);
    if (problem?.kind === 'done') {
      settle.push({
        member: m,
        data: { state: 'succeeded', skipReason: 'already runs the target version' },
      });
      continue;
    }
    if (problem) {
      // content no longer offered is held (never other bytes); other problems exclude the device
      const held = problem.kind === 'waiting' || problem.reason.includes('no longer offers');
      if (held)
        hold(m, held && problem.kind !== 'waiting' ? `held: ${problem.reason}` : problem.reason);
      else
        settle.push({
          member: m,
          data: { state: 'skipped', skipReason: problem.reason },
          message: `${m.device.name}: excluded: ${problem.reason}`,
        });
      continue;
    }
    if (inFlight >= cap) {
      hold(m, `${server.name} is at its cap of ${cap} concurrent applies`);
      continue;
    }
    if (budget) {
      const value = labelsOf(m.device.labels)[budget.label] ?? '';
      const limit = budget.percent
        ? Math.max(1, Math.floor(((sizeOf.get(value) ?? 0) * budget.max) / 100))
        : budget.max;
      if ((unavailable.get(value) ?? 0) >= limit) {
        hold(m, `disruption budget: ${limit} of ${budget.label}=${value} already unavailable`);
        continue;
      }
      unavailable.set(value, (unavailable.get(value) ?? 0) + 1);
    }
    // counted in flight before its compare-and-set: one that does not move only claims fewer
    inFlight++;
    claiming.push({
      member: m,
      data: {
        state: 'applying',
        attempts: m.attempts + 1,
        lastCommandId: null,
        skipReason: null,
        nextAttemptAt: null,
        previousRootPrefixHash: m.device.rootPrefixHash,
      },
    });
  }
  const workloads = await workloadsOf(
    tx,
    claiming.map((c) => c.member.deviceId),
  );
  for (const claim of claiming)
    claim.data.workloadsBefore = workloads.get(claim.member.deviceId) ?? [];
  await applyMoves(tx, rollout.id, settle);
  await writeHolds();
  // the claims: (scheduled, attempts n) -> (applying, n + 1); only the rows that moved are sent
  const attemptOf = new Map(claiming.map((c) => [c.member.id, c.member.attempts + 1]));
  await applyMoves(tx, rollout.id, claiming);
  for (const { member } of claiming)
    if (member.state === 'applying' && member.attempts === attemptOf.get(member.id))
      claims.push({
        rolloutDeviceId: member.id,
        deviceId: member.deviceId,
        attempt: member.attempts,
      });
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

/** Apply commands not finished, of devices online, on `serverId`; and claims not yet sent. */
async function countServerSlotsInUse(tx: Tx, serverId: string): Promise<number> {
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT (
      SELECT count(*) FROM command c
      JOIN device_presence p ON p."deviceId" = c."deviceId" AND p.online
      LEFT JOIN device d ON d.id = c."deviceId"
      LEFT JOIN rollout r ON r.id = c."rolloutId"
      LEFT JOIN image_version v ON v.id = r."imageVersionId"
      LEFT JOIN image i ON i.id = v."imageId"
      WHERE c.kind = 'apply'
        AND c.state::text <> ALL(${[...TERMINAL_COMMAND_STATES]}::text[])
        AND (i."updateServerId" = ${serverId}::uuid
          OR (c."rolloutId" IS NULL AND d."updateServerId" = ${serverId}::uuid))
    ) + (
      SELECT count(*) FROM rollout_device rd
      JOIN device_presence p ON p."deviceId" = rd."deviceId" AND p.online
      JOIN rollout r ON r.id = rd."rolloutId"
      JOIN image_version v ON v.id = r."imageVersionId"
      JOIN image i ON i.id = v."imageId"
      WHERE rd.state = 'applying' AND rd."lastCommandId" IS NULL
        AND i."updateServerId" = ${serverId}::uuid
    ) AS n`;
  return Number(row?.n ?? 0);
}

/**
 * Abort (an operator) or fail (the failure threshold): no new applies. Applies still queued are
 * cancelled (never sent); ones a device has started are followed to their outcome. The devices
 * that succeeded are reverted by the caller when rollbackOnAbort says so.
 */
export async function abortInTx(
  tx: Tx,
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  rollout: { id: string; name: string; state: string },
  reason: string,
  to: 'aborted' | 'failed' = 'aborted',
) {
  await tx.rollout.update({
    where: { id: rollout.id },
    data: { state: to, stateReason: reason, completedAt: new Date() },
  });
  rollout.state = to;
  const why = to === 'aborted' ? 'the rollout was aborted' : 'the rollout failed';
  await tx.rolloutDevice.updateMany({
    where: { rolloutId: rollout.id, state: { in: ['pending', 'scheduled'] } },
    data: { state: 'skipped', skipReason: why },
  });
  const cancelled = await cancelQueuedRolloutApplies(tx, rollout.id, `${why} before delivery`);
  if (cancelled.length)
    await tx.rolloutDevice.updateMany({
      where: { rolloutId: rollout.id, state: 'applying', lastCommandId: { in: cancelled } },
      data: { state: 'skipped', skipReason: `${why} before its apply was sent` },
    });
  await rolloutEvent(
    tx,
    rollout.id,
    `${to}: ${reason}${cancelled.length ? ` (${cancelled.length} queued applies cancelled)` : ''}`,
  );
  await auditRollout(ctx, tx, to === 'aborted' ? 'rollout.aborted' : 'rollout.failed', rollout, {
    reason,
    cancelledApplies: cancelled.length,
  });
}

/** Revert the devices that succeeded, with its timeline entry and audit event. */
export async function revertSucceeded(
  ctx: ServiceContext,
  rollout: { id: string; name: string },
  cause: string,
) {
  const sent = await sendReverts(ctx, rollout);
  await ctx.db.$transaction(async (tx) => {
    await rolloutEvent(
      tx,
      rollout.id,
      `revert (${cause}): ${sent} devices sent back to their previous slot`,
    );
    await auditRollout(ctx, tx, 'rollout.reverted', rollout, { devices: sent, cause });
  });
  return sent;
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
  // only once accepted and with its first inventory in: a device that enrols pending, or whose
  // facts (slot size, update server) are still on their way, would otherwise be excluded for good
  const fresh = await tx.device.findMany({
    where: {
      AND: [
        targetWhere(target),
        { status: 'accepted', inventoryAt: { not: null } },
        { rollouts: { none: { rolloutId: rollout.id } } },
      ],
    },
    select: targetDeviceSelect,
    take: 1000,
  });
  if (!fresh.length) return;
  const others = await otherActiveRollouts(
    tx,
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
