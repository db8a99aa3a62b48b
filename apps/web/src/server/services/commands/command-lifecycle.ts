// A command's lifecycle: the ONE module that writes a command's state. Every change is a row of
// TRANSITIONS, made by a compare-and-set on the current state (so two processes racing make one
// transition, the other sees zero rows) with its CommandEvent in the same transaction.
//
// The rules (what "the truth about a command" means here):
// - queued: the device has not been sent it. Delivery is the transition queued -> delivered and is
//   committed BEFORE the frame goes out, so a command cancelled outright can never be sent.
// - A deadline counts from delivery (commandResultDeadlineMs(kind)); a queued command expires
//   after QUEUED_COMMAND_TTL_MS. Both end timed_out (errorCode `timed_out` / `not_delivered`).
// - Cancel: a queued command is cancelled outright. A delivered one gets "cancel requested" (the
//   gateway sends `cancel`); its state then follows what the device reports: `cancelled` if the
//   agent had not started it, otherwise the real outcome, noting the cancel came too late.
// - A result is never dropped. Its truth wins over what the server assumed: timed_out and
//   cancelled may still become succeeded / failed / rolled_back (and timed_out -> cancelled).
//   succeeded, failed and rolled_back are final: a second, different result is kept as an event.
//   A result equal to the stored one is a duplicate (a re-sent result): nothing is written.
// - A late ack (after timed_out / cancelled) is recorded as an event; progress for a finished
//   command is ignored (the result says more).
// - Progress is coalesced: the latest report lives on the row; events only on a phase change, and
//   events that change no state (device notes) are capped per command.
import { Prisma, type Db } from '@eos-fleet/db';
import {
  COMMAND_TIMEOUTS,
  QUEUED_COMMAND_TTL_MS,
  commandResultDeadlineMs,
} from '@eos-fleet/shared/command-timeouts';
import {
  COMMAND_STATES,
  TERMINAL_COMMAND_STATES,
  type CommandKind,
  type CommandState,
} from '@eos-fleet/shared/domain';
import type { UpdateState } from '@eos-fleet/shared/device-filter';
import type { ProgressFrame, ResultFrame } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import type { AuditAction } from '../audit/audit-actions';
import { recordAuditEvents } from '../audit/record-audit-event';
import { SYSTEM_ACTOR, type Actor } from '../context';
import { AppError } from '../errors';
import { noteCommandsChanged } from '../events/change-notices';
import { fromPrismaKind, toPrismaKind } from './command-kinds';
import { wakeRollouts } from '../rollouts/rollout-wake';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];
type CommandRow = Prisma.CommandGetPayload<object>;

const FINAL: readonly CommandState[] = ['succeeded', 'failed', 'rolled_back'];
const RUNNING: readonly CommandState[] = ['delivered', 'downloading', 'rebooting', 'verifying'];

/** Every allowed change of a command's state, from -> to. Nothing else is ever written. */
export const TRANSITIONS: Readonly<Record<CommandState, readonly CommandState[]>> = {
  queued: ['delivered', 'cancelled', 'timed_out', ...FINAL],
  delivered: ['downloading', 'rebooting', 'verifying', 'timed_out', 'cancelled', ...FINAL],
  downloading: ['rebooting', 'verifying', 'timed_out', 'cancelled', ...FINAL],
  rebooting: ['verifying', 'timed_out', 'cancelled', ...FINAL],
  verifying: ['timed_out', 'cancelled', ...FINAL],
  // a result after the deadline tells what really happened
  timed_out: ['cancelled', ...FINAL],
  // a result for a cancelled command: the device ran it after all
  cancelled: [...FINAL],
  succeeded: [],
  failed: [],
  rolled_back: [],
};

/** The states from which `to` may be entered. */
export function sourcesOf(to: CommandState): CommandState[] {
  return COMMAND_STATES.filter((from) => TRANSITIONS[from].includes(to));
}

export function isTerminal(state: CommandState): boolean {
  return TERMINAL_COMMAND_STATES.includes(state);
}

/** Events about device frames that change no state, per command (a phase list is ~6). */
export const MAX_DEVICE_NOTES = 24;

interface TransitionOptions {
  /** narrow the allowed sources further (e.g. cancel outright only from queued) */
  from?: readonly CommandState[];
  message: string;
  data?: Prisma.InputJsonValue;
  set?: Prisma.CommandUpdateManyMutationInput;
}

