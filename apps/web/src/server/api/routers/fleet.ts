import { z } from 'zod';
import { getFleetOverview } from '../../services/overview/get-fleet-overview';
import { fleetOverviewOutput } from '../openapi-outputs';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const fleetRouter = createTRPCRouter({
  overview: permittedProcedure('fleet.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/overview',
        tags: ['fleet'],
        summary: 'Fleet counters, versions, outcomes and active rollouts',
      },
    })
    .output(fleetOverviewOutput)
    .input(z.object({}).optional())
    .query(({ ctx }) => getFleetOverview(ctx.service)),
});
