// Staged rollouts: everyone reads them; operators create and act on them. The scheduler (a
// pg-boss job) moves them on; an action takes effect at the rollout's next tick.
import { z } from 'zod';
import {
  listRolloutDevices,
  listRolloutEvents,
  rolloutDevicesInput,
  rolloutEventsInput,
} from '../../services/rollouts/rollout-devices';
import { createRolloutInput } from '../../services/rollouts/rollout-inputs';
import {
  abortRollout,
  approveNextBatch,
  createRollout,
  getRollout,
  listRollouts,
  listRolloutsInput,
  pauseRollout,
  previewRollout,
  resumeRollout,
  retryFailedDevices,
  revertRollout,
  rolloutActionInput,
  startRollout,
  traceDevice,
} from '../../services/rollouts/rollouts';
import {
  rolloutActionOutputs,
  rolloutCreatedOutput,
  rolloutDevicesOutput,
  rolloutEventsOutput,
  rolloutOutput,
  rolloutPageOutput,
  rolloutPreviewOutput,
  rolloutTraceOutput,
} from '../openapi-outputs';
import { createTRPCRouter, permittedProcedure } from '../trpc';

const read = permittedProcedure('rollout.read');
const manage = permittedProcedure('rollout.manage');

export const rolloutsRouter = createTRPCRouter({
  list: read
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/rollouts',
        tags: ['rollouts'],
        summary: 'List rollouts',
      },
    })
    .output(rolloutPageOutput)
    .input(listRolloutsInput.optional())
    .query(({ ctx, input }) => listRollouts(ctx.service, input)),
  get: read
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/rollouts/{rolloutId}',
        tags: ['rollouts'],
        summary: 'A rollout with its batches, thresholds and timeline',
      },
    })
    .output(rolloutOutput)
    .input(z.object({ rolloutId: z.uuid() }))
    .query(({ ctx, input }) => getRollout(ctx.service, input)),
  /** the rollout's devices, a page at a time, by category and name */
  devices: read
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/rollouts/{rolloutId}/devices',
        tags: ['rollouts'],
        summary: "A rollout's devices, a page at a time, with what each is doing in words",
      },
    })
    .output(rolloutDevicesOutput)
    .input(rolloutDevicesInput)
    .query(({ ctx, input }) => listRolloutDevices(ctx.service, input)),
  /** the rollout's timeline, newest first */
  events: read
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/rollouts/{rolloutId}/events',
        tags: ['rollouts'],
        summary: "A rollout's timeline, newest first",
      },
    })
    .output(rolloutEventsOutput)
    .input(rolloutEventsInput)
    .query(({ ctx, input }) => listRolloutEvents(ctx.service, input)),
  /** "why is this device not on version X?" */
  trace: read
    .meta({
      openapi: {
        method: 'GET',
        path: '/v1/devices/{deviceId}/rollout-trace',
        tags: ['rollouts'],
        summary: "Why a device is not on a rollout's version",
      },
    })
    .output(rolloutTraceOutput)
    .input(z.object({ deviceId: z.uuid(), rolloutId: z.uuid().optional() }))
    .query(({ ctx, input }) => traceDevice(ctx.service, input)),
  preview: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/preview',
        tags: ['rollouts'],
        summary: 'Preview a rollout: batches, preflight, window, estimate',
      },
    })
    .output(rolloutPreviewOutput)
    .input(createRolloutInput)
    .query(({ ctx, input }) => previewRollout(ctx.service, input)),
  create: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts',
        tags: ['rollouts'],
        summary: 'Create a rollout',
      },
    })
    .output(rolloutCreatedOutput)
    .input(createRolloutInput)
    .mutation(({ ctx, input }) => createRollout(ctx.service, input)),
  start: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/start',
        tags: ['rollouts'],
        summary: 'Start a draft rollout',
      },
    })
    .output(rolloutActionOutputs.start)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => startRollout(ctx.service, input)),
  pause: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/pause',
        tags: ['rollouts'],
        summary: 'Pause a rollout',
      },
    })
    .output(rolloutActionOutputs.pause)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => pauseRollout(ctx.service, input)),
  resume: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/resume',
        tags: ['rollouts'],
        summary: 'Resume a paused rollout',
      },
    })
    .output(rolloutActionOutputs.resume)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => resumeRollout(ctx.service, input)),
  approveNextBatch: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/approve-next-batch',
        tags: ['rollouts'],
        summary: 'Approve the next batch behind a manual gate',
      },
    })
    .output(rolloutActionOutputs.approveNextBatch)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => approveNextBatch(ctx.service, input)),
  abort: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/abort',
        tags: ['rollouts'],
        summary: 'Abort a rollout (optionally rolling back)',
      },
    })
    .output(rolloutActionOutputs.abort)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => abortRollout(ctx.service, input)),
  retryFailed: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/retry-failed',
        tags: ['rollouts'],
        summary: 'Retry the failed devices',
      },
    })
    .output(rolloutActionOutputs.retryFailed)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => retryFailedDevices(ctx.service, input)),
  revert: manage
    .meta({
      openapi: {
        method: 'POST',
        path: '/v1/rollouts/{rolloutId}/revert',
        tags: ['rollouts'],
        summary: 'Send the succeeded devices back to their previous slot',
      },
    })
    .output(rolloutActionOutputs.revert)
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => revertRollout(ctx.service, input)),
});
