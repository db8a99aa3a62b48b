// Command kinds and their parameters. A command frame carries `kind` and `params` loosely so an
// agent can answer a kind it does not know (or bad params) with a typed result instead of a
// protocol error; `parseCommand` then narrows it to this discriminated union.
import { z } from 'zod';
import {
  absolutePathSchema,
  containerRefSchema,
  httpUrlSchema,
  updateImageNameSchema,
  overlaySizeSchema,
  podmanOptSchema,
  rootPrefixHashSchema,
  rootSha256Schema,
  sshDestinationSchema,
} from './values';

/** Overrides of the device's /etc/os-update.yml: `--server` and `--read`. */
const updateSourceShape = {
  server: sshDestinationSchema.optional(),
  imageName: updateImageNameSchema.optional(),
};

export const checkParamsSchema = z.object({ ...updateSourceShape });

export const applyParamsSchema = z.object({
  ...updateSourceShape,
  /** The root prefix hash the rollout pinned; the agent refuses to write anything else. */
  expectedRootPrefixHash: rootPrefixHashSchema,
  /**
   * sha256 and length of the whole root partition stream of the pinned version (the update
   * server's catalog publishes both). The agent journals them; the commit gate hashes the first
   * `expectedRootBytes` of the new slot and lets EOS commit only on a match (EOS's apply pipeline
   * has no pipefail, so a cut stream is otherwise written, booted and committed).
   */
  expectedRootSha256: rootSha256Schema,
  expectedRootBytes: z
    .int()
    .positive()
    .max(64 * 1024 ** 3),
  /** After this instant the server marks the command timed out; the agent will not start it. */
  deadline: z.iso.datetime({ offset: true }),
});

export const rollbackParamsSchema = z.object({});
export const inventoryRefreshParamsSchema = z.object({});

export const podmanRegisterParamsSchema = z.object({
  engine: z.literal('podman'),
  container: containerRefSchema,
  app: absolutePathSchema,
  target: absolutePathSchema.optional(),
  base: containerRefSchema.optional(),
  layers: z.array(containerRefSchema).max(32).default([]),
  /** `--resume` or `--attach`; neither means a fresh container per call. */
  mode: z.enum(['resume', 'attach']).optional(),
  /** podman options, one `--opt` each; the agent escapes a leading `-` as flake-ctl expects. */
  opts: z.array(podmanOptSchema).max(64).default([]),
  force: z.boolean().default(false),
});

export const firecrackerRegisterParamsSchema = z.object({
  engine: z.literal('firecracker'),
  vm: containerRefSchema,
  app: absolutePathSchema,
  target: absolutePathSchema.optional(),
  overlaySize: overlaySizeSchema.optional(),
  noNet: z.boolean().default(false),
});

export const flakeRegisterParamsSchema = z.discriminatedUnion('engine', [
  podmanRegisterParamsSchema,
  firecrackerRegisterParamsSchema,
]);

/** Remove by container/VM name or by app path: exactly one of the two. */
export const flakeRemoveParamsSchema = z.discriminatedUnion('engine', [
  z
    .object({
      engine: z.literal('podman'),
      container: containerRefSchema.optional(),
      app: absolutePathSchema.optional(),
    })
    .refine(
      (p) => (p.container === undefined) !== (p.app === undefined),
      'give exactly one of container or app',
    ),
  z
    .object({
      engine: z.literal('firecracker'),
      vm: containerRefSchema.optional(),
      app: absolutePathSchema.optional(),
    })
    .refine((p) => (p.vm === undefined) !== (p.app === undefined), 'give exactly one of vm or app'),
]);

export const flakePullParamsSchema = z.discriminatedUnion('engine', [
  z.object({ engine: z.literal('podman'), uri: containerRefSchema }),
  z
    .object({
      engine: z.literal('firecracker'),
      name: containerRefSchema,
      kisImage: httpUrlSchema.optional(),
      rootfs: httpUrlSchema.optional(),
      kernel: httpUrlSchema.optional(),
      initrd: httpUrlSchema.optional(),
    })
    .refine(
      (p) =>
        p.kisImage !== undefined
          ? p.rootfs === undefined && p.kernel === undefined && p.initrd === undefined
          : p.rootfs !== undefined && p.kernel !== undefined,
      'give either kisImage, or rootfs and kernel (and optionally initrd)',
    ),
]);

export const commandSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('check'), params: checkParamsSchema }),
  z.object({ kind: z.literal('apply'), params: applyParamsSchema }),
  z.object({ kind: z.literal('rollback'), params: rollbackParamsSchema }),
  z.object({ kind: z.literal('flake.register'), params: flakeRegisterParamsSchema }),
  z.object({ kind: z.literal('flake.remove'), params: flakeRemoveParamsSchema }),
  z.object({ kind: z.literal('flake.pull'), params: flakePullParamsSchema }),
  z.object({ kind: z.literal('inventory.refresh'), params: inventoryRefreshParamsSchema }),
]);

export type Command = z.infer<typeof commandSchema>;
/** What a server builds before validation (defaults not yet applied). */
export type CommandInput = z.input<typeof commandSchema>;
export type CheckParams = z.infer<typeof checkParamsSchema>;
export type ApplyParams = z.infer<typeof applyParamsSchema>;
export type FlakeRegisterParams = z.infer<typeof flakeRegisterParamsSchema>;
export type FlakeRemoveParams = z.infer<typeof flakeRemoveParamsSchema>;
export type FlakePullParams = z.infer<typeof flakePullParamsSchema>;
