import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { likeLiteral } from '../like-pattern';

/** audit_event.id is a bigint: a larger cursor names no event (and PostgreSQL would refuse it) */
const MAX_EVENT_ID = 2n ** 63n - 1n;

export const listAuditEventsInput = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  /** id of the last event of the previous page */
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'expected the id of an event')
    .refine((id) => BigInt(id) <= MAX_EVENT_ID, 'expected the id of an event')
    .optional(),
  action: storableText(100).optional(),
  targetType: storableText(50).optional(),
  targetId: storableText(100).optional(),
});
export type ListAuditEventsInput = z.input<typeof listAuditEventsInput>;

export async function listAuditEvents(
  ctx: Pick<ServiceContext, 'db'>,
  input: ListAuditEventsInput,
) {
  const query = listAuditEventsInput.parse(input);
  const rows = await ctx.db.auditEvent.findMany({
    where: {
      ...(query.cursor ? { id: { lt: BigInt(query.cursor) } } : {}),
      ...(query.action ? { action: { startsWith: likeLiteral(query.action) } } : {}),
      ...(query.targetType ? { targetType: query.targetType } : {}),
      ...(query.targetId ? { targetId: query.targetId } : {}),
    },
    orderBy: { id: 'desc' },
    take: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  return {
    events: page.map((row) => ({
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
    })),
    nextCursor: rows.length > query.limit ? page.at(-1)?.id.toString() : undefined,
  };
}
