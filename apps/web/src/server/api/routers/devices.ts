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
import { listDeviceAudit, listDeviceAuditInput } from '../../services/devices/device-audit';
import {
  bulkInput,
  changeDeviceLabel,
  previewBulkAction,
  runBulkAction,
} from '../../services/devices/bulk-devices';
import { devicesById, devicesByIdInput } from '../../services/devices/devices-by-id';
import { listDevices, listDevicesInput } from '../../services/devices/list-devices';
import { queryDevices } from '../../services/devices/query-devices';
import { deviceQuerySchema } from '@eos-fleet/shared/device-filter';
import { AppError } from '../../services/errors';
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
  bulkPlanOutput,
  deviceLabelsOutput,
  devicePageOutput,
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
  /** the Devices table: filter + sort + page (packages/shared device-filter.ts), with the total */
  page: permittedProcedure('device.read')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/query',
        tags: ['devices'],
        summary: 'A page of devices: filter, sort, page (the Devices table)',
      },
    })
    .output(devicePageOutput)
    .input(deviceQuerySchema)
    .query(({ ctx, input }) => queryDevices(ctx.service, input)),
  /** who the ids of a list are (the rollout form's device list); an id of no device is left out */
  byIds: permittedProcedure('device.read')
    .input(devicesByIdInput)
    .query(({ ctx, input }) => devicesById(ctx.service, input)),
  /** what a bulk action would do (counts, skip reasons): the confirmation dialog */
  bulkPreview: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/bulk/preview',
        tags: ['devices'],
        summary: 'What a bulk action would do, before it is done',
      },
    })
    .output(bulkPlanOutput)
    .input(
      bulkInput.refine((i) => i.action.type !== 'decommission', {
        message: 'use bulkDecommissionPreview',
      }),
    )
    .query(({ ctx, input }) => previewBulkAction(ctx.service, input)),
  bulk: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/bulk',
        tags: ['devices'],
        summary: 'Label, check, apply a version to or roll back many devices',
      },
    })
    .output(bulkPlanOutput)
    .input(bulkInput)
    .mutation(({ ctx, input }) => {
      if (input.action.type === 'decommission')
        throw new AppError('BAD_REQUEST', 'Decommission many devices with bulkDecommission.');
      return runBulkAction(ctx.service, input);
    }),
  bulkDecommissionPreview: permittedProcedure('device.enroll')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/bulk-decommission/preview',
        tags: ['devices'],
        summary: 'What decommissioning many devices would do',
      },
    })
    .output(bulkPlanOutput)
    .input(z.object({ target: bulkInput.shape.target }))
    .query(({ ctx, input }) =>
      previewBulkAction(ctx.service, { target: input.target, action: { type: 'decommission' } }),
    ),
  bulkDecommission: permittedProcedure('device.enroll')
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/devices/bulk-decommission',
        tags: ['devices'],
        summary: 'Decommission many devices',
      },
    })
    .output(bulkPlanOutput)
    .input(z.object({ target: bulkInput.shape.target }))
    .mutation(({ ctx, input }) =>
      runBulkAction(ctx.service, { target: input.target, action: { type: 'decommission' } }),
    ),
  /** set (value) or remove (value null) one label of one device */
  setLabel: permittedProcedure('device.operate')
    .meta({
      openapi: {
        method: 'PUT',
        path: '/v1/devices/{deviceId}/label',
        tags: ['devices'],
        summary: 'Set or remove one label of a device',
      },
    })
    .output(deviceLabelsOutput)
    .input(
      z.object({
        deviceId: z.uuid(),
        key: z.string().max(100),
        value: z.string().max(100).nullable(),
      }),
    )
    .mutation(({ ctx, input }) => changeDeviceLabel(ctx.service, input)),
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
  /** the audit entries about this device, as sentences (newest first, a page at a time) */
  audit: permittedProcedure('audit.read')
    .input(listDeviceAuditInput)
    .query(({ ctx, input }) => listDeviceAudit(ctx.service, input)),
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
