// The Devices table's query: packages/shared device-filter.ts in SQL (filter, sort, page), fast at
// 100,000 devices. The filter is one WHERE fragment (deviceFilterWhere) that the page, its count
// and bulk actions over "everything matching" share, so they can never disagree about a device.
// Versions resolve by root prefix hash against image_version in SQL (filter and sort); the page's
// rows (at most MAX_DEVICE_PAGE_SIZE) then get their labels from resolveDeviceVersions, as the
// device page shows them.
import { Prisma } from '@eos-fleet/db';
import {
  deviceFilterSchema,
  deviceQuerySchema,
  splitLabelSelector,
  type DeviceFilter,
  type DeviceQuery,
  type DeviceSortKey,
  type UpdateState,
} from '@eos-fleet/shared/device-filter';
import type { z } from 'zod';
import { resolveDeviceVersions } from '../catalog/resolve-device-versions';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { likeLiteral } from '../like-pattern';
import { isOnline, PRESENCE_STALE_MS } from './list-devices';

type Db = ServiceContext['db'];
type RawExecutor = Pick<Db, '$queryRaw'>;

const HOUR = 3_600_000;
const LAST_SEEN_MS = { '1h': HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR } as const;

/** `d` is device, `p` its presence row (LEFT JOIN device_presence p ON p."deviceId" = d.id). */
const LAST_SEEN = Prisma.sql`COALESCE(p."lastSeenAt", d."lastSeenAt")`;

function effectiveUpdateState(now: Date) {
  return Prisma.sql`(CASE WHEN d."updateState" = 'in_progress' AND d."updateDeadlineAt" < ${now}::timestamptz
    THEN 'stuck' ELSE d."updateState"::text END)`;
}

/** the recommended version's content per image name (a handful of rows) */
const RECOMMENDED = Prisma.sql`SELECT i."name", iv."rootPrefixHash" AS "hash" FROM "image_version" iv
  JOIN "image" i ON i."id" = iv."imageId" WHERE iv."recommended"`;

/**
 * Its image name has a recommended version it does not run. A device that reported no image name
 * takes the name of the first-seen catalog version with its hash, as resolve-device-versions.ts
 * does (COALESCE evaluates that lookup only for those devices).
 */
function outOfDate() {
  return Prisma.sql`(d."rootPrefixHash" IS NOT NULL AND EXISTS (SELECT 1 FROM (${RECOMMENDED}) r
    WHERE r."name" = COALESCE(d."imageName", (SELECT i."name" FROM "image_version" iv
      JOIN "image" i ON i."id" = iv."imageId" WHERE iv."rootPrefixHash" = d."rootPrefixHash"
      ORDER BY iv."firstSeenAt" LIMIT 1))
    AND r."hash" <> d."rootPrefixHash"))`;
}

function updateStateWhere(state: UpdateState, now: Date): Prisma.Sql {
  if (state === 'stuck')
    return Prisma.sql`(d."updateState" = 'stuck' OR (d."updateState" = 'in_progress' AND d."updateDeadlineAt" < ${now}::timestamptz))`;
  if (state === 'in_progress')
    return Prisma.sql`(d."updateState" = 'in_progress' AND (d."updateDeadlineAt" IS NULL OR d."updateDeadlineAt" >= ${now}::timestamptz))`;
  return Prisma.sql`d."updateState" = ${state}::"DeviceUpdateState"`;
}

/** The WHERE of `filter` (already parsed) over `device d LEFT JOIN device_presence p`. */
export function deviceFilterWhere(filter: DeviceFilter, now = new Date()): Prisma.Sql {
  const parts: Prisma.Sql[] = [
    filter.status
      ? Prisma.sql`d."status" = ${filter.status}::"DeviceStatus"`
      : Prisma.sql`d."status" <> 'decommissioned'`,
  ];
  if (filter.q) {
    const contains = `%${likeLiteral(filter.q)}%`;
    const idPrefix = `${likeLiteral(filter.q.toLowerCase())}%`;
    // the text of the labels first: a cheap test that spares most rows the per-label scan
    parts.push(Prisma.sql`(d."name" ILIKE ${contains} OR d."id"::text LIKE ${idPrefix}
      OR (d."labels"::text ILIKE ${contains}
        AND EXISTS (SELECT 1 FROM jsonb_each_text(d."labels") l WHERE l."value" ILIKE ${contains})))`);
  }
  if (filter.online !== undefined) {
    const online = Prisma.sql`(p."online" AND p."lastSeenAt" > ${new Date(now.getTime() - PRESENCE_STALE_MS)}::timestamptz)`;
    parts.push(filter.online ? online : Prisma.sql`NOT COALESCE(${online}, false)`);
  }
  if (filter.imageName !== undefined) parts.push(Prisma.sql`d."imageName" = ${filter.imageName}`);
  if (filter.versionId === 'unknown')
    parts.push(Prisma.sql`(d."rootPrefixHash" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "image_version" iv
      WHERE iv."rootPrefixHash" = d."rootPrefixHash"))`);
  else if (filter.versionId)
    parts.push(Prisma.sql`d."rootPrefixHash" = (SELECT iv."rootPrefixHash" FROM "image_version" iv
      WHERE iv."id" = ${filter.versionId}::uuid)`);
  if (filter.outOfDate !== undefined)
    parts.push(filter.outOfDate ? outOfDate() : Prisma.sql`NOT ${outOfDate()}`);
  if (filter.updateState) parts.push(updateStateWhere(filter.updateState, now));
  for (const selector of filter.labels ?? []) {
    const { key, value } = splitLabelSelector(selector);
    parts.push(
      value === null
        ? Prisma.sql`d."labels" ? ${key}`
        : Prisma.sql`d."labels" @> jsonb_build_object(${key}::text, ${value}::text)`,
    );
  }
  if (filter.lastSeen === 'older')
    parts.push(
      Prisma.sql`(${LAST_SEEN} IS NULL OR ${LAST_SEEN} < ${new Date(now.getTime() - LAST_SEEN_MS['7d'])}::timestamptz)`,
    );
  else if (filter.lastSeen)
    parts.push(
      Prisma.sql`${LAST_SEEN} >= ${new Date(now.getTime() - LAST_SEEN_MS[filter.lastSeen])}::timestamptz`,
    );
  return Prisma.join(parts, ' AND ');
}

