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
import type { changeDeviceLabel, previewBulkAction } from '../services/devices/bulk-devices';
import type { listDevices } from '../services/devices/list-devices';
import type { queryDevices } from '../services/devices/query-devices';
import type { getFleetOverview } from '../services/overview/get-fleet-overview';
import type {
  acceptDevice,
  decommissionDevice,
  getDevice,
  rejectDevice,
  updateDevice,
} from '../services/devices/manage-device';
import type { listRolloutDevices, listRolloutEvents } from '../services/rollouts/rollout-devices';
import { DEVICE_CATEGORIES } from '../services/rollouts/rollouts';
import type {
  abortRollout,
  approveNextBatch,
  createRollout,
  getRollout,
  listRollouts,
  pauseRollout,
  previewRollout,
  resumeRollout,
  retryFailedDevices,
  revertRollout,
  startRollout,
  traceDevice,
} from '../services/rollouts/rollouts';

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

const rolloutState = z.enum([
  'draft',
  'scheduled',
  'running',
  'paused',
  'completed',
  'aborted',
  'failed',
]);
const rolloutSummary = {
  id: z.uuid(),
  name: z.string(),
  state: rolloutState,
  stateReason: z.string().nullable().meta({ description: 'why it is paused, aborted or failed' }),
  version: z.string().meta({ description: 'image name and version label' }),
  createdAt: when,
  startedAt: when.nullable(),
  completedAt: when.nullable(),
};

export const rolloutPageOutput = answers<Answer<typeof listRollouts>>(
  z.looseObject({
    items: z.array(
      z
        .looseObject({
          ...rolloutSummary,
          devices: z.number().meta({ description: 'devices in a batch' }),
          succeeded: z.number(),
          failed: z.number(),
          excluded: z.number(),
        })
        .meta({ id: 'RolloutSummary' }),
    ),
    nextCursor: z.uuid().nullable().meta({ description: 'pass as `cursor` for the next page' }),
  }),
);

const batchProgress = z
  .looseObject({
    index: z.number(),
    state: z.string(),
    gate: z.enum(['automatic', 'manual']),
    total: z.number(),
    succeeded: z.number(),
    failed: z.number(),
    inFlight: z.number(),
    waiting: z.number(),
    excluded: z.number(),
  })
  .meta({ id: 'RolloutBatchProgress' });

export const rolloutOutput = answers<Answer<typeof getRollout>>(
  z
    .looseObject({
      ...rolloutSummary,
      pinned: z.looseObject({ rootPrefixHash: z.string(), rootSha256: z.string() }),
      target: z.unknown().meta({ description: 'labels, deviceIds or imageName' }),
      thresholds: z.looseObject({ failed: z.number(), succeeded: z.number() }),
      batches: z.array(batchProgress),
      events: z.array(
        z.looseObject({ at: when, message: z.string(), deviceId: z.uuid().nullable() }),
      ),
    })
    .meta({ id: 'Rollout' }),
);

export const rolloutTraceOutput = answers<Answer<typeof traceDevice>>(
  z.looseObject({
    device: z.string(),
    online: z.boolean(),
    rollouts: z.array(
      z.looseObject({
        rolloutId: z.uuid(),
        rollout: z.string(),
        version: z.string(),
        state: z.string().nullable(),
        steps: z.array(z.string()).meta({ description: 'the decisions, in words' }),
      }),
    ),
  }),
);

export const rolloutPreviewOutput = answers<Answer<typeof previewRollout>>(
  z.looseObject({
    batches: z.array(z.looseObject({ index: z.number(), devices: z.number() })),
    preflightFailures: z
      .array(z.looseObject({ deviceId: z.uuid(), device: z.string(), reason: z.string() }))
      .meta({ description: 'devices excluded, and why, in words' }),
    waiting: z.array(z.looseObject({ deviceId: z.uuid(), device: z.string(), reason: z.string() })),
    windowOpen: z.boolean(),
    nextWindowOpening: when.nullable(),
    estimatedSeconds: z.number().meta({ description: 'the whole rollout at the server caps' }),
  }),
);

export const rolloutDevicesOutput = answers<Answer<typeof listRolloutDevices>>(
  z.looseObject({
    rows: z.array(
      z
        .looseObject({
          deviceId: z.uuid(),
          name: z.string(),
          batch: z.number().nullable(),
          state: z.string(),
          category: z.enum(DEVICE_CATEGORIES),
          reason: z.string().meta({ description: 'what it is doing or why not, in words' }),
          settled: z.boolean(),
          attempts: z.number(),
          commandId: z.uuid().nullable(),
          online: z.boolean(),
        })
        .meta({ id: 'RolloutDevice' }),
    ),
    total: z.number(),
    page: z.number(),
    pageSize: z.number(),
    pageCount: z.number(),
  }),
);

export const rolloutEventsOutput = answers<Answer<typeof listRolloutEvents>>(
  z.looseObject({
    items: z.array(
      z.looseObject({
        id: z.uuid(),
        at: when,
        message: z.string(),
        deviceId: z.uuid().nullable(),
      }),
    ),
    nextCursor: z.uuid().nullable().meta({ description: 'pass as `cursor` for the next page' }),
  }),
);

export const rolloutCreatedOutput = answers<Answer<typeof createRollout>>(
  z.looseObject({ id: z.uuid() }),
);

const rolloutActed = z.looseObject({}).meta({ description: 'what the action did' });
export const rolloutActionOutputs = {
  start: answers<Answer<typeof startRollout>>(rolloutActed),
  pause: answers<Answer<typeof pauseRollout>>(rolloutActed),
  resume: answers<Answer<typeof resumeRollout>>(rolloutActed),
  approveNextBatch: answers<Answer<typeof approveNextBatch>>(rolloutActed),
  abort: answers<Answer<typeof abortRollout>>(rolloutActed),
  retryFailed: answers<Answer<typeof retryFailedDevices>>(rolloutActed),
  revert: answers<Answer<typeof revertRollout>>(rolloutActed),
};

export const devicePageOutput = answers<Answer<typeof queryDevices>>(
  z.looseObject({
    rows: z.array(
      z
        .looseObject({
          ...deviceSummary.shape,
          updateState: z.string().meta({ description: 'idle, in_progress, stuck, failed, …' }),
        })
        .meta({ id: 'DeviceRow' }),
    ),
    total: z.number().meta({ description: 'devices matching the filter' }),
    page: z.number(),
    pageSize: z.number(),
    pageCount: z.number(),
  }),
);

export const bulkPlanOutput = answers<Answer<typeof previewBulkAction>>(
  z
    .looseObject({
      matched: z.number().meta({ description: 'devices the target names' }),
      acting: z.number().meta({ description: 'devices the action changes' }),
      summary: z.string(),
      skipped: z.array(z.looseObject({ reason: z.string(), count: z.number() })),
      notes: z.array(z.looseObject({ note: z.string(), count: z.number() })),
    })
    .meta({ id: 'BulkPlan' }),
);

export const deviceLabelsOutput = answers<Answer<typeof changeDeviceLabel>>(
  z.looseObject({ id: z.uuid(), labels }),
);

export const fleetOverviewOutput = answers<Answer<typeof getFleetOverview>>(
  z.looseObject({
    devices: z.unknown().meta({ description: 'devices by status' }),
    counters: z.looseObject({}).meta({
      description: 'offline, pending, out of date, failed or stuck updates, servers with errors',
    }),
    versions: z.unknown(),
    onlineHistory: z.unknown(),
    updateOutcomes: z.unknown(),
    rollouts: z.unknown().meta({ description: 'active rollouts with progress' }),
  }),
);
