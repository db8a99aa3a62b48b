// Who may do what: one table, checked on the server by the procedure builders in trpc.ts and
// sent to the browser only to hide what a role cannot do.
import type { OperatorRole } from '@eos-fleet/shared/domain';

const ALL: readonly OperatorRole[] = ['admin', 'operator', 'viewer'];
const OPERATE: readonly OperatorRole[] = ['admin', 'operator'];
const ADMIN: readonly OperatorRole[] = ['admin'];

export const PERMISSIONS = {
  'fleet.read': ALL,
  'device.read': ALL,
  'device.operate': OPERATE,
  'device.enroll': OPERATE,
  'image.read': ALL,
  'image.manage': OPERATE,
  'updateServer.read': ALL,
  'updateServer.manage': ADMIN,
  'rollout.read': ALL,
  'rollout.manage': OPERATE,
  'audit.read': ALL,
  'operator.read': ALL,
  'operator.manage': ADMIN,
  /** make API tokens (up to one's own role), see and revoke one's own */
  'apiToken.create': ALL,
  /** see and revoke everyone's API tokens */
  'apiToken.manage': ADMIN,
} as const satisfies Record<string, readonly OperatorRole[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: OperatorRole, permission: Permission): boolean {
  return PERMISSIONS[permission].includes(role);
}

export function permissionsOf(role: OperatorRole): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((permission) => can(role, permission));
}
