// Commands: a row before it is a frame. Created by operators (or rollouts), delivered by the
// gateway while the device is online and re-sent after reconnects until the device acks, advanced
// by the device's progress and result frames, and timed out by the deadline sweep.
import type { Prisma } from '@eos-fleet/db';
import {
  COMMAND_KINDS,
  TERMINAL_COMMAND_STATES,
  type CommandKind,
  type CommandState,
} from '@eos-fleet/shared/domain';
import {
  commandSchema,
  describeIssues,
  type ProgressFrame,
  type ResultFrame,
} from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { publishFleetEvent } from '../events/fleet-events';

type Db = ServiceContext['db'];
type PrismaCommandKind =
  | 'check'
  | 'apply'
  | 'rollback'
  | 'flake_register'
  | 'flake_remove'
  | 'flake_pull'
  | 'inventory_refresh';

/** Prisma spells `flake.register` as `flake_register` (its enum names cannot hold a dot). */
export function toPrismaKind(kind: CommandKind): PrismaCommandKind {
  return kind.replace('.', '_') as PrismaCommandKind;
}
export function fromPrismaKind(kind: PrismaCommandKind): CommandKind {
  return kind.replace('_', '.') as CommandKind;
}

/** How long a command may take before it is timed out, unless the caller says otherwise. */
const DEFAULT_TIMEOUT_SECONDS: Record<CommandKind, number> = {
  check: 600,
  apply: 3600,
  rollback: 900,
  'flake.register': 600,
  'flake.remove': 600,
  'flake.pull': 1800,
  'inventory.refresh': 300,
};

export const createCommandInput = z.object({
  deviceId: z.uuid(),
  kind: z.enum(COMMAND_KINDS),
  /** the parameters of `kind` (packages/shared protocol); apply's deadline is set here */
  params: z.record(z.string(), z.unknown()).default({}),
  timeoutSeconds: z
    .number()
    .int()
    .min(30)
    .max(7 * 24 * 3600)
    .optional(),
});

