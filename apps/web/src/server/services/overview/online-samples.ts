// "Online devices over time": one row per UTC minute in online_sample. The minute is the primary
// key and the insert does nothing on conflict, so two processes (or a retried tick) sampling the
// same minute leave exactly one row; the count is one aggregate over device + device_presence.
import type { ServiceContext } from '../context';
import { PRESENCE_STALE_MS } from '../devices/list-devices';

/** Samples older than this are deleted. */
export const ONLINE_SAMPLE_RETENTION_DAYS = 30;

const utc = (at: Date) => at.toISOString();

/** Counts the online devices into the minute of `at`; false when that minute was already sampled. */
export async function sampleOnlineDevices(
  ctx: Pick<ServiceContext, 'db'>,
  at = new Date(),
): Promise<boolean> {
  const inserted = await ctx.db.$executeRaw`
    insert into online_sample (minute, online, devices)
    select date_trunc('minute', ${utc(at)}::timestamptz at time zone 'utc'),
      count(*) filter (where p.online and p."lastSeenAt" > (now() at time zone 'utc') - make_interval(secs => ${PRESENCE_STALE_MS / 1000})),
      count(*)
    from device d left join device_presence p on p."deviceId" = d.id
    where d.status <> 'decommissioned'
    on conflict (minute) do nothing`;
  return inserted > 0;
}

/** Deletes the samples older than the retention; returns how many. */
export function pruneOnlineSamples(
  ctx: Pick<ServiceContext, 'db'>,
  { now = new Date(), retentionDays = ONLINE_SAMPLE_RETENTION_DAYS } = {},
): Promise<number> {
  return ctx.db.onlineSample
    .deleteMany({
      where: { minute: { lt: new Date(now.getTime() - retentionDays * 24 * 3600 * 1000) } },
    })
    .then((result) => result.count);
}

export interface OnlinePoint {
  /** start of the bucket, ISO */
  at: string;
  online: number;
  devices: number;
}

/**
 * The last `hours` of samples in buckets of `bucketMinutes` (the average of the minutes sampled in
 * each, rounded): 288 points for a day, whatever the number of processes or devices.
 */
export async function getOnlineHistory(
  ctx: Pick<ServiceContext, 'db'>,
  { hours = 24, bucketMinutes = 5, now = new Date() } = {},
): Promise<OnlinePoint[]> {
  const from = new Date(now.getTime() - hours * 3600 * 1000);
  const rows = await ctx.db.$queryRaw<{ at: Date; online: number; devices: number }[]>`
    select date_bin(make_interval(mins => ${bucketMinutes}), minute, timestamp '2000-01-01') as at,
      round(avg(online))::int as online, round(avg(devices))::int as devices
    from online_sample
    where minute >= (${utc(from)}::timestamptz at time zone 'utc')
    group by 1 order by 1`;
  return rows.map((row) => ({
    at: new Date(row.at).toISOString(),
    online: row.online,
    devices: row.devices,
  }));
}
