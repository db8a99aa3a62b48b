// Commands as operators (and later rollouts) see them: create, apply an image version, cancel,
// list a device's history page by page, read one command in full. A command's state is written
// only by command-lifecycle.ts; the gateway delivers it and feeds the device's frames to it.
import type { Prisma } from '@eos-fleet/db';
import { COMMAND_KINDS, type CommandState } from '@eos-fleet/shared/domain';
import { commandSchema, describeIssues } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { publishFleetEvent } from '../events/fleet-events';
import { fromPrismaKind } from './command-kinds';
import { transferOf, type CommandProgress } from './command-transfer';
import {
  cancelOrRequestCancel,
  enqueueCommand,
  provisionalApplyDeadline,
} from './command-lifecycle';

export { fromPrismaKind, toPrismaKind } from './command-kinds';

export const createCommandInput = z.object({
  deviceId: z.uuid(),
  kind: z.enum(COMMAND_KINDS),
  /** the parameters of `kind` (packages/shared protocol); apply's deadline is set at delivery */
  params: z.record(z.string(), z.unknown()).default({}),
});

export async function createCommand(
  ctx: ServiceContext,
  input: z.input<typeof createCommandInput>,
  options: { rolloutId?: string } = {},
) {
  const { deviceId, kind, params } = createCommandInput.parse(input);
  const withDeadline =
    kind === 'apply' ? { ...params, deadline: provisionalApplyDeadline().toISOString() } : params;
  const parsed = commandSchema.safeParse({ kind, params: withDeadline });
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid ${kind} parameters: ${describeIssues(parsed.error)}`,
    );

  return ctx.db.$transaction(async (tx) => {
    const device = await tx.device.findUnique({
      where: { id: deviceId },
      select: { status: true, name: true, rootPrefixHash: true, activeSlot: true },
    });
    if (!device) throw new AppError('NOT_FOUND', 'No such device.');
    if (device.status !== 'accepted')
      throw new AppError(
        'PRECONDITION_FAILED',
        `The device is ${device.status}: only accepted devices take commands.`,
      );
    const command = await enqueueCommand(tx, {
      deviceId,
      kind,
      params: parsed.data.params,
      createdById: ctx.actor.type === 'operator' ? ctx.actor.id : null,
      rolloutId: options.rolloutId ?? null,
      actorLabel: ctx.actor.label,
    });
    await recordAuditEvent(ctx, tx, {
      action: 'command.created',
      targetType: 'device',
      targetId: deviceId,
      // what ran where when it was sent: the device page infers the inactive slot's content from it
      data: {
        commandId: command.id,
        kind,
        device: device.name,
        rootPrefixHash: device.rootPrefixHash,
        activeSlot: device.activeSlot,
      },
    });
    await publishFleetEvent(tx, { type: 'command.queued', deviceId, commandId: command.id });
    return toCommandSummary({ ...command, _count: { events: 1 } });
  });
}

/**
 * Cancel: outright when the device was never sent it; otherwise a request the agent honours if
 * it has not started the command (the gateway holding the device sends `cancel`).
 */
export async function cancelCommand(ctx: ServiceContext, input: { commandId: string }) {
  const { commandId } = z.object({ commandId: z.uuid() }).parse(input);
  return ctx.db.$transaction(async (tx) => {
    const { outcome, command } = await cancelOrRequestCancel(tx, commandId, ctx.actor.label);
    if (outcome !== 'already_requested') {
      await recordAuditEvent(ctx, tx, {
        action: outcome === 'cancelled' ? 'command.cancelled' : 'command.cancel_requested',
        targetType: 'device',
        targetId: command.deviceId,
        data: { commandId, kind: fromPrismaKind(command.kind), state: command.state },
      });
    }
    if (outcome === 'cancel_requested')
      await publishFleetEvent(tx, {
        type: 'command.cancel_requested',
        deviceId: command.deviceId,
        commandId,
      });
    return { outcome, command: toCommandSummary({ ...command, _count: { events: 0 } }) };
  });
}

export const listDeviceCommandsInput = z.object({
  deviceId: z.uuid(),
  /** the last command id of the previous page */
  cursor: z.uuid().nullish(),
  limit: z.number().int().min(1).max(100).default(20),
});

/**
 * One page of a device's command history, newest first. Summaries only: no events, no tool
 * output (those are in getCommand), so a page stays small whatever the device sent.
 */
export async function listDeviceCommands(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof listDeviceCommandsInput>,
) {
  const { deviceId, cursor, limit } = listDeviceCommandsInput.parse(input);
  const rows = await ctx.db.command.findMany({
    where: { deviceId },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
    ...(cursor ? { cursor: { id: cursor }, skip: 1 } : {}),
    include: { _count: { select: { events: true } } },
  });
  const page = rows.slice(0, limit);
  // each state change with its time, for the timeline (a handful per command: the lifecycle
  // writes one per transition)
  const changes = page.length
    ? await ctx.db.commandEvent.findMany({
        where: { commandId: { in: page.map((row) => row.id) }, state: { not: null } },
        orderBy: { id: 'asc' },
        select: { commandId: true, state: true, data: true, createdAt: true },
      })
    : [];
  const changesOf = new Map<string, typeof changes>();
  for (const change of changes)
    changesOf.set(change.commandId, [...(changesOf.get(change.commandId) ?? []), change]);
  return {
    items: page.map((row) => toCommandSummary(row, changesOf.get(row.id) ?? [])),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** One command in full: its events (bounded by the lifecycle) and the tool's output. */
export async function getCommand(ctx: Pick<ServiceContext, 'db'>, input: { commandId: string }) {
  const { commandId } = z.object({ commandId: z.uuid() }).parse(input);
  const row = await ctx.db.command.findUnique({
    where: { id: commandId },
    include: { events: { orderBy: { id: 'asc' } }, _count: { select: { events: true } } },
  });
  if (!row) throw new AppError('NOT_FOUND', 'No such command.');
  const result = row.result as { output?: string | null } | null;
  return {
    ...toCommandSummary(
      row,
      row.events.filter((event) => event.state !== null),
    ),
    output: result?.output ?? null,
    events: row.events.map((event) => ({
      id: event.id.toString(),
      state: event.state,
      message: event.message,
      data: event.data,
      createdAt: event.createdAt,
    })),
  };
}

type CommandRow = Prisma.CommandGetPayload<object> & { _count: { events: number } };

interface StateChange {
  state: CommandState | null;
  data: unknown;
  createdAt: Date;
}

export function toCommandSummary(row: CommandRow, stateChanges: readonly StateChange[] = []) {
  const result = row.result as { data?: Record<string, unknown> | null } | null;
  const progress = row.progress as CommandProgress | null;
  return {
    id: row.id,
    deviceId: row.deviceId,
    kind: fromPrismaKind(row.kind),
    params: row.params as Record<string, unknown>,
    state: row.state,
    progress,
    /** an apply's write of the inactive slot: percent, rate, time left (null when not writing) */
    transfer: row.completedAt ? null : transferOf(progress, row.params, stateChanges),
    /** every state the command entered, oldest first */
    stateChanges: stateChanges.flatMap((change) =>
      change.state ? [{ state: change.state, at: change.createdAt }] : [],
    ),
    resultData: result?.data ?? null,
    errorCode: row.errorCode,
    error: row.error,
    deadlineAt: row.deadlineAt,
    sendCount: row.sendCount,
    deliveredAt: row.deliveredAt,
    ackedAt: row.ackedAt,
    cancelRequestedAt: row.cancelRequestedAt,
    completedAt: row.completedAt,
    createdAt: row.createdAt,
    eventCount: row._count.events,
  };
}
