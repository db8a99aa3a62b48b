// The Overview's counters, each the size of one Devices table filter (packages/shared/src/
// device-filter.ts), in one aggregate statement. Each definition follows the contract to the letter:
// - the device set: every status except decommissioned (the contract's default for `status`);
// - online: presence.online and refreshed within PRESENCE_STALE_MS (list-devices.ts isOnline);
// - update state: from the newest apply or rollback command of each device (a lateral lookup on
//   command(deviceId, createdAt), one index probe per device);
// - out of date: its image name has a recommended version whose root prefix hash it does not run
//   (catalog/resolve-device-versions.ts; a device that has not reported an image name takes the
//   name of the first-seen catalog version with its hash, as there). Small lookups, hash-joined.
import { Prisma } from '@eos-fleet/db';
import type { DeviceFilter } from '@eos-fleet/shared/device-filter';
import type { ServiceContext } from '../context';
import { PRESENCE_STALE_MS } from '../devices/list-devices';

/** Command states of an update still under way (queued up to verifying). */
export const UPDATE_IN_PROGRESS_STATES = [
  'queued',
  'delivered',
  'downloading',
  'rebooting',
  'verifying',
] as const;

/** The SQL of the contract's update state of device `d`, from its newest apply/rollback `u`. */
export const updateStateSql = Prisma.sql`case
  when u.state is null then 'none'
  when u.state::text in (${Prisma.join([...UPDATE_IN_PROGRESS_STATES])})
    and u."deadlineAt" <= (now() at time zone 'utc') then 'stuck'
  when u.state::text in (${Prisma.join([...UPDATE_IN_PROGRESS_STATES])}) then 'in_progress'
  when u.state = 'timed_out' then 'stuck'
  when u.state in ('failed', 'rolled_back') then 'failed'
  when u.state = 'succeeded' then 'succeeded'
  else 'cancelled'
end`;

/** The lateral join giving `u`, the newest apply or rollback command of device `d`. */
export const newestUpdateCommandSql = Prisma.sql`left join lateral (
  select c.state, c."deadlineAt" from command c
  where c."deviceId" = d.id and c.kind in ('apply', 'rollback')
  order by c."createdAt" desc, c.id desc
  limit 1
) u on true`;

export interface FleetCounter {
  /** what the Devices table link filters, exactly what was counted */
  filter: DeviceFilter;
  count: number;
}

/** The counters' statement (exported for the bench's EXPLAIN). */
export function fleetCountersSql() {
  const staleSeconds = PRESENCE_STALE_MS / 1000;
  return Prisma.sql`
    with recommended as (
      select i.name, v."rootPrefixHash"
      from image_version v join image i on i.id = v."imageId"
      where v.recommended
    ),
    -- the image name of a hash, for devices that did not report one: its first-seen version's
    catalog_name as (
      select distinct on (v."rootPrefixHash") v."rootPrefixHash", i.name
      from image_version v join image i on i.id = v."imageId"
      order by v."rootPrefixHash", v."firstSeenAt" asc
    ),
    fleet as (
      select d.status,
        coalesce(p.online and p."lastSeenAt" > (now() at time zone 'utc') - make_interval(secs => ${staleSeconds}), false) as online,
        coalesce(r."rootPrefixHash" <> d."rootPrefixHash", false) as "outOfDate",
        ${updateStateSql} as "updateState"
      from device d
      left join device_presence p on p."deviceId" = d.id
      left join catalog_name n on d."imageName" is null and n."rootPrefixHash" = d."rootPrefixHash"
      left join recommended r on r.name = coalesce(d."imageName", n.name)
      ${newestUpdateCommandSql}
      where d.status <> 'decommissioned'
    )
    select
      count(*) as devices,
      count(*) filter (where online) as online,
      count(*) filter (where not online) as offline,
      count(*) filter (where status = 'pending') as pending,
      count(*) filter (where "outOfDate") as "outOfDate",
      count(*) filter (where "updateState" = 'failed') as failed,
      count(*) filter (where "updateState" = 'stuck') as stuck,
      count(*) filter (where "updateState" = 'in_progress') as "inProgress"
    from fleet`;
}

export async function getFleetCounters(ctx: Pick<ServiceContext, 'db'>) {
  const [row] = await ctx.db.$queryRaw<
    {
      devices: bigint;
      online: bigint;
      offline: bigint;
      pending: bigint;
      outOfDate: bigint;
      failed: bigint;
      stuck: bigint;
      inProgress: bigint;
    }[]
  >(fleetCountersSql());
  const n = (value: bigint | undefined) => Number(value ?? 0);
  const counter = (filter: DeviceFilter, value: bigint | undefined): FleetCounter => ({
    filter,
    count: n(value),
  });
  return {
    devices: n(row?.devices),
    online: n(row?.online),
    offline: counter({ online: false }, row?.offline),
    pending: counter({ status: 'pending' }, row?.pending),
    outOfDate: counter({ outOfDate: true }, row?.outOfDate),
    failedUpdates: counter({ updateState: 'failed' }, row?.failed),
    stuckUpdates: counter({ updateState: 'stuck' }, row?.stuck),
    updatesInProgress: counter({ updateState: 'in_progress' }, row?.inProgress),
  };
}

/** Update servers whose last catalog poll failed or that have an image whose fetch failed. */
export function countUpdateServersWithErrors(ctx: Pick<ServiceContext, 'db'>) {
  return ctx.db.updateServer.count({
    where: { OR: [{ reachable: false }, { images: { some: { fetchStatus: 'error' } } }] },
  });
}
