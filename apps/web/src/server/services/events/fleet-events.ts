// Events between processes: written with pg_notify inside the transaction of the change, so they
// are delivered on commit and never for a change that rolled back. Every web/gateway process
// LISTENs (gateway/event-listener.ts) and acts on the devices whose sockets it holds.
import { z } from 'zod';

export const FLEET_EVENTS_CHANNEL = 'eos_fleet_events';

export const fleetEventSchema = z.discriminatedUnion('type', [
  /** a command is waiting for its device */
  z.object({ type: z.literal('command.queued'), deviceId: z.string(), commandId: z.string() }),
  /** an operator cancelled a command the device was sent: send it `cancel` */
  z.object({
    type: z.literal('command.cancel_requested'),
    deviceId: z.string(),
    commandId: z.string(),
  }),
  /** an operator accepted a pending device: open its session */
  z.object({ type: z.literal('device.accepted'), deviceId: z.string() }),
  /** rejected or decommissioned: close its socket now, on whichever process holds it */
  z.object({
    type: z.literal('device.revoked'),
    deviceId: z.string(),
    reason: z.enum(['rejected', 'decommissioned']),
  }),
]);
export type FleetEvent = z.infer<typeof fleetEventSchema>;

interface RawExecutor {
  $executeRaw(query: TemplateStringsArray, ...values: unknown[]): Promise<number>;
}

/** Queue `event` for delivery when the surrounding transaction commits. */
export async function publishFleetEvent(tx: RawExecutor, event: FleetEvent): Promise<void> {
  const payload = JSON.stringify(fleetEventSchema.parse(event));
  await tx.$executeRaw`select pg_notify(${FLEET_EVENTS_CHANNEL}, ${payload})`;
}

/** Many at once, in one statement (bulk actions): each is still its own notification. */
export async function publishFleetEvents(tx: RawExecutor, events: readonly FleetEvent[]) {
  if (!events.length) return;
  const payloads = events.map((event) => JSON.stringify(fleetEventSchema.parse(event)));
  await tx.$executeRaw`select pg_notify(${FLEET_EVENTS_CHANNEL}, payload) from unnest(${payloads}::text[]) as payload`;
}
