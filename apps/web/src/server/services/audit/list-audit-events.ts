import type { Prisma } from '@eos-fleet/db';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { likeLiteral } from '../like-pattern';
import { AUDIT_ACTIONS, AUDIT_ENTITIES, type AuditAction } from './audit-actions';

/** audit_event.id is a bigint: a larger cursor names no event (and PostgreSQL would refuse it) */
const MAX_EVENT_ID = 2n ** 63n - 1n;

export const ACTOR_TYPES = ['operator', 'device', 'system', 'api_token'] as const;

/** One action of the closed list, or `entity.` for all of an entity's (e.g. `command.`). */
const actionFilter = z.union(
  [z.enum(AUDIT_ACTIONS), z.enum(AUDIT_ENTITIES.map((entity) => `${entity}.`))],
  {
    error: `expected one of the audit actions (${AUDIT_ACTIONS.join(', ')}) or an entity and a dot`,
  },
);

const timestamp = z.coerce.date({ error: 'expected a date and time' });

/** What the audit log can be narrowed to: the list and the CSV export take the same. */
export const auditFilterInput = z
  .object({
    action: actionFilter.optional(),
    actorType: z.enum(ACTOR_TYPES).optional(),
    /** the actor's id, or part of its name / email (case-insensitive) */
    actor: storableText(200).optional(),
    targetType: storableText(50).optional(),
    targetId: storableText(100).optional(),
    /** from (inclusive) and to (exclusive) */
    from: timestamp.optional(),
    to: timestamp.optional(),
  })
  .refine((filter) => !filter.from || !filter.to || filter.from < filter.to, {
    message: 'the start of the time range must be before its end',
    path: ['to'],
  });
export type AuditFilter = z.output<typeof auditFilterInput>;

/** one object (with the filter's time-range check), so REST can serve it as query parameters */
export const listAuditEventsInput = auditFilterInput.safeExtend({
  limit: z.number().int().min(1).max(200).default(50),
  /** id of the last event of the previous page */
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'expected the id of an event')
    .refine((id) => BigInt(id) <= MAX_EVENT_ID, 'expected the id of an event')
    .optional(),
});
export type ListAuditEventsInput = z.input<typeof listAuditEventsInput>;

/** The filter as a query (one place, for the list and the export). */
export function auditWhere(filter: AuditFilter): Prisma.AuditEventWhereInput {
  const actor = filter.actor?.trim();
  const action = filter.action;
  return {
    ...(action
      ? action.endsWith('.')
        ? { action: { startsWith: likeLiteral(action) } }
        : { action }
      : {}),
    ...(filter.actorType ? { actorType: filter.actorType } : {}),
    ...(actor
      ? {
          OR: [
            { actorId: actor },
            { actorLabel: { contains: likeLiteral(actor), mode: 'insensitive' as const } },
          ],
        }
      : {}),
    ...(filter.targetType ? { targetType: filter.targetType } : {}),
    ...(filter.targetId ? { targetId: filter.targetId } : {}),
    ...(filter.from || filter.to
      ? {
          createdAt: {
            ...(filter.from ? { gte: filter.from } : {}),
            ...(filter.to ? { lt: filter.to } : {}),
          },
        }
      : {}),
  };
}

export type AuditEventView = ReturnType<typeof toView>;

function toView(row: Prisma.AuditEventGetPayload<object>) {
  return {
    id: row.id.toString(),
    action: row.action,
    actorType: row.actorType,
    actorId: row.actorId,
    actorLabel: row.actorLabel,
    targetType: row.targetType,
    targetId: row.targetId,
    data: row.data as Record<string, unknown> | null,
    ipAddress: row.ipAddress,
    createdAt: row.createdAt,
  };
}

export async function listAuditEvents(
  ctx: Pick<ServiceContext, 'db'>,
  input: ListAuditEventsInput,
) {
  const query = listAuditEventsInput.parse(input);
  const rows = await ctx.db.auditEvent.findMany({
    where: {
      AND: [auditWhere(query), query.cursor ? { id: { lt: BigInt(query.cursor) } } : {}],
    },
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  return {
    events: page.map(toView),
    nextCursor: rows.length > query.limit ? page.at(-1)?.id.toString() : undefined,
  };
}

/**
 * Every event matching `filter`, newest first, in pages (keyset on id, so memory stays bounded
 * however many there are), at most `max` of them.
 */
export async function* eachAuditEvent(
  ctx: Pick<ServiceContext, 'db'>,
  filter: AuditFilter,
  max: number,
  pageSize = 1000,
): AsyncGenerator<AuditEventView> {
  const where = auditWhere(filter);
  let cursor: bigint | undefined;
  let given = 0;
  while (given < max) {
    const take = Math.min(pageSize, max - given);
    const rows = await ctx.db.auditEvent.findMany({
      where: { AND: [where, cursor === undefined ? {} : { id: { lt: cursor } }] },
      orderBy: { id: 'desc' },
      take,
    });
    for (const row of rows) yield toView(row);
    given += rows.length;
    const last = rows.at(-1);
    if (!last || rows.length < take) return;
    cursor = last.id;
  }
}

export function isAuditAction(action: string): action is AuditAction {
  return (AUDIT_ACTIONS as readonly string[]).includes(action);
}