/**
 * Compare-and-set `commandId` into `to` with its event. Returns the updated row, or null when the
 * command is not in a state that allows it (another process got there first).
 */
async function transition(
  tx: Tx,
  commandId: string,
  to: CommandState,
  options: TransitionOptions,
): Promise<CommandRow | null> {
  const from = sourcesOf(to).filter((state) => !options.from || options.from.includes(state));
  const [row] = await tx.command.updateManyAndReturn({
    where: { id: commandId, state: { in: from } },
    data: { ...options.set, state: to },
  });
  if (!row) return null;
  await tx.commandEvent.create({
    data: { commandId, state: to, message: options.message, data: options.data },
  });
  noteCommandsChanged(row.deviceId);
  await followUpdateState(tx, [row]);
  await wakeRollouts(tx, [row.rolloutId]);
  return row;
}

/** The same for many commands at once (the sweep, decommission), one event each. */
async function transitionMany(
  tx: Tx,
  where: Prisma.CommandWhereInput,
  to: CommandState,
  options: TransitionOptions & { message: string },
): Promise<CommandRow[]> {
  const from = sourcesOf(to).filter((state) => !options.from || options.from.includes(state));
  const rows = await tx.command.updateManyAndReturn({
    where: { AND: [where, { state: { in: from } }] },
    data: { ...options.set, state: to },
  });
  if (rows.length)
    await tx.commandEvent.createMany({
      data: rows.map((row) => ({ commandId: row.id, state: to, message: options.message })),
    });
  for (const row of rows) noteCommandsChanged(row.deviceId);
  await followUpdateState(tx, rows);
  await wakeRollouts(
    tx,
    rows.map((row) => row.rolloutId),
  );
  return rows;
}

// ---------------------------------------------------------------------------- update state
// device.updateState mirrors the device's newest apply or rollback (packages/shared
// device-filter.ts UPDATE_STATES), written here with the command's own change so the Devices
// table filters on a column, never on a scan of commands. `in_progress` past updateDeadlineAt
// reads as stuck (the query compares with now()).

const UPDATE_KINDS: readonly string[] = ['apply', 'rollback'];

export function updateStateOf(state: CommandState): UpdateState {
  if (state === 'timed_out') return 'stuck';
  if (state === 'failed' || state === 'rolled_back') return 'failed';
  if (state === 'succeeded' || state === 'cancelled') return state;
  return 'in_progress';
}

async function followUpdateState(
  tx: Tx,
  rows: readonly Pick<CommandRow, 'id' | 'deviceId' | 'kind' | 'state' | 'deadlineAt'>[],
) {
  const updates = rows.filter((row) => UPDATE_KINDS.includes(row.kind));
  if (!updates.length) return;
  // only while it is the device's newest: an older command's late result changes nothing
  await tx.$executeRaw`
    UPDATE "device" d SET "updateState" = c."state"::"DeviceUpdateState", "updateStateAt" = ${new Date()}::timestamptz,
      "updateDeadlineAt" = c."deadlineAt"
    FROM unnest(${updates.map((r) => r.id)}::uuid[], ${updates.map((r) => updateStateOf(r.state))}::text[],
      ${updates.map((r) => r.deadlineAt)}::timestamptz[]) AS c("id", "state", "deadlineAt")
    WHERE d."updateCommandId" = c."id"`;
}

/** An event that changes no state, from a device frame: capped per command. */
async function deviceNote(
  tx: Tx,
  commandId: string,
  message: string,
  data?: Prisma.InputJsonValue,
) {
  const counted = await tx.command.updateMany({
    where: { id: commandId, deviceNotes: { lt: MAX_DEVICE_NOTES } },
    data: { deviceNotes: { increment: 1 } },
  });
  if (counted.count) await tx.commandEvent.create({ data: { commandId, message, data } });
}

const OUTCOME_ACTIONS: Partial<Record<CommandState, AuditAction>> = {
  succeeded: 'command.succeeded',
  failed: 'command.failed',
  rolled_back: 'command.rolled_back',
  timed_out: 'command.timed_out',
  cancelled: 'command.cancelled',
};

