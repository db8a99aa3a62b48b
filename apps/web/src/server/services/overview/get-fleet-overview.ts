import type { ServiceContext } from '../context';
import { getActiveRollouts } from './active-rollouts';
import { countUpdateServersWithErrors, getFleetCounters } from './fleet-counters';
import { getVersionsByImageName } from './fleet-versions';
import { getOnlineHistory } from './online-samples';
import { getUpdateOutcomesPerDay } from './update-outcomes';

/** Everything on the Overview page, in one round of cheap aggregate queries. */
export async function getFleetOverview(ctx: Pick<ServiceContext, 'db'>) {
  const [byStatus, counters, updateServersWithErrors, versions, onlineHistory, outcomes, rollouts] =
    await Promise.all([
      ctx.db.device.groupBy({ by: ['status'], _count: { _all: true } }),
      getFleetCounters(ctx),
      countUpdateServersWithErrors(ctx),
      getVersionsByImageName(ctx),
      getOnlineHistory(ctx),
      getUpdateOutcomesPerDay(ctx),
      getActiveRollouts(ctx),
    ]);
  const devices = { pending: 0, accepted: 0, rejected: 0, decommissioned: 0 };
  for (const row of byStatus) devices[row.status] = row._count._all;
  return {
    /** devices by status, decommissioned included */
    devices,
    counters: { ...counters, updateServersWithErrors },
    versions,
    onlineHistory,
    updateOutcomes: outcomes,
    rollouts,
  };
}
