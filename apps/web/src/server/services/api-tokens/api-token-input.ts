// The API token procedures' inputs, shared by the server and the Settings form (no server imports).
import { OPERATOR_ROLES } from '@eos-fleet/shared/domain';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';

export const API_TOKEN_MAX_DAYS = 365;

export const createApiTokenInput = z.object({
  name: storableText(100).trim().min(1, 'required'),
  role: z.enum(OPERATOR_ROLES),
  expiresInDays: z
    .number({ error: 'a whole number of days' })
    .int('a whole number of days')
    .min(1, 'at least 1 day')
    .max(API_TOKEN_MAX_DAYS, `at most ${API_TOKEN_MAX_DAYS} days`),
});

export const revokeApiTokenInput = z.object({ tokenId: z.string().regex(/^[0-9a-f]{16}$/) });
