// Prisma spells `flake.register` as `flake_register` (its enum names cannot hold a dot).
import type { CommandKind } from '@eos-fleet/shared/domain';

export type PrismaCommandKind =
  | 'check'
  | 'apply'
  | 'rollback'
  | 'flake_register'
  | 'flake_remove'
  | 'flake_pull'
  | 'inventory_refresh';

export function toPrismaKind(kind: CommandKind): PrismaCommandKind {
  return kind.replace('.', '_') as PrismaCommandKind;
}
export function fromPrismaKind(kind: PrismaCommandKind): CommandKind {
  return kind.replace('_', '.') as CommandKind;
}
