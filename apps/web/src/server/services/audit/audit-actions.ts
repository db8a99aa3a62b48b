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
  'command.created',
  'command.cancelled',
  'command.cancel_requested',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
