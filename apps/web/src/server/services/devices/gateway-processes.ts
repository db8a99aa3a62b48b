// Which gateway processes are alive, so a device held by a dead one stops showing online within
// one heartbeat interval. Each process renews a lease row several times per heartbeat interval
// (one row per process, not per device); every process, on each renewal, marks offline the
// presence rows of processes whose lease ran out. Times are PostgreSQL's clock, one for all.
//
// With a renewal every H/3 and a lease of 2H/3, a process killed at t is past its lease by
// t + 2H/3 and reaped by the next renewal of any other process: within H. A live process may be
// late with a renewal by up to H/3 before it is taken for dead; if it is, its next heartbeat
// writes its devices online again (report-batcher writes a presence change at once).
import type { Db } from '@eos-fleet/db';
import { noteChange } from '../events/change-notices';

export const LEASE_RENEWALS_PER_HEARTBEAT = 3;

export function gatewayLeaseMs(heartbeatMs: number): number {
  return Math.round((heartbeatMs * 2) / LEASE_RENEWALS_PER_HEARTBEAT);
}

/** A process row no one renewed for this long is deleted (its devices were reaped long ago). */
const FORGET_AFTER_SECONDS = 24 * 3600;

/** Renew this process's lease, then mark offline what dead processes held. */
export async function renewGatewayLease(
  db: Db,
  gatewayId: string,
  leaseMs: number,
): Promise<{ reaped: number }> {
  await db.$executeRaw`
    insert into gateway_process (id, "startedAt", "expiresAt")
    values (${gatewayId}, now() at time zone 'utc', now() at time zone 'utc' + ${leaseMs} * interval '1 millisecond')
    on conflict (id) do update set "expiresAt" = excluded."expiresAt"`;
  const reaped = await db.$executeRaw`
    update device_presence set online = false
    where online and "gatewayId" in (
      select id from gateway_process where "expiresAt" < now() at time zone 'utc')`;
  await db.$executeRaw`
    delete from gateway_process
    where "expiresAt" < now() at time zone 'utc' - ${FORGET_AFTER_SECONDS} * interval '1 second'`;
  if (reaped) noteChange('devices', 'device:*');
  return { reaped };
}

/** A process that shuts down cleanly gives up its lease (after marking its devices offline). */
export async function retireGateway(db: Db, gatewayId: string): Promise<void> {
  await db.gatewayProcess.deleteMany({ where: { id: gatewayId } });
}
