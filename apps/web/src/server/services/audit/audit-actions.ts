// The closed list of audit actions, `entity.past_tense`. A new kind of change adds its action here;
// recordAuditEvent accepts nothing else (the type checks call sites, the schema checks at run time),
// so the audit log's filters and sentences can rely on knowing every action.
export const AUDIT_ACTIONS = [
  'operator.created',
  'operator.role_changed',
  'operator.password_reset',
  'operator.password_changed',
  'operator.disabled',
  'operator.enabled',
  'operator.password_change_locked',
  'sign_in.locked',
  'api_token.created',
  'api_token.revoked',
  'api_token.locked',
  'enrollment_token.created',
  'enrollment_token.revoked',
  'device.enrolled',
  'device.accepted',
  'device.rejected',
  'device.decommissioned',
  'device.updated',
  // one entry per bulk action of the Devices table, with its counts (each device's own entries too)
  'device.bulk_labelled',
  'device.bulk_commanded',
  'device.bulk_decommissioned',
  'command.created',
  'command.cancelled',
  'command.cancel_requested',
  // a command's outcome, recorded with its terminal transition (actor: the device that reported
  // it, or the system for a deadline); `command.cancelled` also when the device confirms a cancel
  'command.succeeded',
  'command.failed',
  'command.rolled_back',
  'command.timed_out',
  'update_server.created',
  'update_server.updated',
  'update_server.removed',
  'image_version.labelled',
  'image_version.recommended',
  'image_version.unrecommended',
  'image_version.blocked',
  'image_version.unblocked',
  // rollouts: every transition (actor: the operator, or the system for the scheduler's own)
  'rollout.created',
  'rollout.started',
  'rollout.paused',
  'rollout.resumed',
  'rollout.batch_approved',
  'rollout.aborted',
  'rollout.failed',
  'rollout.completed',
  'rollout.retried',
  'rollout.reverted',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The entities of the closed list (`device`, `command`, ...): a filter may ask for all of one. */
export const AUDIT_ENTITIES = [
  ...new Set(AUDIT_ACTIONS.map((action) => action.split('.')[0] ?? '')),
];
