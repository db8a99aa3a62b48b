// Every change writes exactly one audit event, in the same transaction as the change.
import type { Db, Prisma } from '@eos-fleet/db';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { noteChange, noteDevicesChanged, type ChangeTopic } from '../events/change-notices';
import { AUDIT_ACTIONS } from './audit-actions';

/** One of the closed list in audit-actions.ts (`entity.past_tense`). */
export const auditActionSchema = z.enum(AUDIT_ACTIONS);

const auditEventSchema = z.object({
  action: auditActionSchema,
  targetType: z.string().min(1),
  targetId: z.string().min(1).optional(),
  data: z.record(z.string(), z.unknown()).optional(),
});
export type AuditEventInput = z.infer<typeof auditEventSchema>;

type Tx = Pick<ServiceContext['db'], 'auditEvent'>;

/** Where a change is shown besides the audit log, by what it changed (live updates). */
const TOPIC_OF_TARGET: Partial<Record<string, ChangeTopic>> = {
  image_version: 'catalog',
  update_server: 'catalog',
  image: 'catalog',
  rollout: 'rollouts',
  operator: 'settings',
  api_token: 'settings',
  enrollment_token: 'settings',
};

/** Every change is audited, so the audit write is where the dashboard hears of most of them. */
function noteAudited(events: readonly AuditEventInput[]) {
  noteChange('audit');
  for (const event of events) {
    if (event.targetType === 'device' && event.targetId) noteDevicesChanged([event.targetId]);
    const topic = TOPIC_OF_TARGET[event.targetType];
    if (topic) noteChange(topic);
  }
}

export async function recordAuditEvent(
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  tx: Tx,
  input: AuditEventInput,
) {
  const event = auditEventSchema.parse(input);
  const { actor } = ctx;
  noteAudited([event]);
  return tx.auditEvent.create({
    data: {
      action: event.action,
      actorType: actor.type,
      actorId: actor.type === 'system' ? null : actor.id,
      actorLabel: actor.label,
      targetType: event.targetType,
      targetId: event.targetId ?? null,
      data: (event.data ?? undefined) as Prisma.InputJsonValue | undefined,
      ipAddress: ctx.ipAddress ?? null,
    },
  });
}

/**
 * Many events by one actor in one statement (the deadline sweep ends up to 1000 commands, a
 * rollout tick sends up to 500 applies): raw SQL over arrays, since Prisma's createMany renders
 * every row's every column through its query interpreter (~0.6 ms a row at 500 rows).
 */
export async function recordAuditEvents(
  ctx: Pick<ServiceContext, 'actor' | 'ipAddress'>,
  tx: Pick<Db, '$executeRaw'>,
  inputs: readonly AuditEventInput[],
) {
  if (!inputs.length) return;
  const { actor } = ctx;
  const events = inputs.map((input) => auditEventSchema.parse(input));
  noteAudited(events);
  await tx.$executeRaw`
    INSERT INTO "audit_event" ("action", "actorType", "actorId", "actorLabel", "targetType",
      "targetId", "data", "ipAddress")
    SELECT e."action", ${actor.type}::"ActorType", ${actor.type === 'system' ? null : actor.id},
      ${actor.label}, e."targetType", e."targetId", e."data"::jsonb, ${ctx.ipAddress ?? null}
      FROM unnest(${events.map((e) => e.action)}::text[],
                  ${events.map((e) => e.targetType)}::text[],
                  ${events.map((e) => e.targetId ?? null)}::text[],
                  ${events.map((e) => (e.data === undefined ? null : JSON.stringify(e.data)))}::text[])
        WITH ORDINALITY AS e("action", "targetType", "targetId", "data", "n")
     ORDER BY e."n"`;
}
