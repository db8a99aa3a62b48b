import type { ServiceContext } from '../context';
import { describeDatabaseFailure } from './database-unavailable';

/** /healthz answers within this even when PostgreSQL is frozen (the pool's own bounds are longer). */
export const HEALTH_CHECK_TIMEOUT_MS = 2_500;

export type DatabaseHealth = { ok: true } | { ok: false; reason: string };

/** One round trip: /healthz answers ok only while PostgreSQL answers, in time. */
export async function checkDatabase(
  ctx: Pick<ServiceContext, 'db'>,
  timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
): Promise<DatabaseHealth> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<DatabaseHealth>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `PostgreSQL did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  const probe = ctx.db.$queryRaw`select 1`.then(
    (): DatabaseHealth => ({ ok: true }),
    (error: unknown): DatabaseHealth => ({ ok: false, reason: describeDatabaseFailure(error) }),
  );
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
