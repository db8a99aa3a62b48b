// A real database (cloned from the migrated template) and a real auth instance for one test file.
import { createPrismaClient, type Db } from '@eos-fleet/db';
import { createTestDatabase } from '@eos-fleet/db/testing/test-database';
import pino, { type Logger } from 'pino';
import { inject } from 'vitest';
import { createAuth } from '../auth/create-auth';
import { startFleetServer } from '../http/fleet-server';
import { startJobRunner, type JobRunnerOptions } from '../jobs/job-runner';
import { createCaller } from '../api/root';
import type { SessionOperator } from '../api/trpc';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { SYSTEM_ACTOR } from '../services/context';
import type { AttemptLimits } from '../services/operators/auth-attempts';
import { createOperator } from '../services/operators/create-operator';

/** `databaseUrl`: a migrated database of the test's own (e.g. on a cluster it stops and starts). */
export async function createTestApp(options: { databaseUrl?: string } = {}) {
  const database = options.databaseUrl
    ? { url: options.databaseUrl, drop: () => Promise.resolve() }
    : await createTestDatabase(inject('postgresAdminUrl'));
  const db = createPrismaClient(database.url, { poolSize: 4 });
  const auth = createAuth({
    db,
    secret: 'test-secret-test-secret-test-secret-123',
    baseUrl: 'http://localhost',
    trustedOrigins: [],
  });

  /** An operator with a known password, ready to use. */
  async function addOperator(
    role: OperatorRole,
    email = `${role}-${Math.random().toString(36).slice(2, 8)}@test.local`,
  ) {
    const password = 'correct horse battery';
    const { operator } = await createOperator(
      { db, actor: SYSTEM_ACTOR },
      { email, name: role, role, password },
    );
    return { ...operator, password };
  }

  /** A tRPC caller acting as `operator` (or nobody). */
  function callerFor(operator: SessionOperator | null) {
    return createCaller({
      db,
      auth,
      operator,
      sessionToken: operator ? 'test-session' : null,
      ipAddress: '127.0.0.1',
    });
  }

  /**
   * The HTTP server without Next (pages answer 404), on an ephemeral port, with the device
   * gateway and its LISTEN connection as in production (short intervals for tests).
   */
  async function listen(
    gatewayOptions: {
      heartbeatMs?: number;
      handshakeTimeoutMs?: number;
      flushMs?: number;
      sweepMs?: number;
      /** how often active rollouts tick (default here: 500 ms) */
      rolloutTickMs?: number;
      /** a fixed port, to restart a server where its agents will look for it */
      port?: number;
      trustedProxies?: readonly string[];
      signInLimits?: AttemptLimits;
      apiTokenLimits?: AttemptLimits;
      /** to read what the server logs (default: silent) */
      logger?: Logger;
      /** more job queues and workers (rollouts) */
      registerJobs?: JobRunnerOptions['register'];
    } = {},
  ) {
    const {
      port = 0,
      sweepMs = 200,
      rolloutTickMs = 500,
      trustedProxies,
      signInLimits,
      apiTokenLimits,
      logger = pino({ level: 'silent' }),
      registerJobs,
      ...tuning
    } = gatewayOptions;
    const fleet = await startFleetServer({
      db,
      auth,
      logger,
      databaseUrl: database.url,
      gateway: {
        gatewayId: `test-${Math.random().toString(36).slice(2, 8)}`,
        flushMs: 100,
        ...tuning,
      },
      allowedOrigins: new Set(),
      secure: false,
      trustedProxies,
      signInLimits,
      apiTokenLimits,
      production: true,
      host: '127.0.0.1',
      port,
    });
    // the fleet-wide jobs (deadline sweep, rollout ticks) run beside it, as in production
    const jobs = await startJobRunner({
      db,
      databaseUrl: database.url,
      logger,
      sweepMs,
      rolloutTickMs,
      register: registerJobs,
    }).catch(async (error: unknown) => {
      await fleet.close();
      throw error;
    });
    return {
      baseUrl: `http://127.0.0.1:${fleet.port}`,
      gateway: fleet.gateway,
      /** the live-update fan-out and this process's change-notice publisher */
      changes: fleet.changes,
      publisher: fleet.publisher,
      jobs,
      async close() {
        await jobs.stop();
        await fleet.close();
      },
    };
  }

  return {
    url: database.url,
    db: db as Db,
    auth,
    addOperator,
    callerFor,
    listen,
    async close() {
      await db.$disconnect();
      await database.drop();
    },
  };
}
