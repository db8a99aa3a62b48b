// The operator procedures' inputs, free of server code so the Settings and password forms check
// with the very same schemas.
import { OPERATOR_ROLES } from '@eos-fleet/shared/domain';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';

export const MIN_PASSWORD_LENGTH = 10;
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `At least ${MIN_PASSWORD_LENGTH} characters`)
  .max(128, 'At most 128 characters');

export const createOperatorInput = z.object({
  email: z
    .email()
    .max(254)
    .transform((email) => email.toLowerCase()),
  name: storableText(100).trim().min(1),
  role: z.enum(OPERATOR_ROLES),
  /** omitted: a one-time password is generated and must be changed at first sign-in */
  password: passwordSchema.optional(),
});
export const changeOwnPasswordInput = z
  .object({ currentPassword: z.string().min(1).max(128), newPassword: passwordSchema })
  .refine((input) => input.currentPassword !== input.newPassword, {
    message: 'Must differ from the current password',
    path: ['newPassword'],
  });
