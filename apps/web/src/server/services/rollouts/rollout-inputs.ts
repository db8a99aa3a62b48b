// What a rollout is made of, as operators and the API give it: bounded, every field in words.
import { Cron } from 'croner';
import { z } from 'zod';

const labels = z
  .record(z.string().min(1).max(63), z.string().max(63))
  .refine((value) => Object.keys(value).length <= 16, 'at most 16 labels');

export const rolloutTargetSchema = z
  .object({
    labels: labels.optional(),
    deviceIds: z.array(z.uuid()).min(1).max(10_000).optional(),
    imageName: z.string().min(1).max(200).optional(),
  })
  .refine(
    (t) => [t.labels, t.deviceIds, t.imageName].filter((x) => x !== undefined).length === 1,
    'the target is exactly one of: a label selector, a device list, an image name',
  );
export type RolloutTarget = z.infer<typeof rolloutTargetSchema>;

export const rolloutBatchSchema = z
  .object({
    count: z.int().min(1).max(100_000).optional(),
    percent: z.int().min(1).max(100).optional(),
    selector: z.object({ labels }).optional(),
    soakSeconds: z
      .int()
      .min(0)
      .max(7 * 86_400)
      .default(0),
    gate: z.enum(['automatic', 'manual']).default('automatic'),
  })
  .refine(
    (b) => (b.count === undefined) !== (b.percent === undefined),
    'a batch has a count or a percent',
  );

export const maintenanceWindowSchema = z
  .object({
    /** cron-like: minute hour day-of-month month day-of-week ("0 2 * * 1-5") */
    cron: z.string().min(9).max(100),
    timezone: z.string().min(1).max(64),
    durationMinutes: z
      .int()
      .min(1)
      .max(24 * 60),
  })
  .superRefine((w, ctx) => {
    try {
      Intl.DateTimeFormat('en', { timeZone: w.timezone });
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `unknown time zone "${w.timezone}"`,
        path: ['timezone'],
      });
      return;
    }
    try {
      new Cron(w.cron, { timezone: w.timezone, paused: true });
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid window expression: ${error instanceof Error ? error.message : String(error)}`,
        path: ['cron'],
      });
    }
  });
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;

export const disruptionBudgetSchema = z.object({
  label: z.string().min(1).max(63),
  max: z.int().min(1).max(100_000),
  percent: z.boolean().default(false),
});
export type DisruptionBudget = z.infer<typeof disruptionBudgetSchema>;

export const createRolloutInput = z
  .object({
    name: z.string().trim().min(1).max(120),
    imageVersionId: z.uuid(),
    target: rolloutTargetSchema,
    batches: z.array(rolloutBatchSchema).min(1).max(50),
    dynamic: z.boolean().default(false),
    startAt: z.coerce.date().optional(),
    maintenanceWindow: maintenanceWindowSchema.optional(),
    successThresholdPercent: z.int().min(0).max(100).default(100),
    failureThresholdCount: z.int().min(1).max(100_000).optional(),
    failureThresholdPercent: z.int().min(1).max(100).optional(),
    failureMinSample: z.int().min(1).max(100_000).default(1),
    failureAction: z.enum(['pause', 'abort']).default('pause'),
    deviceTimeoutSeconds: z
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(3600),
    maxRetries: z.int().min(0).max(10).default(0),
    retryBackoffSeconds: z.int().min(1).max(86_400).default(300),
    maxConcurrentPerServer: z.int().min(1).max(10_000).optional(),
    disruptionBudget: disruptionBudgetSchema.optional(),
    rollbackOnAbort: z.boolean().default(false),
    /** false: stays a draft until started */
    start: z.boolean().default(true),
  })
  .refine(
    (r) => r.failureThresholdCount === undefined || r.failureThresholdPercent === undefined,
    'a failure threshold is a count or a percent, not both',
  );
export type CreateRolloutInput = z.input<typeof createRolloutInput>;

/** When the window next opens at or after `from` (null: never again), and whether it is open now. */
export function windowState(window: MaintenanceWindow | null, from: Date) {
  if (!window) return { open: true, opensAt: null as Date | null, closesAt: null as Date | null };
  const cron = new Cron(window.cron, { timezone: window.timezone, paused: true });
  const durationMs = window.durationMinutes * 60_000;
  // the latest opening up to `from` (looked for within the duration before it)
  const previous = cron.nextRun(new Date(from.getTime() - durationMs));
  if (previous && previous.getTime() <= from.getTime())
    return { open: true, opensAt: previous, closesAt: new Date(previous.getTime() + durationMs) };
  const next = cron.nextRun(from);
  return {
    open: false,
    opensAt: next,
    closesAt: next ? new Date(next.getTime() + durationMs) : null,
  };
}

/** `2025-06-01 02:00 Europe/Berlin`: a window's time as operators in its zone read it. */
export function inZone(at: Date, timezone: string): string {
  const local = new Intl.DateTimeFormat('sv-SE', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).format(at);
  return `${local} ${timezone}`;
}
