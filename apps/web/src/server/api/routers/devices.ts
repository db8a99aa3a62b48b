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
  /** a page of the device's command history (summaries; cursor: the previous page's last id) */
  commands: permittedProcedure('device.read')
    .input(listDeviceCommandsInput)
    .query(({ ctx, input }) => listDeviceCommands(ctx.service, input)),
  /** one command in full: its events and the tool's output */
  command: permittedProcedure('device.read')
    .input(z.object({ commandId: z.uuid() }))
    .query(({ ctx, input }) => getCommand(ctx.service, input)),
  sendCommand: permittedProcedure('device.operate')
    .input(createCommandInput)
    .mutation(({ ctx, input }) => createCommand(ctx.service, input)),
  /** the versions the apply picker offers this device (its server's, not blocked, fit or not) */
  applicableVersions: permittedProcedure('device.read')
    .input(deviceIdInput)
    .query(({ ctx, input }) => listApplicableVersions(ctx.service, input)),
  /** apply one catalog version, pinned to its content */
  applyVersion: permittedProcedure('device.operate')
    .input(applyImageVersionInput)
    .mutation(({ ctx, input }) => applyImageVersion(ctx.service, input)),
  /** the audit entries about this device, as sentences (newest first, a page at a time) */
  audit: permittedProcedure('audit.read')
    .input(listDeviceAuditInput)
    .query(({ ctx, input }) => listDeviceAudit(ctx.service, input)),
  cancelCommand: permittedProcedure('device.operate')
    .input(z.object({ commandId: z.uuid() }))
    .mutation(({ ctx, input }) => cancelCommand(ctx.service, input)),
});
