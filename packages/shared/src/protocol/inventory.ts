// What a device reports about itself: on connect, on change, and on `inventory.refresh`.
// Values the agent cannot read are null rather than absent, so "unknown" is explicit.
import { z } from 'zod';
import { EOS_PROFILES } from '../domain';
import { rootPrefixHashSchema, rootSlotSchema, storableText } from './values';

const shortText = storableText(512);

export const flakeSchema = z.discriminatedUnion('engine', [
  z.object({
    engine: z.literal('podman'),
    /** The flake's name: the file name of /usr/share/flakes/<name>.yaml. */
    name: shortText,
    appPath: shortText.nullable(),
    target: shortText.nullable(),
    container: shortText.nullable(),
    base: shortText.nullable(),
  }),
  z.object({
    engine: z.literal('firecracker'),
    name: shortText,
    appPath: shortText.nullable(),
    target: shortText.nullable(),
    vm: shortText.nullable(),
  }),
]);
export type Flake = z.infer<typeof flakeSchema>;

export const osReleaseSchema = z.object({
  name: shortText.optional(),
  id: shortText.optional(),
  versionId: shortText.optional(),
  prettyName: shortText.optional(),
  imageId: shortText.optional(),
  imageVersion: shortText.optional(),
  buildId: shortText.optional(),
});
export type OsRelease = z.infer<typeof osReleaseSchema>;

export const inventorySchema = z.object({
  /** sha1 of the first 10 MiB of the running root partition: what os-update compares. */
  rootPrefixHash: rootPrefixHashSchema.nullable(),
  activeSlot: rootSlotSchema.nullable(),
  /** Size of the active root slot in bytes: an image partition must fit it. */
  slotSizeBytes: z.int().nonnegative().nullable(),
  /** `update.name` of the device's /etc/os-update.yml. */
  imageName: shortText.nullable(),
  /** `update.server` of the device's /etc/os-update.yml (`user@host`). */
  updateServer: shortText.nullable(),
  arch: shortText,
  profile: z.enum(EOS_PROFILES).nullable(),
  osRelease: osReleaseSchema,
  kernelRelease: shortText.nullable(),
  bootId: shortText,
  /** COMMIT_UPDATE on /proc/cmdline: booted into a new slot that is not committed yet. */
  commitPending: z.boolean(),
  flakes: z.array(flakeSchema).max(1024),
  agentVersion: shortText,
  /** Free bytes in the state area (/var/lib/containers/storage), null when unknown. */
  stateDiskFreeBytes: z.int().nonnegative().nullable(),
  collectedAt: z.iso.datetime({ offset: true }),
});
export type Inventory = z.infer<typeof inventorySchema>;
