// Domain vocabulary shared by the dashboard, the gateway, the agent and the update server.
// The Prisma enums in prisma/schema.prisma carry the same values; a test keeps them in step.

export const DEVICE_STATUSES = ['pending', 'accepted', 'rejected', 'decommissioned'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export const OPERATOR_ROLES = ['admin', 'operator', 'viewer'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** EOS disk profiles (EOS.md): Static cannot update, the others have A/B slots. */
export const EOS_PROFILES = ['Static', 'AB', 'EC2', 'RPI', 'RPI5'] as const;
export type EosProfile = (typeof EOS_PROFILES)[number];

/** The two root slots, named by their GPT partition labels. */
export const ROOT_SLOTS = ['p.lxreadonly', 'p.lxrootclone1'] as const;
export type RootSlot = (typeof ROOT_SLOTS)[number];

export const COMMAND_KINDS = [
  'check',
  'apply',
  'rollback',
  'flake.register',
  'flake.remove',
  'flake.pull',
  'inventory.refresh',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

/** Lifecycle of one command; for `apply` the middle states follow EOS's update sequence. */
export const COMMAND_STATES = [
  'queued',
  'delivered',
  'downloading',
  'rebooting',
  'verifying',
  'succeeded',
  'failed',
  'timed_out',
  'rolled_back',
  'cancelled',
] as const;
export type CommandState = (typeof COMMAND_STATES)[number];
export const TERMINAL_COMMAND_STATES: readonly CommandState[] = [
  'succeeded',
  'failed',
  'timed_out',
  'rolled_back',
  'cancelled',
];

export const ROLLOUT_STATES = [
  'draft',
  'scheduled',
  'running',
  'paused',
  'completed',
  'aborted',
] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** sha1 over the first 10 MiB of a root partition: how EOS's os-update compares versions. */
export const ROOT_PREFIX_BYTES = 10 * 1024 * 1024;
