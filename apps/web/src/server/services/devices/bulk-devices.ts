// Bulk actions of the Devices table on a list of ids or on "everything matching this filter":
// label set/remove, check, apply a catalog version, rollback, decommission. Each has a preview
// (how many devices it touches, what it does, why the others are skipped, in words) and a run
// that does exactly what the preview said, in one transaction of a few statements whatever the
// number of devices: one audit entry for the bulk action with its counts, plus each device's own
// entries as a single action writes them (command.created, device.decommissioned).
import { Prisma } from '@eos-fleet/db';
import { deviceFilterSchema } from '@eos-fleet/shared/device-filter';
import { z } from 'zod';
import { recordAuditEvent, recordAuditEvents } from '../audit/record-audit-event';
import { resolveDeviceVersions } from '../catalog/resolve-device-versions';
import {
  cancelForDecommission,
  enqueueCommands,
  provisionalApplyDeadline,
} from '../commands/command-lifecycle';
import type { ServiceContext } from '../context';
import { labelsSchema } from '../enrollment/enrollment-tokens';
import { AppError } from '../errors';
import { publishFleetEvents } from '../events/fleet-events';
import { countMatchingDevices, deviceFilterWhere } from './query-devices';
import { isOnline } from './list-devices';

/** A list of ids the browser sends (a selection on screen). */
export const MAX_BULK_IDS = 1_000;
/** Devices one bulk command or decommission may touch: beyond, narrow the filter (or a rollout). */
export const MAX_BULK_COMMAND_DEVICES = 10_000;
/** A label change is one UPDATE: the whole fleet is fine. */
export const MAX_BULK_LABEL_DEVICES = 200_000;
const MAX_LABELS = 32;

const labelKey = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9._/-]{0,62}[a-z0-9])?$/,
    'label keys: lower-case letters, digits, . _ / -',
  );
const labelValue = z
  .string()
  .max(63)
  .regex(/^[A-Za-z0-9._-]*$/, 'label values: letters, digits, . _ -');

export const bulkTargetSchema = z.union([
  z.object({ ids: z.array(z.uuid()).min(1).max(MAX_BULK_IDS) }),
  z.object({ filter: deviceFilterSchema }),
]);
export type BulkTarget = z.infer<typeof bulkTargetSchema>;

export const bulkActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('setLabel'), key: labelKey, value: labelValue }),
  z.object({ type: z.literal('removeLabel'), key: labelKey }),
  z.object({ type: z.literal('check') }),
  z.object({ type: z.literal('rollback') }),
  z.object({ type: z.literal('apply'), imageVersionId: z.uuid() }),
  z.object({ type: z.literal('decommission') }),
]);
export type BulkAction = z.infer<typeof bulkActionSchema>;

export const bulkInput = z.object({ target: bulkTargetSchema, action: bulkActionSchema });

export interface BulkPlan {
  /** devices the target names (ids that exist, or matches of the filter) */
  matched: number;
  /** devices the action will change */
  acting: number;
  /** what it will do, in a sentence for the confirmation dialog */
  summary: string;
  /** why the others are left alone, with counts */
  skipped: { reason: string; count: number }[];
  /** remarks on devices it does act on (e.g. offline: queued until they connect) */
  notes: { note: string; count: number }[];
}

type Db = ServiceContext['db'];
type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

const FROM = Prisma.sql`"device" d LEFT JOIN "device_presence" p ON p."deviceId" = d."id"`;

function targetWhere(target: BulkTarget, now: Date): Prisma.Sql {
  // a list of ids also names decommissioned devices (they are skipped with a reason)
  return 'ids' in target
    ? Prisma.sql`d."id" = ANY(${target.ids}::uuid[])`
    : deviceFilterWhere(target.filter, now);
}

