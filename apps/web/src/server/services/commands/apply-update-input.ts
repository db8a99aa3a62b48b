// The request of the apply procedure, kept free of server code so the device page's form
// validates with the very same schema (and says what the server would).
import {
  imageNameSchema,
  rootPrefixHashSchema,
  rootSha256Schema,
} from '@eos-fleet/shared/protocol/values';
import { z } from 'zod';

/**
 * Apply one image version, named as the update server publishes it: the root prefix hash a
 * device can see, and the sha256 and length of the whole root partition the commit gate checks.
 * (No image catalog yet: the operator gives all three.)
 */
export const applyUpdateInput = z.object({
  deviceId: z.uuid(),
  rootPrefixHash: rootPrefixHashSchema,
  rootSha256: rootSha256Schema,
  rootBytes: z
    .int('expected a whole number of bytes')
    .positive('expected a positive number of bytes')
    .max(64 * 1024 ** 3, 'expected at most 64 GiB'),
  imageName: imageNameSchema.optional(),
});
