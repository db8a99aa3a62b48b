// The catalog procedures' inputs, free of server code so the pages' forms validate with the very
// same schemas (and say at the field what the server would).
import {
  httpUrlSchema,
  sshDestinationSchema,
  storableText,
} from '@eos-fleet/shared/protocol/values';
import { z } from 'zod';

const fields = {
  name: storableText(100).trim().min(1),
  /** `user@host` as devices have it under `server:` in /etc/os-update.yml */
  sshTarget: sshDestinationSchema.refine(
    (target) => target.includes('@'),
    'Must be user@host, the account devices sign in as and the host',
  ),
  sshPort: z.int().min(1).max(65535),
  httpUrl: httpUrlSchema.pipe(storableText(2048)),
  /** the server's `catalogToken`; sealed at once, never shown again */
  catalogToken: storableText(512)
    .min(16, 'At least 16 characters (the update server requires them)')
    .refine((token) => !/\s/.test(token), 'Must not contain spaces'),
  maxConcurrentApplies: z.int().min(1).max(10_000),
};

export const createUpdateServerInput = z.object({
  ...fields,
  sshPort: fields.sshPort.default(22),
  maxConcurrentApplies: fields.maxConcurrentApplies.default(25),
});

export const updateUpdateServerInput = z.object({
  updateServerId: z.uuid(),
  name: fields.name.optional(),
  sshTarget: fields.sshTarget.optional(),
  sshPort: fields.sshPort.optional(),
  httpUrl: fields.httpUrl.optional(),
  /** a new token; absent: keep the stored one */
  catalogToken: fields.catalogToken.optional(),
  maxConcurrentApplies: fields.maxConcurrentApplies.optional(),
});

export const labelImageVersionInput = z.object({
  imageVersionId: z.uuid(),
  /** empty: no label (the hash prefix names it) */
  label: storableText(64)
    .trim()
    .regex(/^[A-Za-z0-9._+~ -]*$/, 'Only letters, digits, spaces and . _ + ~ -'),
});

export const flagImageVersionInput = z.object({ imageVersionId: z.uuid(), value: z.boolean() });
