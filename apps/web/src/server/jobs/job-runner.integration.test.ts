// The job runner on a real PostgreSQL: several processes offering the deadline sweep make one job
// per slot fleet-wide, and a stopped runner leaves nothing running.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';
import { eventually } from '../testing/eventually';
import { JOB_SCHEMA, QUEUES, startJobRunner, type JobRunner } from './job-runner';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

describe('job runner (pg-boss)', () => {
  let app: TestApp;
  const runners: JobRunner[] = [];

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(async () => {
    for (const runner of runners) await runner.stop();
    await app.close();
  });

  it('three processes offering the sweep many times run it once per 1 s slot fleet-wide', async () => {
    const logger = pino({ level: 'silent' });
    for (let i = 0; i < 3; i++)
      runners.push(
        await startJobRunner({ db: app.db, databaseUrl: app.url, logger, sweepMs: 1_000 }),
      );
    // offer many times from each process within the slots
    for (let i = 0; i < 5; i++) await Promise.all(runners.map((runner) => runner.nudge()));
    const slots = () =>
      app.db.$queryRawUnsafe<{ slot: Date; jobs: number; done: number }[]>(
        `SELECT singleton_on AS slot, count(*)::int AS jobs,
                count(*) FILTER (WHERE state = 'completed')::int AS done
           FROM ${JOB_SCHEMA}.job WHERE name = $1 GROUP BY singleton_on ORDER BY singleton_on`,
        QUEUES.commandDeadlineSweep,
      );
    const seen = await eventually(slots, (rows) => rows.filter((row) => row.done > 0).length >= 3);
    for (const row of seen) expect(row.jobs).toBe(1);
  });

  it('stops cleanly: no pg-boss connection left open', async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    // the server ends a backend a moment after its client closed the socket
    const open = await eventually(
      () =>
        app.db.$queryRawUnsafe<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'eos-fleet-jobs' AND datname = current_database()`,
        ),
      (rows) => rows[0]?.n === 0,
    );
    expect(open[0]?.n).toBe(0);
  });
});