export async function createCommand(
  ctx: ServiceContext,
  input: z.input<typeof createCommandInput>,
  options: { rolloutId?: string } = {},
) {
  const { deviceId, kind, params, timeoutSeconds } = createCommandInput.parse(input);
  const deadlineAt = new Date(
    Date.now() + (timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[kind]) * 1000,
  );
  const withDeadline =
    kind === 'apply' ? { ...params, deadline: deadlineAt.toISOString() } : params;
  const parsed = commandSchema.safeParse({ kind, params: withDeadline });
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid ${kind} parameters: ${describeIssues(parsed.error)}`,
    );

  return ctx.db.$transaction(async (tx) => {
    const device = await tx.device.findUnique({
      where: { id: deviceId },
      select: { status: true, name: true },
    });
    if (!device) throw new AppError('NOT_FOUND', 'No such device.');
    if (device.status !== 'accepted')
      throw new AppError(
        'PRECONDITION_FAILED',
        `The device is ${device.status}: only accepted devices take commands.`,
      );
    const command = await tx.command.create({
      data: {
        deviceId,
        kind: toPrismaKind(kind),
        params: parsed.data.params,
        deadlineAt,
        createdById: ctx.actor.type === 'operator' ? ctx.actor.id : null,
        rolloutId: options.rolloutId ?? null,
        events: { create: { state: 'queued', message: `queued by ${ctx.actor.label}` } },
      },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'command.created',
      targetType: 'device',
      targetId: deviceId,
      data: { commandId: command.id, kind, device: device.name },
    });
    await publishFleetEvent(tx, { type: 'command.queued', deviceId, commandId: command.id });
    return toCommandView(command);
  });
}

export interface Delivery {
  id: string;
  kind: CommandKind;
  params: unknown;
  issuedAt: Date;
}

/**
 * What the device has no outcome for yet and may still run, oldest first. Acked commands are
 * included: the agent answers a known id from its journal (a stored result, or another ack while
 * it runs) and never runs it twice, so a result lost with a dropped connection is recovered.
 */
export async function commandsToDeliver(db: Db, deviceId: string): Promise<Delivery[]> {
  const rows = await db.command.findMany({
    where: {
      deviceId,
      state: { notIn: [...TERMINAL_COMMAND_STATES] },
      deadlineAt: { gt: new Date() },
    },
    orderBy: { createdAt: 'asc' },
    take: 50,
  });
  return rows.map((row) => ({
    id: row.id,
    kind: fromPrismaKind(row.kind),
    params: row.params,
    issuedAt: row.createdAt,
  }));
}

/** The frames went out: count the send, and mark first deliveries (once, even when two race). */
export async function markCommandsSent(db: Db, commandIds: string[]): Promise<void> {
  if (commandIds.length === 0) return;
  await db.$transaction(async (tx) => {
    await tx.command.updateMany({
      where: { id: { in: commandIds } },
      data: { sendCount: { increment: 1 }, lastSentAt: new Date() },
    });
    const firstTime = await tx.command.updateManyAndReturn({
      where: { id: { in: commandIds }, state: 'queued' },
      data: { state: 'delivered' },
      select: { id: true },
    });
    if (firstTime.length) {
      await tx.commandEvent.createMany({
        data: firstTime.map((row) => ({
          commandId: row.id,
          state: 'delivered' as const,
          message: 'sent to the device',
        })),
      });
    }
  });
}

/** A command of another device, or one that does not exist, is not the device's to touch. */
async function ownCommand(db: Db, deviceId: string, commandId: string) {
  if (!z.uuid().safeParse(commandId).success) return null;
  const command = await db.command.findUnique({ where: { id: commandId } });
  return command && command.deviceId === deviceId ? command : null;
}

export async function recordCommandAck(
  db: Db,
  deviceId: string,
  commandId: string,
): Promise<boolean> {
  const updated = await db.command.updateMany({
    where: { id: commandId, deviceId, ackedAt: null },
    data: { ackedAt: new Date() },
  });
  return updated.count > 0 || (await ownCommand(db, deviceId, commandId)) !== null;
}

const PHASE_STATES: Partial<Record<ProgressFrame['phase'], CommandState>> = {
  downloading: 'downloading',
  rebooting: 'rebooting',
  verifying: 'verifying',
};

/** Progress: the latest report on the row; a state change (and its event) when the phase moves on. */
export async function recordCommandProgress(
  db: Db,
  deviceId: string,
  frame: ProgressFrame,
): Promise<boolean> {
  const command = await ownCommand(db, deviceId, frame.commandId);
  if (!command) return false;
  if ((TERMINAL_COMMAND_STATES as readonly string[]).includes(command.state)) return true;
  const progress = {
    phase: frame.phase,
    bytesWritten: frame.bytesWritten,
    totalBytes: frame.totalBytes,
    message: frame.message,
    at: new Date().toISOString(),
  };
  const next = PHASE_STATES[frame.phase];
  const previous = (command.progress as { phase?: string } | null)?.phase;
  await db.$transaction(async (tx) => {
    await tx.command.update({
      where: { id: command.id },
      data: {
        progress,
        ...(next && next !== command.state ? { state: next } : {}),
        ackedAt: command.ackedAt ?? new Date(),
      },
    });
    if (previous !== frame.phase) {
      await tx.commandEvent.create({
        data: {
          commandId: command.id,
          state: next && next !== command.state ? next : null,
          message: frame.message ?? frame.phase,
          data: progress,
        },
      });
    }
  });
  return true;
}

/** The outcome. A second result for a finished command (a re-delivery answered again) changes nothing. */
export async function recordCommandResult(
  db: Db,
  deviceId: string,
  frame: ResultFrame,
): Promise<boolean> {
  const command = await ownCommand(db, deviceId, frame.commandId);
  if (!command) return false;
  if ((TERMINAL_COMMAND_STATES as readonly string[]).includes(command.state)) return true;
  const state: CommandState =
    frame.status === 'succeeded'
      ? 'succeeded'
      : frame.error?.code === 'rolled_back'
        ? 'rolled_back'
        : 'failed';
  await db.$transaction(async (tx) => {
    const done = await tx.command.updateMany({
      where: { id: command.id, state: { notIn: [...TERMINAL_COMMAND_STATES] } },
      data: {
        state,
        result: {
          data: frame.data ?? null,
          output: frame.output ?? null,
          finishedAt: frame.finishedAt,
        },
        errorCode: frame.error?.code ?? null,
        error: frame.error?.message ?? null,
        completedAt: new Date(),
        ackedAt: command.ackedAt ?? new Date(),
      },
    });
    if (done.count) {
      await tx.commandEvent.create({
        data: {
          commandId: command.id,
          state,
          message: frame.error ? `${frame.error.code}: ${frame.error.message}` : 'succeeded',
          data: frame.data ?? undefined,
        },
      });
    }
  });
  return true;
}

/** Commands past their deadline become timed_out. Safe to run on every process at once. */
export async function timeOutExpiredCommands(db: Db, now = new Date()): Promise<number> {
  const expired = await db.command.findMany({
    where: { deadlineAt: { lte: now }, state: { notIn: [...TERMINAL_COMMAND_STATES] } },
    select: { id: true },
    take: 1000,
  });
  if (!expired.length) return 0;
  return db.$transaction(async (tx) => {
    const ids = expired.map((row) => row.id);
    const changed = await tx.command.updateManyAndReturn({
      where: { id: { in: ids }, state: { notIn: [...TERMINAL_COMMAND_STATES] } },
      data: {
        state: 'timed_out',
        completedAt: now,
        errorCode: 'timed_out',
        error: 'no result before the deadline',
      },
      select: { id: true },
    });
    if (changed.length) {
      await tx.commandEvent.createMany({
        data: changed.map((row) => ({
          commandId: row.id,
          state: 'timed_out' as const,
          message: 'no result before the deadline',
        })),
      });
    }
    return changed.length;
  });
}

export async function cancelCommand(ctx: ServiceContext, input: { commandId: string }) {
  const { commandId } = z.object({ commandId: z.uuid() }).parse(input);
  return ctx.db.$transaction(async (tx) => {
    const command = await tx.command.findUnique({ where: { id: commandId } });
    if (!command) throw new AppError('NOT_FOUND', 'No such command.');
    if (command.ackedAt || (command.state !== 'queued' && command.state !== 'delivered')) {
      throw new AppError(
        'PRECONDITION_FAILED',
        'The device has taken this command already; it can no longer be cancelled.',
      );
    }
    const updated = await tx.command.update({
      where: { id: commandId },
      data: { state: 'cancelled', completedAt: new Date() },
    });
    await tx.commandEvent.create({
      data: { commandId, state: 'cancelled', message: `cancelled by ${ctx.actor.label}` },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'command.cancelled',
      targetType: 'device',
      targetId: command.deviceId,
      data: { commandId },
    });
    return toCommandView(updated);
  });
}

export async function listDeviceCommands(
  ctx: Pick<ServiceContext, 'db'>,
  input: { deviceId: string; limit?: number },
) {
  const { deviceId, limit } = z
    .object({ deviceId: z.uuid(), limit: z.number().int().min(1).max(200).default(50) })
    .parse(input);
  const rows = await ctx.db.command.findMany({
    where: { deviceId },
    orderBy: { createdAt: 'desc' },
    take: limit,
    include: { events: { orderBy: { id: 'asc' } } },
  });
  return rows.map((row) => ({
    ...toCommandView(row),
    events: row.events.map((event) => ({
      id: event.id.toString(),
      state: event.state,
      message: event.message,
      data: event.data,
      createdAt: event.createdAt,
    })),
  }));
}

type CommandRow = Prisma.CommandGetPayload<object>;

export function toCommandView(row: CommandRow) {
  return {
    id: row.id,
    deviceId: row.deviceId,
    kind: fromPrismaKind(row.kind),
    params: row.params as Record<string, unknown>,
    state: row.state,
    progress: row.progress as {
      phase: string;
      bytesWritten?: number;
      totalBytes?: number;
      message?: string;
      at: string;
    } | null,
    result: row.result as { data: Record<string, unknown> | null; output: string | null } | null,
    errorCode: row.errorCode,
    error: row.error,
    deadlineAt: row.deadlineAt,
    sendCount: row.sendCount,
    ackedAt: row.ackedAt,
    completedAt: row.completedAt,
    createdAt: row.createdAt,
  };
}
