import { z } from 'zod';
import {
  cancelCommand,
  createCommand,
  createCommandInput,
  listDeviceCommands,
} from '../../services/commands/commands';
import { listDevices, listDevicesInput } from '../../services/devices/list-devices';
import {
  acceptDevice,
  decommissionDevice,
  getDevice,
  rejectDevice,
  updateDevice,
  updateDeviceInput,
} from '../../services/devices/manage-device';
import { createTRPCRouter, permittedProcedure } from '../trpc';

const deviceIdInput = z.object({ deviceId: z.uuid() });

export const devicesRouter = createTRPCRouter({
  list: permittedProcedure('device.read')
    .input(listDevicesInput)
    .query(({ ctx, input }) => listDevices(ctx.service, input)),
  get: permittedProcedure('device.read')
    .input(deviceIdInput)
    .query(({ ctx, input }) => getDevice(ctx.service, input)),
  accept: permittedProcedure('device.enroll')
    .input(deviceIdInput)
    .mutation(({ ctx, input }) => acceptDevice(ctx.service, input)),
  reject: permittedProcedure('device.enroll')
    .input(deviceIdInput)
    .mutation(({ ctx, input }) => rejectDevice(ctx.service, input)),
  decommission: permittedProcedure('device.enroll')
    .input(deviceIdInput)
    .mutation(({ ctx, input }) => decommissionDevice(ctx.service, input)),
  update: permittedProcedure('device.operate')
    .input(updateDeviceInput)
    .mutation(({ ctx, input }) => updateDevice(ctx.service, input)),
  commands: permittedProcedure('device.read')
    .input(z.object({ deviceId: z.uuid(), limit: z.number().int().min(1).max(200).optional() }))
    .query(({ ctx, input }) => listDeviceCommands(ctx.service, input)),
  sendCommand: permittedProcedure('device.operate')
    .input(createCommandInput)
    .mutation(({ ctx, input }) => createCommand(ctx.service, input)),
  cancelCommand: permittedProcedure('device.operate')
    .input(z.object({ commandId: z.uuid() }))
    .mutation(({ ctx, input }) => cancelCommand(ctx.service, input)),
});
