// The Overview's counters, each the size of one Devices table filter (packages/shared/src/
// device-filter.ts), in one aggregate statement. Each counter is `count(*) FILTER (WHERE …)` of the
// very WHERE the Devices table uses for that filter (devices/query-devices.ts deviceFilterWhere),
// so a counter and the table its link opens can never disagree.
import { Prisma } from '@eos-fleet/db';
import type { DeviceFilter } from '@eos-fleet/shared/device-filter';
import type { ServiceContext } from '../context';
import { deviceFilterWhere } from '../devices/query-devices';

/** Command states of an update still under way (queued up to verifying). */
export const UPDATE_IN_PROGRESS_STATES = [
  'queued',
  'delivered',
  'downloading',
  'rebooting',
  'verifying',
] as const;

export interface FleetCounter {
  /** what the Devices table link filters, exactly what was counted */
  filter: DeviceFilter;
  count: number;
}

const COUNTED = {
  devices: {},
  online: { online: true },
  offline: { online: false },
  pending: { status: 'pending' },
  outOfDate: { outOfDate: true },
  failed: { updateState: 'failed' },
  stuck: { updateState: 'stuck' },
  inProgress: { updateState: 'in_progress' },
} as const satisfies Record<string, DeviceFilter>;
type Counted = keyof typeof COUNTED;

/** The counters' statement (exported for the bench's EXPLAIN). */
export function fleetCountersSql(now = new Date()) {
  const columns = (Object.keys(COUNTED) as Counted[]).map(
    (name) =>
      Prisma.sql`count(*) filter (where ${deviceFilterWhere(COUNTED[name], now)}) as ${Prisma.raw(`"${name}"`)}`,
  );
  return Prisma.sql`select ${Prisma.join(columns, ', ')}
    from "device" d left join "device_presence" p on p."deviceId" = d."id"
    where d."status" <> 'decommissioned'`;
}

export async function getFleetCounters(ctx: Pick<ServiceContext, 'db'>) {
  const [row] = await ctx.db.$queryRaw<Record<Counted, bigint>[]>(fleetCountersSql());
  const n = (value: bigint | undefined) => Number(value ?? 0);
  const counter = (filter: DeviceFilter, value: bigint | undefined): FleetCounter => ({
    filter,
    count: n(value),
  });
  return {
    devices: n(row?.devices),
    online: n(row?.online),
    offline: counter(COUNTED.offline, row?.offline),
    pending: counter(COUNTED.pending, row?.pending),
    outOfDate: counter(COUNTED.outOfDate, row?.outOfDate),
    failedUpdates: counter(COUNTED.failed, row?.failed),
    stuckUpdates: counter(COUNTED.stuck, row?.stuck),
    updatesInProgress: counter(COUNTED.inProgress, row?.inProgress),
  };
}

/** Update servers whose last catalog poll failed or that have an image whose fetch failed. */
export function countUpdateServersWithErrors(ctx: Pick<ServiceContext, 'db'>) {
  return ctx.db.updateServer.count({
    where: { OR: [{ reachable: false }, { images: { some: { fetchStatus: 'error' } } }] },
  });
}