/**
 * A command's outcome joins the audit trail in the transaction of its terminal transition, so
 * the audit log is the one place that says what happened to the fleet (targets the device, as
 * command.created does). `from`: the state it left (a late result after timed_out says so).
 */
async function auditOutcomes(
  tx: Tx,
  actor: Actor,
  rows: readonly { row: CommandRow; from: CommandState | null }[],
) {
  const ended = rows.filter(({ row }) => OUTCOME_ACTIONS[row.state]);
  if (!ended.length) return;
  const names = new Map(
    (
      await tx.device.findMany({
        where: { id: { in: [...new Set(ended.map(({ row }) => row.deviceId))] } },
        select: { id: true, name: true },
      })
    ).map((device) => [device.id, device.name]),
  );
  await recordAuditEvents(
    { actor },
    tx,
    ended.flatMap(({ row, from }) => {
      const action = OUTCOME_ACTIONS[row.state];
      if (!action) return [];
      return [
        {
          action,
          targetType: 'device',
          targetId: row.deviceId,
          data: {
            commandId: row.id,
            kind: fromPrismaKind(row.kind),
            device: names.get(row.deviceId) ?? null,
            ...(from ? { from } : {}),
            ...(row.errorCode ? { errorCode: row.errorCode } : {}),
            ...(row.error ? { error: row.error } : {}),
          },
        },
      ];
    }),
  );
}

