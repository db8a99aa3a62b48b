// How many commands there are of each kind in each state: one grouped query, for /metrics.
import type { Db } from '@eos-fleet/db';
import { fromPrismaKind } from './command-kinds';

export async function countCommandsByKindAndState(db: Db) {
  const groups = await db.command.groupBy({ by: ['kind', 'state'], _count: { _all: true } });
  return groups.map((group) => ({
    kind: fromPrismaKind(group.kind),
    state: group.state,
    count: group._count._all,
  }));
}
