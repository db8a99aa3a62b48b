// How updates ended, per UTC day: apply commands that reached succeeded, failed, timed_out or
// rolled_back, by the day they completed (command.completedAt, indexed). Rollback commands are the
// operator's way back, not an update, so they are not counted here.
import type { ServiceContext } from '../context';

export const UPDATE_OUTCOMES = ['succeeded', 'failed', 'timed_out', 'rolled_back'] as const;
export type UpdateOutcome = (typeof UPDATE_OUTCOMES)[number];

export type OutcomeDay = { day: string } & Record<UpdateOutcome, number>;

const DAY_MS = 24 * 3600 * 1000;

/** The last `days` UTC days up to and including today's, oldest first, every day present. */
export async function getUpdateOutcomesPerDay(
  ctx: Pick<ServiceContext, 'db'>,
  { days = 14, now = new Date() }: { days?: number; now?: Date } = {},
): Promise<OutcomeDay[]> {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const from = new Date(today - (days - 1) * DAY_MS);
  const rows = await ctx.db.$queryRaw<{ day: string; state: UpdateOutcome; count: bigint }[]>`
    select to_char(date_trunc('day', c."completedAt"), 'YYYY-MM-DD') as day, c.state::text as state,
      count(*) as count
    from command c
    where c.kind = 'apply'
      and c.state in ('succeeded', 'failed', 'timed_out', 'rolled_back')
      and c."completedAt" >= (${from.toISOString()}::timestamptz at time zone 'utc')
    group by 1, 2`;
  const result: OutcomeDay[] = [];
  for (let i = 0; i < days; i++) {
    const day = new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10);
    result.push({ day, succeeded: 0, failed: 0, timed_out: 0, rolled_back: 0 });
  }
  const byDay = new Map(result.map((entry) => [entry.day, entry]));
  for (const row of rows) {
    const entry = byDay.get(row.day);
    if (entry) entry[row.state] += Number(row.count);
  }
  return result;
}
