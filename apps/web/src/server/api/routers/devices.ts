import { z } from 'zod';
import {
  applyImageVersion,
  applyImageVersionInput,
  listApplicableVersions,
} from '../../services/catalog/apply-image-version';
import {
  cancelCommand,
  createCommand,
  createCommandInput,
  getCommand,
  listDeviceCommands,
  listDeviceCommandsInput,
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
import {
  applicableVersionsOutput,
  cancelCommandOutput,
  commandOutput,
  commandPageOutput,
  commandSummaryOutput,
  deviceIdOutput,
  deviceOutput,
  deviceStatusOutput,
  deviceListOutput,
} from '../openapi-outputs';
import { createTRPCRouter, permittedProcedure } from '../trpc';

const deviceIdInput = z.object({ deviceId: z.uuid() });

export const devicesRouter = createTRPCRouter({
  list: permittedProcedure('device.read')
    .meta({
      openapi: { method: 'GET', path: '/v1/devices', tags: ['devices'], summary: 'List devices' },
    })
    .input(listDevicesInput)
    .output(deviceListOutput)
    .query(({ ctx, input }) => listDevices(ctx.service, input)),
  get: permittedProcedure('device.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/devices/{deviceId}',
        tags: ['devices'],
        summary: 'Get a device',
      },
    })
    .input(deviceIdInput)
    .output(deviceOutput)
    .query(({ ctx, input }) => getDevice(ctx.service, input)),
  accept: permittedProcedure('device.enroll')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/{deviceId}/accept',
        tags: ['devices'],
        summary: 'Accept a pending device',
      },
    })
    .input(deviceIdInput)
    .output(deviceStatusOutput)
    .mutation(({ ctx, input }) => acceptDevice(ctx.service, input)),
  reject: permittedProcedure('device.enroll')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/{deviceId}/reject',
        tags: ['devices'],
        summary: 'Reject a pending device',
      },
    })
    .input(deviceIdInput)
    .output(deviceStatusOutput)
    .mutation(({ ctx, input }) => rejectDevice(ctx.service, input)),
  decommission: permittedProcedure('device.enroll')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/{deviceId}/decommission',
        tags: ['devices'],
        summary: 'Decommission a device',
      },
    })
    .input(deviceIdInput)
    .output(deviceStatusOutput)
    .mutation(({ ctx, input }) => decommissionDevice(ctx.service, input)),
  update: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'PATCH',
        path: '/v1/devices/{deviceId}',
        tags: ['devices'],
        summary: 'Rename a device or set its labels',
      },
    })
    .input(updateDeviceInput)
    .output(deviceIdOutput)
    .mutation(({ ctx, input }) => updateDevice(ctx.service, input)),
  /** a page of the device's command history (summaries; cursor: the previous page's last id) */
  commands: permittedProcedure('device.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/devices/{deviceId}/commands',
        tags: ['devices'],
        summary: "A page of a device's command history",
      },
    })
    .input(listDeviceCommandsInput)
    .output(commandPageOutput)
    .query(({ ctx, input }) => listDeviceCommands(ctx.service, input)),
  /** one command in full: its events and the tool's output */
  command: permittedProcedure('device.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/commands/{commandId}',
        tags: ['devices'],
        summary: 'Get a command with its events and output',
      },
    })
    .input(z.object({ commandId: z.uuid() }))
    .output(commandOutput)
    .query(({ ctx, input }) => getCommand(ctx.service, input)),
  sendCommand: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/{deviceId}/commands',
        tags: ['devices'],
        summary: 'Send a command to a device',
      },
    })
    .input(createCommandInput)
    .output(commandSummaryOutput)
    .mutation(({ ctx, input }) => createCommand(ctx.service, input)),
  /** the versions the apply picker offers this device (its server's, not blocked, fit or not) */
  applicableVersions: permittedProcedure('device.read')
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/devices/{deviceId}/applicable-versions',
        tags: ['devices'],
        summary: 'The catalog versions a device can be updated to',
      },
    })
    .input(deviceIdInput)
    .output(applicableVersionsOutput)
    .query(({ ctx, input }) => listApplicableVersions(ctx.service, input)),
  /** apply one catalog version, pinned to its content */
  applyVersion: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/{deviceId}/apply',
        tags: ['devices'],
        summary: 'Apply a catalog version to a device',
      },
    })
    .input(applyImageVersionInput)
    .output(commandSummaryOutput)
    .mutation(({ ctx, input }) => applyImageVersion(ctx.service, input)),
  cancelCommand: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/commands/{commandId}/cancel',
        tags: ['devices'],
        summary: 'Cancel a command',
      },
    })
    .input(z.object({ commandId: z.uuid() }))
    .output(cancelCommandOutput)
    .mutation(({ ctx, input }) => cancelCommand(ctx.service, input)),
});
