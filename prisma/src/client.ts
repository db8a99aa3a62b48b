import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/client/client';

export type Db = PrismaClient;

/**
 * Bounds on every wait for PostgreSQL, so a frozen or unreachable server makes requests fail in
 * seconds instead of hanging. Migrations run with their own client and none of these.
 */
export const DATABASE_TIMEOUTS = {
  /** opening a connection, and waiting for a free one when the pool is exhausted */
  acquireMs: 3_000,
  /** the server ends a statement running longer (a dashboard query is milliseconds) */
  statementMs: 4_000,
  /** the client gives up on an answer: the server may be frozen, not just slow */
  queryMs: 5_000,
  /** a transaction left open by a stalled process releases its locks */
  idleInTransactionMs: 15_000,
} as const;

export interface PrismaClientOptions {
  poolSize?: number;
  timeouts?: Partial<Record<keyof typeof DATABASE_TIMEOUTS, number>>;
}

/** One client per process: the pg pool behind it is the connection budget. */
export function createPrismaClient(
  url: string,
  { poolSize = 10, timeouts = {} }: PrismaClientOptions = {},
): PrismaClient {
  const bounds = { ...DATABASE_TIMEOUTS, ...timeouts };
  // our own pool (ended with the client), so /metrics can read how busy it is
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: bounds.acquireMs,
    statement_timeout: bounds.statementMs,
    query_timeout: bounds.queryMs,
    idle_in_transaction_session_timeout: bounds.idleInTransactionMs,
    // Prisma stores DateTime as UTC in columns without a zone; raw SQL's now() and ::timestamptz
    // parameters are converted with the session's zone, so it is UTC whatever the server's is
    options: '-c TimeZone=UTC',
  });
  const client = new PrismaClient({
    adapter: new PrismaPg(pool, { disposeExternalPool: true }),
  });
  pools.set(client, pool);
  return client;
}

const pools = new WeakMap<PrismaClient, pg.Pool>();

/** The connection pool behind a client made by createPrismaClient: its sizes, for metrics. */
export function poolStatsOf(
  client: object,
): { total: number; idle: number; waiting: number; max: number } | null {
  const pool = pools.get(client as PrismaClient);
  if (!pool) return null;
  return {
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
    max: pool.options.max ?? 10,
  };
}
