import type { OperatorRole } from '@eos-fleet/shared/domain';

const RANK: Record<OperatorRole, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAtMost(role: OperatorRole, ceiling: OperatorRole): boolean {
  return RANK[role] <= RANK[ceiling];
}

/** The lesser of two roles: a token never acts above its creator's current role. */
export function lesserRole(a: OperatorRole, b: OperatorRole): OperatorRole {
  return RANK[a] <= RANK[b] ? a : b;
}