/** Each version's label by content, the first seen when several images carry it. */
const KNOWN_VERSIONS = Prisma.sql`SELECT DISTINCT ON (iv."rootPrefixHash") iv."rootPrefixHash" AS "hash",
  i."name" || ' ' || COALESCE(iv."label", left(iv."rootPrefixHash", 12)) AS "label"
  FROM "image_version" iv JOIN "image" i ON i."id" = iv."imageId"
  ORDER BY iv."rootPrefixHash", iv."firstSeenAt"`;

function orderBy(sort: DeviceSortKey, dir: 'asc' | 'desc', now: Date): Prisma.Sql {
  const direction = Prisma.raw(dir === 'asc' ? 'ASC NULLS LAST' : 'DESC NULLS LAST');
  const key = {
    name: Prisma.sql`d."name"`,
    status: Prisma.sql`d."status"`,
    lastSeen: LAST_SEEN,
    imageName: Prisma.sql`d."imageName"`,
    version: Prisma.sql`(CASE WHEN d."rootPrefixHash" IS NULL THEN NULL ELSE COALESCE(k."label", 'unknown build') END)`,
    updateState: effectiveUpdateState(now),
    createdAt: Prisma.sql`d."createdAt"`,
  }[sort];
  return Prisma.sql`${key} ${direction}, d."id" ${Prisma.raw(dir === 'asc' ? 'ASC' : 'DESC')}`;
}

const FROM = Prisma.sql`"device" d LEFT JOIN "device_presence" p ON p."deviceId" = d."id"`;

/** The number of devices matching `filter`. */
export async function countMatchingDevices(
  db: RawExecutor,
  filter: DeviceFilter,
  now = new Date(),
): Promise<number> {
  const [row] = await db.$queryRaw<{ count: bigint }[]>`SELECT count(*) AS "count" FROM ${FROM}
    WHERE ${deviceFilterWhere(filter, now)}`;
  return Number(row?.count ?? 0);
}

/** A parse of the filter that says in words what is wrong (the URL is typed by people). */
export function parseDeviceFilter(input: unknown): DeviceFilter {
  const parsed = deviceFilterSchema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid device filter: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'filter'}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

export async function queryDevices(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof deviceQuerySchema>,
) {
  const parsed = deviceQuerySchema.safeParse(input);
  if (!parsed.success)
    throw new AppError(
      'BAD_REQUEST',
      `Invalid devices query: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')}`,
    );
  const query: DeviceQuery = parsed.data;
  const now = new Date();
  const where = deviceFilterWhere(query, now);
  const versionJoin =
    query.sort === 'version'
      ? Prisma.sql`LEFT JOIN (${KNOWN_VERSIONS}) k ON k."hash" = d."rootPrefixHash"`
      : Prisma.empty;
  const [page, total] = await Promise.all([
    ctx.db.$queryRaw<{ id: string }[]>`SELECT d."id" FROM ${FROM} ${versionJoin} WHERE ${where}
      ORDER BY ${orderBy(query.sort, query.dir, now)}
      LIMIT ${query.pageSize} OFFSET ${(query.page - 1) * query.pageSize}`,
    countMatchingDevices(ctx.db, query, now),
  ]);
  const ids = page.map((row) => row.id);
  const devices = ids.length
    ? await ctx.db.device.findMany({ where: { id: { in: ids } }, include: { presence: true } })
    : [];
  const byId = new Map(devices.map((device) => [device.id, device]));
  const versions = await resolveDeviceVersions(ctx, devices);
  const rows = ids.flatMap((id) => {
    const device = byId.get(id);
    if (!device) return [];
    const version = versions.get(id);
    const updateState: UpdateState =
      device.updateState === 'in_progress' &&
      device.updateDeadlineAt &&
      device.updateDeadlineAt < now
        ? 'stuck'
        : device.updateState;
    return [
      {
        id: device.id,
        name: device.name,
        status: device.status,
        online: isOnline(device.presence, now.getTime()),
        lastSeenAt: device.presence?.lastSeenAt ?? device.lastSeenAt,
        imageName: device.imageName,
        rootPrefixHash: device.rootPrefixHash,
        runningVersion: version?.runningVersion ?? null,
        runningVersionId: version?.runningVersionId ?? null,
        recommendedVersion: version?.recommendedVersion ?? null,
        outOfDate: version?.outOfDate ?? false,
        updateState,
        updateStateAt: device.updateStateAt,
        labels: device.labels as Record<string, string>,
        createdAt: device.createdAt,
      },
    ];
  });
  return {
    rows,
    total,
    page: query.page,
    pageSize: query.pageSize,
    pageCount: Math.max(1, Math.ceil(total / query.pageSize)),
  };
}
export type DeviceRow = Awaited<ReturnType<typeof queryDevices>>['rows'][number];
