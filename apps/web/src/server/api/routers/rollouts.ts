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
import { createTRPCRouter, permittedProcedure } from '../trpc';

const read = permittedProcedure('rollout.read');
const manage = permittedProcedure('rollout.manage');

export const rolloutsRouter = createTRPCRouter({
  list: read
    .input(listRolloutsInput.optional())
    .query(({ ctx, input }) => listRollouts(ctx.service, input)),
  get: read
    .input(z.object({ rolloutId: z.uuid() }))
    .query(({ ctx, input }) => getRollout(ctx.service, input)),
  /** the rollout's devices, a page at a time, by category and name */
  devices: read
    .input(rolloutDevicesInput)
    .query(({ ctx, input }) => listRolloutDevices(ctx.service, input)),
  /** the rollout's timeline, newest first */
  events: read
    .input(rolloutEventsInput)
    .query(({ ctx, input }) => listRolloutEvents(ctx.service, input)),
  /** "why is this device not on version X?" */
  trace: read
    .input(z.object({ deviceId: z.uuid(), rolloutId: z.uuid().optional() }))
    .query(({ ctx, input }) => traceDevice(ctx.service, input)),
  preview: manage
    .input(createRolloutInput)
    .query(({ ctx, input }) => previewRollout(ctx.service, input)),
  create: manage
    .input(createRolloutInput)
    .mutation(({ ctx, input }) => createRollout(ctx.service, input)),
  start: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => startRollout(ctx.service, input)),
  pause: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => pauseRollout(ctx.service, input)),
  resume: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => resumeRollout(ctx.service, input)),
  approveNextBatch: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => approveNextBatch(ctx.service, input)),
  abort: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => abortRollout(ctx.service, input)),
  retryFailed: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => retryFailedDevices(ctx.service, input)),
  revert: manage
    .input(rolloutActionInput)
    .mutation(({ ctx, input }) => revertRollout(ctx.service, input)),
});
