import type { Db } from '@eos-fleet/db';
import { SYSTEM_ACTOR } from '../context';
import { createOperator } from './create-operator';

/**
 * On first start with no operator at all, create the admin. Returns the one-time password to
 * print once (none when a password was configured or operators already exist).
 */
export async function ensureInitialAdmin(
  db: Db,
  { email, password }: { email: string; password?: string },
) {
  if ((await db.operator.count()) > 0) return { created: false as const };
  const { operator, oneTimePassword } = await createOperator(
    { db, actor: SYSTEM_ACTOR },
    { email, name: 'Administrator', role: 'admin', password },
  );
  return { created: true as const, email: operator.email, oneTimePassword };
}
