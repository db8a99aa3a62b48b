import { listDevices, listDevicesInput } from '../../services/devices/list-devices';
import { getFleetOverview } from '../../services/overview/get-fleet-overview';
import { createTRPCRouter, permittedProcedure } from '../trpc';

export const fleetRouter = createTRPCRouter({
  overview: permittedProcedure('fleet.read').query(({ ctx }) => getFleetOverview(ctx.service)),
  devices: permittedProcedure('device.read')
    .input(listDevicesInput)
    .query(({ ctx, input }) => listDevices(ctx.service, input)),
});
