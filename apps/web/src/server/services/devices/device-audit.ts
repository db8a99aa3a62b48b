// The audit entries about one device (its enrolment, the operators' decisions, the commands sent to
// it and their outcomes), newest first, a page at a time, each with its sentence as the Audit
// page tells it.
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { auditSentence } from '../audit/audit-sentence';
import { listAuditEvents } from '../audit/list-audit-events';

export const listDeviceAuditInput = z.object({
  deviceId: z.uuid(),
  limit: z.number().int().min(1).max(100).default(20),
  /** id of the last entry of the previous page */
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, 'expected the id of an audit entry')
    .optional(),
});

export async function listDeviceAudit(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof listDeviceAuditInput>,
) {
  const { deviceId, limit, cursor } = listDeviceAuditInput.parse(input);
  const page = await listAuditEvents(ctx, {
    targetType: 'device',
    targetId: deviceId,
    limit,
    ...(cursor ? { cursor } : {}),
  });
  return {
    events: page.events.map((event) => ({ ...event, sentence: auditSentence(event) })),
    nextCursor: page.nextCursor ?? null,
  };
}