function minutes(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`;
}

// ---------------------------------------------------------------------------------- creation

export async function enqueueCommand(
  tx: Tx,
  input: {
    deviceId: string;
    kind: CommandKind;
    params: Prisma.InputJsonValue;
    createdById: string | null;
    rolloutId: string | null;
    actorLabel: string;
  },
  now = new Date(),
): Promise<CommandRow> {
  noteCommandsChanged(input.deviceId);
  const command = await tx.command.create({
    data: {
      deviceId: input.deviceId,
      kind: toPrismaKind(input.kind),
      params: input.params,
      deadlineAt: new Date(now.getTime() + QUEUED_COMMAND_TTL_MS),
      createdById: input.createdById,
      rolloutId: input.rolloutId,
      events: { create: { state: 'queued', message: `queued by ${input.actorLabel}` } },
    },
  });
  if (UPDATE_KINDS.includes(command.kind))
    await tx.device.update({
      where: { id: command.deviceId },
      data: {
        updateCommandId: command.id,
        updateState: 'in_progress',
        updateStateAt: now,
        updateDeadlineAt: command.deadlineAt,
      },
    });
  return command;
}

/**
 * The same for many devices at once (bulk actions): one statement per table, not one per device.
 * Each device gets its own params (apply's pinned content is the same, its deadline too).
 */
export async function enqueueCommands(
  tx: Tx,
  input: {
    deviceIds: readonly string[];
    kind: CommandKind;
    params: Prisma.InputJsonValue;
    createdById: string | null;
    actorLabel: string;
    /** a rollout's applies (its scheduler sends a tick's claims at once) */
    rolloutId?: string | null;
  },
  now = new Date(),
): Promise<{ id: string; deviceId: string }[]> {
  if (!input.deviceIds.length) return [];
  const kind = toPrismaKind(input.kind);
  const deadlineAt = new Date(now.getTime() + QUEUED_COMMAND_TTL_MS);
  // one statement for the commands and their first events; raw SQL because Prisma's
  // createManyAndReturn renders each row's columns through its interpreter (~1.7 ms a row at 500)
  const rows = await tx.$queryRaw<{ id: string; deviceId: string }[]>`
    WITH c AS (
      INSERT INTO "command" ("id", "deviceId", "kind", "params", "deadlineAt", "createdById",
        "rolloutId", "updatedAt")
      -- (the enum's labels are the domain kinds: flake.register, not flake_register)
      SELECT gen_random_uuid(), t."deviceId", ${input.kind}::"CommandKind",
        ${JSON.stringify(input.params)}::jsonb, ${deadlineAt}::timestamptz,
        ${input.createdById}::text, ${input.rolloutId ?? null}::uuid, now()
        FROM unnest(${[...input.deviceIds]}::uuid[]) WITH ORDINALITY AS t("deviceId", "n")
       ORDER BY t."n"
      RETURNING "id", "deviceId"
    ), e AS (
      INSERT INTO "command_event" ("commandId", "state", "message")
      SELECT c."id", 'queued'::"CommandState", ${`queued by ${input.actorLabel}`} FROM c
    )
    SELECT c."id"::text AS "id", c."deviceId"::text AS "deviceId" FROM c`;
  for (const row of rows) noteCommandsChanged(row.deviceId);
  if (UPDATE_KINDS.includes(kind))
    await tx.$executeRaw`
      UPDATE "device" d SET "updateCommandId" = c."id", "updateState" = 'in_progress',
        "updateStateAt" = ${now}::timestamptz, "updateDeadlineAt" = ${deadlineAt}::timestamptz
      FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.deviceId)}::uuid[])
        AS c("id", "deviceId")
      WHERE d."id" = c."deviceId"`;
  return rows;
}

/**
 * The latest an apply may still start if it is delivered at the last moment of its queue time:
 * what its params carry until delivery sets the real one (validation needs a value).
 */
export function provisionalApplyDeadline(now = new Date()): Date {
  return new Date(now.getTime() + QUEUED_COMMAND_TTL_MS + COMMAND_TIMEOUTS.apply.toolMs);
}

// ---------------------------------------------------------------------------------- delivery

export interface Delivery {
  id: string;
  kind: CommandKind;
  params: unknown;
  issuedAt: Date;
  /** an operator asked to cancel it: send `cancel` after the command */
  cancelRequested: boolean;
}

/**
 * What to send `deviceId` now (oldest first, without `skip`): every command it has no outcome
 * for. First deliveries become `delivered` here, committed before any frame goes out; their
 * deadline starts now and an apply's `deadline` param is set to when the agent must stop.
 * Acked commands are included: the agent answers a known id from its journal and never runs it
 * twice, so a result lost with a dropped connection is recovered.
 */
export async function takeCommandsToSend(
  db: Db,
  deviceId: string,
  skip: ReadonlySet<string> = new Set(),
): Promise<Delivery[]> {
  const now = new Date();
  const candidates = await db.command.findMany({
    where: {
      deviceId,
      state: { notIn: [...TERMINAL_COMMAND_STATES] },
      deadlineAt: { gt: now },
    },
    orderBy: { createdAt: 'asc' },
    take: 50,
    select: { id: true },
  });
  const ids = candidates.map((row) => row.id).filter((id) => !skip.has(id));
  if (!ids.length) return [];
  return db.$transaction(async (tx) => {
    const sent: CommandRow[] = [];
    for (const id of ids) {
      const row = await tx.command.findUnique({ where: { id } });
      if (!row || isTerminal(row.state)) continue; // cancelled or timed out meanwhile
      const kind = fromPrismaKind(row.kind);
      const counted = { sendCount: { increment: 1 }, lastSentAt: now };
      if (row.state !== 'queued') {
        sent.push(await tx.command.update({ where: { id }, data: counted }));
        continue;
      }
      const params =
        kind === 'apply'
          ? {
              ...(row.params as Record<string, unknown>),
              deadline: new Date(now.getTime() + COMMAND_TIMEOUTS.apply.toolMs).toISOString(),
            }
          : (row.params as Prisma.InputJsonValue);
      const delivered = await transition(tx, id, 'delivered', {
        from: ['queued'],
        message: 'sent to the device',
        set: {
          ...counted,
          params: params,
          deliveredAt: now,
          deadlineAt: new Date(now.getTime() + commandResultDeadlineMs(kind)),
        },
      });
      if (delivered) sent.push(delivered);
    }
    return sent.map((row) => ({
      id: row.id,
      kind: fromPrismaKind(row.kind),
      params: row.params,
      issuedAt: row.createdAt,
      cancelRequested: row.cancelRequestedAt !== null,
    }));
  });
}

/** Of `commandIds` (sent already), those with a cancel requested and no outcome yet. */
export async function cancelsRequested(db: Db, commandIds: readonly string[]): Promise<string[]> {
  if (!commandIds.length) return [];
  const rows = await db.command.findMany({
    where: {
      id: { in: [...commandIds] },
      cancelRequestedAt: { not: null },
      state: { notIn: [...TERMINAL_COMMAND_STATES] },
    },
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

// ------------------------------------------------------------------------- the device's frames

/** A command of another device, or one that does not exist, is not the device's to touch. */
async function ownCommand(db: Db | Tx, deviceId: string, commandId: string) {
  if (!z.uuid().safeParse(commandId).success) return null;
  const command = await db.command.findUnique({ where: { id: commandId } });
  return command && command.deviceId === deviceId ? command : null;
}

/** The id is journaled on the device. False: not this device's command. */
export async function recordCommandAck(
  db: Db,
  deviceId: string,
  commandId: string,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const command = await ownCommand(tx, deviceId, commandId);
    if (!command) return false;
    if (command.ackedAt) return true;
    noteCommandsChanged(deviceId);
    await tx.command.updateMany({
      where: { id: commandId, ackedAt: null },
      data: { ackedAt: new Date() },
    });
    if (command.state === 'queued')
      await transition(tx, commandId, 'delivered', {
        from: ['queued'],
        message: 'acknowledged by the device',
        set: { deliveredAt: new Date() },
      });
    else if (isTerminal(command.state))
      await deviceNote(tx, commandId, `the device acknowledged it after it was ${command.state}`);
    return true;
  });
}

const PHASE_STATES: Partial<Record<ProgressFrame['phase'], CommandState>> = {
  downloading: 'downloading',
  rebooting: 'rebooting',
  verifying: 'verifying',
};

/**
 * Progress: the latest report on the row; an event only when the phase changes (a state change
 * when the phase is one, forward only), so a flood of frames costs row updates, not history.
 */
export async function recordCommandProgress(
  db: Db,
  deviceId: string,
  frame: ProgressFrame,
): Promise<boolean> {
  if (!z.uuid().safeParse(frame.commandId).success) return false;
  const progress = {
    phase: frame.phase,
    bytesWritten: frame.bytesWritten,
    totalBytes: frame.totalBytes,
    message: frame.message,
    at: new Date().toISOString(),
  };
  // the common case in one statement: the latest report on the row, and the phase it replaced
  const updated = await db.$queryRaw<
    { previous: string | null; state: CommandState; deviceNotes: number }[]
  >`
    update command c set
      progress = ${JSON.stringify(progress)}::jsonb,
      "ackedAt" = coalesce(c."ackedAt", now() at time zone 'utc'),
      "updatedAt" = now() at time zone 'utc'
    from (select id, progress->>'phase' as previous from command where id = ${frame.commandId}::uuid for update) old
    where c.id = old.id and c."deviceId" = ${deviceId}::uuid
      and c.state::text not in (${Prisma.join([...TERMINAL_COMMAND_STATES])})
    returning old.previous, c.state::text as state, c."deviceNotes"`;
  const row = updated[0];
  if (!row) return (await ownCommand(db, deviceId, frame.commandId)) !== null; // finished: ignored
  noteCommandsChanged(deviceId); // the progress on the row (coalesced: see change-notices.ts)
  if (row.previous === frame.phase) return true;
  const next = PHASE_STATES[frame.phase];
  const forward = next !== undefined && TRANSITIONS[row.state].includes(next);
  if (!forward && row.deviceNotes >= MAX_DEVICE_NOTES) return true; // a flood: nothing to add
  await db.$transaction(async (tx) => {
    const current = await tx.command.findUnique({ where: { id: frame.commandId } });
    if (!current || isTerminal(current.state)) return;
    const moved =
      next && next !== current.state && TRANSITIONS[current.state].includes(next)
        ? await transition(tx, current.id, next, {
            from: [current.state],
            message: frame.message ?? frame.phase,
            data: progress,
          })
        : null;
    if (!moved) await deviceNote(tx, current.id, frame.message ?? frame.phase, progress);
  });
  return true;
}

/** The state a result says the command is in. */
export function stateOfResult(frame: Pick<ResultFrame, 'status' | 'error'>): CommandState {
  if (frame.status === 'succeeded') return 'succeeded';
  if (frame.error?.code === 'rolled_back') return 'rolled_back';
  if (frame.error?.code === 'cancelled') return 'cancelled';
  return 'failed';
}

interface StoredResult {
  status: string;
  errorCode: string | null;
  finishedAt: string;
}

function describeResult(frame: ResultFrame): string {
  return frame.error ? `${frame.error.code}: ${frame.error.message}` : frame.status;
}

/**
 * The outcome, stored once it is committed (the gateway answers `result_stored` only after this
 * resolves; a throw means nothing was stored and the agent sends it again). 'unknown': not a
 * command of this device.
 */
export async function recordCommandResult(
  db: Db,
  deviceId: string,
  frame: ResultFrame,
): Promise<'stored' | 'unknown'> {
  return db.$transaction(async (tx) => {
    // a concurrent transition (the sweep on another process) makes the CAS miss: read again
    for (let attempt = 0; attempt < 3; attempt++) {
      const command = await ownCommand(tx, deviceId, frame.commandId);
      if (!command) return 'unknown';
      noteCommandsChanged(deviceId);
      const stored = command.result as StoredResult | null;
      const truth = stateOfResult(frame);
      const summary = {
        status: frame.status,
        errorCode: frame.error?.code ?? null,
        finishedAt: frame.finishedAt,
      };
      // (a stored result on a command that is not finished was reset by hand: store it again)
      if (stored && isTerminal(command.state)) {
        const same =
          stored.status === summary.status &&
          stored.errorCode === summary.errorCode &&
          stored.finishedAt === summary.finishedAt;
        if (!same)
          await deviceNote(
            tx,
            command.id,
            `another result arrived (${describeResult(frame)}); the first one is kept`,
            summary,
          );
        return 'stored';
      }
      const fields: Prisma.CommandUpdateManyMutationInput = {
        result: { ...summary, data: frame.data ?? null, output: frame.output ?? null },
        errorCode: frame.error?.code ?? null,
        error: frame.error?.message ?? null,
        completedAt: new Date(),
        ackedAt: command.ackedAt ?? new Date(),
      };
      if (truth === command.state) {
        // cancelled, and the agent confirms it did not run it: the result is stored as well
        const kept = await tx.command.updateMany({
          where: { id: command.id, state: truth, updatedAt: command.updatedAt },
          data: { ...fields, completedAt: command.completedAt ?? new Date() },
        });
        if (!kept.count) continue;
        await deviceNote(tx, command.id, `the device confirms: ${describeResult(frame)}`);
        return 'stored';
      }
      const message =
        command.state === 'timed_out'
          ? `${describeResult(frame)} (the result arrived after the deadline)`
          : command.state === 'cancelled'
            ? `${describeResult(frame)} (the device ran it although it was cancelled)`
            : truth === 'cancelled'
              ? 'cancelled: the device had not started it'
              : command.cancelRequestedAt
                ? `${describeResult(frame)} (the cancel came too late: the device had started it)`
                : describeResult(frame);
      const moved = await transition(tx, command.id, truth, {
        from: [command.state],
        message,
        data: frame.data ? frame.data : undefined,
        set: fields,
      });
      if (moved) {
        const device = await tx.device.findUnique({
          where: { id: deviceId },
          select: { name: true },
        });
        const actor: Actor = { type: 'device', id: deviceId, label: device?.name ?? deviceId };
        await auditOutcomes(tx, actor, [{ row: moved, from: command.state }]);
        return 'stored';
      }
    }
    throw new Error(
      `the state of command ${frame.commandId} kept changing while its result was stored`,
    );
  });
}

// -------------------------------------------------------------------------------- operators

export type CancelOutcome = 'cancelled' | 'cancel_requested' | 'already_requested';

/**
 * Cancel outright what the device was never sent; for a delivered command record that a cancel
 * was requested (the caller has the gateway send `cancel`): what happens is what the device says.
 */
export async function cancelOrRequestCancel(
  tx: Tx,
  commandId: string,
  actorLabel: string,
): Promise<{ outcome: CancelOutcome; command: CommandRow }> {
  const now = new Date();
  const cancelled = await transition(tx, commandId, 'cancelled', {
    from: ['queued'],
    message: `cancelled by ${actorLabel} before delivery`,
    set: { completedAt: now, errorCode: 'cancelled', error: `cancelled by ${actorLabel}` },
  });
  if (cancelled) return { outcome: 'cancelled', command: cancelled };
  const command = await tx.command.findUnique({ where: { id: commandId } });
  if (!command) throw new AppError('NOT_FOUND', 'No such command.');
  if (isTerminal(command.state))
    throw new AppError(
      'PRECONDITION_FAILED',
      `The command is ${command.state.replace('_', ' ')} already; there is nothing to cancel.`,
    );
  if (command.cancelRequestedAt) return { outcome: 'already_requested', command };
  const [requested] = await tx.command.updateManyAndReturn({
    where: { id: commandId, cancelRequestedAt: null, state: { in: [...RUNNING] } },
    data: { cancelRequestedAt: now },
  });
  if (!requested) return cancelOrRequestCancel(tx, commandId, actorLabel);
  await tx.commandEvent.create({
    data: {
      commandId,
      message: `cancel requested by ${actorLabel}: the device was sent it, so it cancels only if it has not started it`,
    },
  });
  return { outcome: 'cancel_requested', command: requested };
}

/** A stopped rollout's applies that no device was sent yet are cancelled; returns their ids. */
export async function cancelQueuedRolloutApplies(
  tx: Tx,
  rolloutId: string,
  message: string,
): Promise<string[]> {
  const rows = await transitionMany(tx, { rolloutId, kind: 'apply' }, 'cancelled', {
    from: ['queued'],
    message: `cancelled: ${message}`,
    set: { completedAt: new Date(), errorCode: 'cancelled', error: message },
  });
  return rows.map((row) => row.id);
}

/**
 * A decommissioned device is refused from now on: nothing it was to run will report. Queued
 * commands are cancelled outright; delivered ones too, saying that it may have run them.
 */
export async function cancelForDecommission(
  tx: Tx,
  deviceIds: string | readonly string[],
): Promise<number> {
  const deviceId = typeof deviceIds === 'string' ? deviceIds : { in: [...deviceIds] };
  const now = new Date();
  const set = { completedAt: now, errorCode: 'cancelled', error: 'device decommissioned' };
  const queued = await transitionMany(tx, { deviceId }, 'cancelled', {
    from: ['queued'],
    message: 'cancelled: the device was decommissioned before delivery',
    set,
  });
  const sent = await transitionMany(tx, { deviceId }, 'cancelled', {
    from: RUNNING,
    message:
      'cancelled: the device was decommissioned after it was sent the command; it may have run it, and its result can no longer arrive',
    set,
  });
  return queued.length + sent.length;
}

// ---------------------------------------------------------------------------------- deadlines

/**
 * The deadline sweep: queued commands past their TTL and delivered ones past their result
 * deadline become timed_out. Safe on every process at once (each row moves once, by CAS).
 */
export async function expireOverdueCommands(db: Db, now = new Date()): Promise<number> {
  const overdue = await db.command.findMany({
    where: { deadlineAt: { lte: now }, state: { notIn: [...TERMINAL_COMMAND_STATES] } },
    select: { id: true, kind: true, state: true },
    take: 1000,
  });
  if (!overdue.length) return 0;
  return db.$transaction(async (tx) => {
    const queued = overdue.filter((row) => row.state === 'queued').map((row) => row.id);
    const expired: { row: CommandRow; from: CommandState | null }[] = [];
    if (queued.length)
      for (const row of await transitionMany(
        tx,
        { id: { in: queued }, deadlineAt: { lte: now } },
        'timed_out',
        {
          from: ['queued'],
          message: `not delivered within ${minutes(QUEUED_COMMAND_TTL_MS)}: the device stayed offline`,
          set: { completedAt: now, errorCode: 'not_delivered', error: 'never delivered' },
        },
      ))
        expired.push({ row, from: 'queued' });
    const byKind = new Map<string, string[]>();
    for (const row of overdue)
      if (row.state !== 'queued') byKind.set(row.kind, [...(byKind.get(row.kind) ?? []), row.id]);
    for (const [kind, ids] of byKind) {
      const limit = commandResultDeadlineMs(fromPrismaKind(kind as CommandRow['kind']));
      for (const row of await transitionMany(
        tx,
        { id: { in: ids }, deadlineAt: { lte: now } },
        'timed_out',
        {
          from: RUNNING,
          message: `no result within ${minutes(limit)} of delivery`,
          set: { completedAt: now, errorCode: 'timed_out', error: 'no result before the deadline' },
        },
      ))
        expired.push({ row, from: null }); // which running state it left is not returned
    }
    await auditOutcomes(tx, SYSTEM_ACTOR, expired);
    return expired.length;
  });
}
