// What the REST procedures answer, for the OpenAPI document (trpc-to-openapi needs an output
// schema on every REST procedure). Loose objects: they name and type the fields automation relies
// on, and let every other field of the service's answer through untouched (tRPC validates outputs
// too, and a strict object would strip what the pages read). Dates are ISO strings on the wire.
// Each is typed as its service's answer, so `.output()` checks the answer at run time without
// changing what the pages see (the service stays the source of the type).
import { COMMAND_KINDS, COMMAND_STATES, DEVICE_STATUSES } from '@eos-fleet/shared/domain';
import { z, type ZodType } from 'zod';
import type { listAuditEvents } from '../services/audit/list-audit-events';
import type { listApplicableVersions } from '../services/catalog/apply-image-version';
import type { listImages, listUpdateServers } from '../services/catalog/list-catalog';
import type {
  labelImageVersion,
  setImageVersionBlocked,
  setImageVersionRecommended,
} from '../services/catalog/manage-image-versions';
import type {
  cancelCommand,
  createCommand,
  getCommand,
  listDeviceCommands,
} from '../services/commands/commands';
import type { listDevices } from '../services/devices/list-devices';
import type {
  acceptDevice,
  decommissionDevice,
  getDevice,
  rejectDevice,
  updateDevice,
} from '../services/devices/manage-device';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer<F extends (...args: any[]) => unknown> = Awaited<ReturnType<F>>;

/** `schema`, typed as the answer it checks (and documents). */
function answers<T>(schema: ZodType): ZodType<T, T> {
  return schema as unknown as ZodType<T, T>;
}

const when = z.date().meta({ description: 'ISO 8601 date and time' });
const labels = z.record(z.string(), z.string());

const resolvedVersion = {
  runningVersion: z.unknown().meta({ description: 'the catalog version the device runs, or null' }),
  outOfDate: z.boolean(),
};

const deviceSummary = z
  .looseObject({
    id: z.uuid(),
    name: z.string(),
    status: z.enum(DEVICE_STATUSES),
    online: z.boolean(),
    lastSeenAt: when.nullable(),
    imageName: z.string().nullable(),
    rootPrefixHash: z.string().nullable(),
    labels,
    ...resolvedVersion,
  })
  .meta({ id: 'DeviceSummary' });

export const deviceOutput = answers<Answer<typeof getDevice>>(
  deviceSummary
    .extend({
      slotSize: z.number().nullable(),
      activeSlot: z.string().nullable(),
      commitPending: z.boolean().nullable(),
    })
    .meta({ id: 'Device' }),
);
export const deviceListOutput = answers<Answer<typeof listDevices>>(z.array(deviceSummary));

export const deviceStatusOutput = answers<
  Answer<typeof acceptDevice | typeof rejectDevice | typeof decommissionDevice>
>(z.looseObject({ id: z.uuid(), status: z.enum(DEVICE_STATUSES) }));

export const deviceIdOutput = answers<Answer<typeof updateDevice>>(z.looseObject({ id: z.uuid() }));

const commandSummary = z
  .looseObject({
    id: z.uuid(),
    deviceId: z.uuid(),
    kind: z.enum(COMMAND_KINDS),
    params: z.record(z.string(), z.unknown()),
    state: z.enum(COMMAND_STATES),
    progress: z.unknown(),
    errorCode: z.string().nullable(),
    error: z.string().nullable(),
    createdAt: when,
    completedAt: when.nullable(),
  })
  .meta({ id: 'CommandSummary' });
export const commandSummaryOutput = answers<Answer<typeof createCommand>>(commandSummary);

export const commandPageOutput = answers<Answer<typeof listDeviceCommands>>(
  z.looseObject({
    items: z.array(commandSummary),
    nextCursor: z.uuid().nullable().meta({ description: 'pass as `cursor` for the next page' }),
  }),
);

export const commandOutput = answers<Answer<typeof getCommand>>(
  commandSummary
    .extend({
      output: z.string().nullable(),
      events: z.array(
        z.looseObject({
          id: z.string(),
          state: z.string().nullable().meta({ description: 'null: not a state change (progress)' }),
          message: z.string().nullable(),
          createdAt: when,
        }),
      ),
    })
    .meta({ id: 'Command' }),
);

export const cancelCommandOutput = answers<Answer<typeof cancelCommand>>(
  z.looseObject({ outcome: z.string(), command: commandSummary }),
);

const imageVersionOutput = z.looseObject({
  id: z.uuid(),
  rootPrefixHash: z.string(),
  label: z.string().nullable(),
  recommended: z.boolean(),
  blocked: z.boolean(),
  available: z.boolean(),
});

export const applicableVersionsOutput = answers<Answer<typeof listApplicableVersions>>(
  z.looseObject({
    updateServer: z.unknown(),
    problem: z.string().nullable(),
    slotSize: z.number().nullable(),
    versions: z.array(
      imageVersionOutput.extend({
        fits: z.boolean().nullable(),
        running: z.boolean(),
        applicable: z.boolean(),
      }),
    ),
  }),
);

export const updateServersOutput = answers<Answer<typeof listUpdateServers>>(
  z.array(
    z
      .looseObject({
        id: z.uuid(),
        name: z.string(),
        sshTarget: z.string(),
        sshPort: z.number(),
        httpUrl: z.string(),
        reachable: z.boolean().nullable(),
        lastPolledAt: when.nullable(),
        lastError: z.string().nullable(),
        images: z.array(z.looseObject({ id: z.uuid(), name: z.string() })),
      })
      .meta({ id: 'UpdateServer' }),
  ),
);

export const imagesOutput = answers<Answer<typeof listImages>>(
  z.array(
    z
      .looseObject({
        id: z.uuid(),
        name: z.string(),
        versions: z.array(imageVersionOutput),
      })
      .meta({ id: 'Image' }),
  ),
);

export const labelOutput = answers<Answer<typeof labelImageVersion>>(
  z.looseObject({ id: z.uuid(), label: z.string().nullable() }),
);
export const recommendedOutput = answers<Answer<typeof setImageVersionRecommended>>(
  z.looseObject({ id: z.uuid(), recommended: z.boolean() }),
);
export const blockedOutput = answers<Answer<typeof setImageVersionBlocked>>(
  z.looseObject({ id: z.uuid(), blocked: z.boolean() }),
);

export const auditPageOutput = answers<Answer<typeof listAuditEvents>>(
  z.looseObject({
    events: z.array(
      z
        .looseObject({
          id: z.string(),
          action: z.string(),
          actorType: z.string(),
          actorLabel: z.string().nullable(),
          targetType: z.string().nullable(),
          targetId: z.string().nullable(),
          data: z.unknown(),
          createdAt: when,
        })
        .meta({ id: 'AuditEvent' }),
    ),
    nextCursor: z.string().optional().meta({ description: 'pass as `cursor` for the next page' }),
  }),
);
