import { getFleetOverview } from '../../services/overview/get-fleet-overview';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const fleetRouter = createTRPCRouter({
  overview: permittedProcedure('fleet.read').query(({ ctx }) => getFleetOverview(ctx.service)),
});
