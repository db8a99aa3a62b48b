import type { ServiceContext } from '../context';

/** The numbers on the Overview page, in one round of cheap aggregate queries. */
export async function getFleetOverview(ctx: Pick<ServiceContext, 'db'>) {
  const [byStatus, online, updateServers, images, activeRollouts, recentEvents] = await Promise.all(
    [
      ctx.db.device.groupBy({ by: ['status'], _count: { _all: true } }),
      ctx.db.devicePresence.count({ where: { online: true, device: { status: 'accepted' } } }),
      ctx.db.updateServer.count(),
      ctx.db.imageVersion.count({ where: { available: true } }),
      ctx.db.rollout.count({ where: { state: { in: ['scheduled', 'running', 'paused'] } } }),
      ctx.db.auditEvent.count({
        where: { createdAt: { gte: new Date(Date.now() - 24 * 3600 * 1000) } },
      }),
    ],
  );
  const devices = { pending: 0, accepted: 0, rejected: 0, decommissioned: 0 };
  for (const row of byStatus) devices[row.status] = row._count._all;
  return {
    devices,
    online,
    updateServers,
    imageVersions: images,
    activeRollouts,
    auditEventsLast24h: recentEvents,
  };
}