function plural(count: number, word: string) {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function tally(reasons: Map<string, number>) {
  return [...reasons].map(([reason, count]) => ({ reason, count }));
}

function parseBulk(input: unknown) {
  const parsed = bulkInput.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid bulk action: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

// -------------------------------------------------------------------------------- labels

async function planLabels(
  db: Pick<Db, '$queryRaw'>,
  target: BulkTarget,
  action: Extract<BulkAction, { type: 'setLabel' | 'removeLabel' }>,
  now: Date,
): Promise<BulkPlan> {
  const where = targetWhere(target, now);
  if (action.type === 'setLabel') {
    const label = Prisma.sql`jsonb_build_object(${action.key}::text, ${action.value}::text)`;
    const [row] = await db.$queryRaw<
      { matched: bigint; same: bigint; full: bigint; gone: bigint }[]
    >`
      SELECT count(*) AS "matched",
        count(*) FILTER (WHERE d."status" <> 'decommissioned' AND d."labels" @> ${label}) AS "same",
        count(*) FILTER (WHERE d."status" <> 'decommissioned' AND NOT d."labels" ? ${action.key}
          AND (SELECT count(*) FROM jsonb_object_keys(d."labels")) >= ${MAX_LABELS}) AS "full",
        count(*) FILTER (WHERE d."status" = 'decommissioned') AS "gone"
      FROM ${FROM} WHERE ${where}`;
    const matched = Number(row?.matched ?? 0);
    const skipped = new Map<string, number>();
    if (Number(row?.same))
      skipped.set(`already labelled ${action.key}=${action.value}`, Number(row?.same));
    if (Number(row?.full))
      skipped.set(
        `has ${MAX_LABELS} labels already (the most a device may have)`,
        Number(row?.full),
      );
    if (Number(row?.gone)) skipped.set('decommissioned', Number(row?.gone));
    const acting = matched - Number(row?.same) - Number(row?.full) - Number(row?.gone);
    return {
      matched,
      acting,
      summary: `Set the label ${action.key}=${action.value} on ${plural(acting, 'device')}.`,
      skipped: tally(skipped),
      notes: [],
    };
  }
  const [row] = await db.$queryRaw<{ matched: bigint; absent: bigint; gone: bigint }[]>`
    SELECT count(*) AS "matched",
      count(*) FILTER (WHERE d."status" <> 'decommissioned' AND NOT d."labels" ? ${action.key}) AS "absent",
      count(*) FILTER (WHERE d."status" = 'decommissioned') AS "gone"
    FROM ${FROM} WHERE ${where}`;
  const matched = Number(row?.matched ?? 0);
  const skipped = new Map<string, number>();
  if (Number(row?.absent)) skipped.set(`has no label ${action.key}`, Number(row?.absent));
  if (Number(row?.gone)) skipped.set('decommissioned', Number(row?.gone));
  const acting = matched - Number(row?.absent) - Number(row?.gone);
  return {
    matched,
    acting,
    summary: `Remove the label ${action.key} from ${plural(acting, 'device')}.`,
    skipped: tally(skipped),
    notes: [],
  };
}

async function runLabels(
  tx: Tx,
  target: BulkTarget,
  action: Extract<BulkAction, { type: 'setLabel' | 'removeLabel' }>,
  now: Date,
): Promise<number> {
  const where = targetWhere(target, now);
  if (action.type === 'setLabel') {
    const label = Prisma.sql`jsonb_build_object(${action.key}::text, ${action.value}::text)`;
    return tx.$executeRaw`UPDATE "device" SET "labels" = "labels" || ${label}, "updatedAt" = ${now}::timestamptz
      WHERE "id" IN (SELECT d."id" FROM ${FROM} WHERE ${where}
        AND d."status" <> 'decommissioned' AND NOT d."labels" @> ${label}
        AND (d."labels" ? ${action.key} OR (SELECT count(*) FROM jsonb_object_keys(d."labels")) < ${MAX_LABELS}))`;
  }
  return tx.$executeRaw`UPDATE "device" SET "labels" = "labels" - ${action.key}::text, "updatedAt" = ${now}::timestamptz
    WHERE "id" IN (SELECT d."id" FROM ${FROM} WHERE ${where}
      AND d."status" <> 'decommissioned' AND d."labels" ? ${action.key})`;
}

// ------------------------------------------------------------------ commands, decommission

interface Candidate {
  id: string;
  name: string;
  status: string;
  imageName: string | null;
  rootPrefixHash: string | null;
  slotSize: bigint | null;
  facts: unknown;
  online: boolean;
}

async function loadCandidates(
  db: Db,
  target: BulkTarget,
  now: Date,
  cap: number,
): Promise<Candidate[]> {
  const where = targetWhere(target, now);
  const matched =
    'ids' in target ? target.ids.length : await countMatchingDevices(db, target.filter, now);
  if (matched > cap)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${matched} devices match: one bulk action may command at most ${cap}. Narrow the filter, or use a rollout.`,
    );
  const rows = await db.$queryRaw<
    (Omit<Candidate, 'online'> & { online: boolean | null; seen: Date | null })[]
  >`
    SELECT d."id", d."name", d."status"::text AS "status", d."imageName", d."rootPrefixHash",
      d."slotSize", d."facts", p."online", p."lastSeenAt" AS "seen"
    FROM ${FROM} WHERE ${where}`;
  return rows.map(({ online, seen, ...row }) => ({
    ...row,
    online: isOnline(online !== null && seen ? { online, lastSeenAt: seen } : null, now.getTime()),
  }));
}

const MiB = 1024 * 1024;

interface CommandPlan extends BulkPlan {
  deviceIds: string[];
  kind: 'check' | 'rollback' | 'apply';
  params: Prisma.InputJsonValue;
  versionName?: string;
}

async function planCommands(
  ctx: Pick<ServiceContext, 'db'>,
  target: BulkTarget,
  action: Extract<BulkAction, { type: 'check' | 'rollback' | 'apply' }>,
  now: Date,
): Promise<CommandPlan> {
  let version: Awaited<ReturnType<typeof loadVersion>> | null = null;
  if (action.type === 'apply') version = await loadVersion(ctx, action.imageVersionId);
  const candidates = await loadCandidates(ctx.db, target, now, MAX_BULK_COMMAND_DEVICES);
  const resolutions = version ? await resolveDeviceVersions(ctx, candidates) : null;
  const skipped = new Map<string, number>();
  const skip = (reason: string) => skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  const deviceIds: string[] = [];
  let offline = 0;
  for (const device of candidates) {
    if (device.status !== 'accepted') {
      skip(`${device.status}: only accepted devices take commands`);
      continue;
    }
    if (version && resolutions) {
      const server = resolutions.get(device.id)?.updateServer;
      if (!server) {
        skip('its update server is unknown (not reported, or not registered)');
        continue;
      }
      if (server.id !== version.image.updateServerId) {
        skip(`fetches from another update server than ${version.image.updateServer.name}`);
        continue;
      }
      if (device.imageName !== version.image.name) {
        skip(
          `wrong image name: runs ${device.imageName ?? 'an unreported image'}, not ${version.image.name}`,
        );
        continue;
      }
      if (device.rootPrefixHash === version.rootPrefixHash) {
        skip(`already runs ${version.name}`);
        continue;
      }
      if (device.slotSize !== null && version.rootPartitionSize > device.slotSize) {
        skip(
          `slot too small: ${version.name} needs ${(Number(version.rootPartitionSize) / MiB).toFixed(1)} MiB`,
        );
        continue;
      }
    }
    if (!device.online) offline++;
    deviceIds.push(device.id);
  }
  const what =
    action.type === 'apply'
      ? `Apply ${version?.name ?? ''} (pinned to its content) to`
      : action.type === 'check'
        ? 'Check for updates on'
        : 'Roll back (boot the other slot) on';
  const params: Prisma.InputJsonValue =
    action.type === 'apply' && version
      ? {
          expectedRootPrefixHash: version.rootPrefixHash,
          expectedRootSha256: version.rootSha256 ?? '',
          expectedRootBytes: Number(version.rootPartitionSize),
          imageName: `${version.image.name}@${version.rootPrefixHash}`,
          deadline: provisionalApplyDeadline(now).toISOString(),
        }
      : {};
  return {
    matched: candidates.length,
    acting: deviceIds.length,
    summary: `${what} ${plural(deviceIds.length, 'device')}.`,
    skipped: tally(skipped),
    notes: offline
      ? [{ note: 'offline: queued, it runs when the device connects', count: offline }]
      : [],
    deviceIds,
    kind: action.type,
    params,
    versionName: version?.name,
  };
}

/** The version to apply: blocked, withdrawn or unpinnable versions are refused outright. */
async function loadVersion(ctx: Pick<ServiceContext, 'db'>, imageVersionId: string) {
  const version = await ctx.db.imageVersion.findUnique({
    where: { id: imageVersionId },
    include: { image: { include: { updateServer: { select: { id: true, name: true } } } } },
  });
  if (!version) throw new AppError('NOT_FOUND', 'No such image version.');
  const name = `${version.image.name} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`;
  if (version.blocked)
    throw new AppError('PRECONDITION_FAILED', `${name} is blocked: it is not applied any more.`);
  if (!version.available)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${name} is no longer offered by ${version.image.updateServer.name}.`,
    );
  if (version.rootSha256 === null)
    throw new AppError(
      'PRECONDITION_FAILED',
      `${version.image.updateServer.name} does not publish the whole-root sha256 of ${name}: update that server.`,
    );
  return { ...version, name };
}

async function planDecommission(db: Db, target: BulkTarget, now: Date) {
  const candidates = await loadCandidates(db, target, now, MAX_BULK_COMMAND_DEVICES);
  const deviceIds = candidates.filter((d) => d.status !== 'decommissioned').map((d) => d.id);
  const gone = candidates.length - deviceIds.length;
  return {
    matched: candidates.length,
    acting: deviceIds.length,
    summary: `Decommission ${plural(deviceIds.length, 'device')}: each is refused from now on and its unfinished commands are cancelled. This cannot be undone.`,
    skipped: gone ? [{ reason: 'already decommissioned', count: gone }] : [],
    notes: [],
    deviceIds,
    names: new Map(candidates.map((d) => [d.id, d.name])),
  };
}

function publicPlan(plan: BulkPlan): BulkPlan {
  return {
    matched: plan.matched,
    acting: plan.acting,
    summary: plan.summary,
    skipped: plan.skipped,
    notes: plan.notes,
  };
}

/** What a bulk action would do, without doing it (the confirmation dialog). */
export async function previewBulkAction(ctx: ServiceContext, input: unknown): Promise<BulkPlan> {
  const { target, action } = parseBulk(input);
  const now = new Date();
  if (action.type === 'setLabel' || action.type === 'removeLabel')
    return planLabels(ctx.db, target, action, now);
  if (action.type === 'decommission')
    return publicPlan(await planDecommission(ctx.db, target, now));
  return publicPlan(await planCommands(ctx, target, action, now));
}

/** Do it: the same plan, made in one transaction; returns the plan as run. */
export async function runBulkAction(ctx: ServiceContext, input: unknown): Promise<BulkPlan> {
  const { target, action } = parseBulk(input);
  const now = new Date();
  const targetData = 'ids' in target ? { ids: target.ids.length } : { filter: target.filter };

  if (action.type === 'setLabel' || action.type === 'removeLabel') {
    const plan = await planLabels(ctx.db, target, action, now);
    if (plan.matched > MAX_BULK_LABEL_DEVICES)
      throw new AppError(
        'PRECONDITION_FAILED',
        `${plan.matched} devices match: at most ${MAX_BULK_LABEL_DEVICES}.`,
      );
    const changed = await ctx.db.$transaction(async (tx) => {
      const count = await runLabels(tx, target, action, now);
      await recordAuditEvent(ctx, tx, {
        action: 'device.bulk_labelled',
        targetType: 'device',
        data: {
          ...(action.type === 'setLabel'
            ? { set: { [action.key]: action.value } }
            : { removed: action.key }),
          target: targetData,
          matched: plan.matched,
          changed: count,
        },
      });
      return count;
    });
    return { ...plan, acting: changed };
  }

  if (action.type === 'decommission') {
    const plan = await planDecommission(ctx.db, target, now);
    await ctx.db.$transaction(
      async (tx) => {
        const rows = await tx.device.updateManyAndReturn({
          where: { id: { in: plan.deviceIds }, status: { not: 'decommissioned' } },
          data: { status: 'decommissioned', decommissionedAt: now },
          select: { id: true, name: true },
        });
        const ids = rows.map((row) => row.id);
        const cancelledCommands = await cancelForDecommission(tx, ids);
        await recordAuditEvents(
          ctx,
          tx,
          rows.map((row) => ({
            action: 'device.decommissioned' as const,
            targetType: 'device',
            targetId: row.id,
            data: { name: row.name, bulk: true },
          })),
        );
        await recordAuditEvent(ctx, tx, {
          action: 'device.bulk_decommissioned',
          targetType: 'device',
          data: {
            target: targetData,
            matched: plan.matched,
            decommissioned: ids.length,
            cancelledCommands,
          },
        });
        await publishFleetEvents(
          tx,
          ids.map((deviceId) => ({ type: 'device.revoked', deviceId, reason: 'decommissioned' })),
        );
        plan.acting = ids.length;
      },
      { timeout: 60_000 },
    );
    return publicPlan(plan);
  }

  const plan = await planCommands(ctx, target, action, now);
  await ctx.db.$transaction(
    async (tx) => {
      // only devices still accepted at this moment
      const accepted = await tx.device.findMany({
        where: { id: { in: plan.deviceIds }, status: 'accepted' },
        select: { id: true, name: true },
      });
      const names = new Map(accepted.map((d) => [d.id, d.name]));
      const commands = await enqueueCommands(
        tx,
        {
          deviceIds: accepted.map((d) => d.id),
          kind: plan.kind,
          params: plan.params,
          createdById: ctx.actor.type === 'operator' ? ctx.actor.id : null,
          actorLabel: ctx.actor.label,
        },
        now,
      );
      await recordAuditEvents(
        ctx,
        tx,
        commands.map((command) => ({
          action: 'command.created' as const,
          targetType: 'device',
          targetId: command.deviceId,
          data: {
            commandId: command.id,
            kind: plan.kind,
            device: names.get(command.deviceId),
            bulk: true,
          },
        })),
      );
      await recordAuditEvent(ctx, tx, {
        action: 'device.bulk_commanded',
        targetType: 'device',
        data: {
          kind: plan.kind,
          ...(plan.versionName && action.type === 'apply'
            ? { version: plan.versionName, imageVersionId: action.imageVersionId }
            : {}),
          target: targetData,
          matched: plan.matched,
          commanded: commands.length,
          skipped: plan.skipped,
        },
      });
      await publishFleetEvents(
        tx,
        commands.map((c) => ({ type: 'command.queued', deviceId: c.deviceId, commandId: c.id })),
      );
      plan.acting = commands.length;
    },
    { timeout: 60_000 },
  );
  return publicPlan(plan);
}

// ------------------------------------------------------------------------ one device's labels

export const deviceLabelInput = z.object({
  deviceId: z.uuid(),
  key: labelKey,
  value: labelValue,
});

/** Set or remove one label of one device (the table edits labels in place). */
export async function changeDeviceLabel(
  ctx: ServiceContext,
  input: { deviceId: string; key: string; value?: string | null },
) {
  const parsed = z
    .object({ deviceId: z.uuid(), key: labelKey, value: labelValue.nullable().optional() })
    .safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid label: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'label'}: ${i.message}`).join('; ')}`,
    );
  const { deviceId, key, value } = parsed.data;
  return ctx.db.$transaction(async (tx) => {
    const device = await tx.device.findUnique({
      where: { id: deviceId },
      select: { name: true, labels: true },
    });
    if (!device) throw new AppError('NOT_FOUND', 'No such device.');
    const labels = { ...(device.labels as Record<string, string>) };
    if (value === null || value === undefined) delete labels[key];
    else labels[key] = value;
    const checked = labelsSchema.safeParse(labels);
    if (!checked.success)
      throw new AppError(
        'BAD_REQUEST',
        `Invalid labels: ${checked.error.issues.map((i) => i.message).join('; ')}`,
      );
    await tx.device.update({ where: { id: deviceId }, data: { labels } });
    await recordAuditEvent(ctx, tx, {
      action: 'device.updated',
      targetType: 'device',
      targetId: deviceId,
      data: { labels, ...(value == null ? { removedLabel: key } : { setLabel: { [key]: value } }) },
    });
    return { id: deviceId, labels };
  });
}
