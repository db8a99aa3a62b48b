// The enrollment token procedure's input, free of server code so the Devices page's form checks
// with the very same schema.
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';

export const labelsSchema = z
  .record(
    z
      .string()
      .regex(
        /^[a-z0-9]([a-z0-9._/-]{0,62}[a-z0-9])?$/,
        'label keys: lower-case letters, digits, . _ / -',
      ),
    z
      .string()
      .max(63)
      .regex(/^[A-Za-z0-9._-]*$/, 'label values: letters, digits, . _ -'),
  )
  .refine((labels) => Object.keys(labels).length <= 32, 'at most 32 labels');
export type Labels = z.infer<typeof labelsSchema>;

export const createEnrollmentTokenInput = z.object({
  name: storableText(100).trim().min(1),
  labels: labelsSchema.default({}),
  autoAccept: z.boolean().default(false),
  /** hours until it expires; none: never */
  expiresInHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 365)
    .optional(),
  maxUses: z.number().int().min(1).max(1_000_000).optional(),
});
