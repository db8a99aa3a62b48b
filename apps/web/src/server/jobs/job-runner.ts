// The fleet's durable jobs, on pg-boss (its own schema `pgboss` in the fleet's database).
//
// Why pg-boss rather than a timer loop in every process or graphile-worker: the work here is
// "once per interval fleet-wide" (the command deadline sweep), "at most one at a time per key"
// (a rollout's tick) and "later, surviving a restart" (soak ends, window openings, retry backoff).
// pg-boss gives all three on the PostgreSQL we already run: queue policies (`stately`: at most one
// queued and one active job per singleton key, enforced by a unique index, so N processes sending
// the same tick produce one job), throttling slots (`singletonSeconds`), `startAfter` timers
// stored as rows (a restart loses none), retries with backoff, and SKIP LOCKED fetching across
// processes. A hand loop would re-implement each of these; graphile-worker has the same model but
// no queue policies (exclusivity would be our own advisory locks) and is not installed here.
import type { Db } from '@eos-fleet/db';
import PgBoss from 'pg-boss';
import pg from 'pg';
import type { Logger } from '../logger';
import { trackDatabase } from '../metrics';
import { expireOverdueCommands } from '../services/commands/command-lifecycle';
import { noteChange } from '../services/events/change-notices';
import { activeRolloutIds } from '../services/rollouts/rollouts';
import { tickRollout, type TickOutcome } from '../services/rollouts/rollout-scheduler';
import { ROLLOUT_WAKE_CHANNEL } from '../services/rollouts/rollout-wake';

export const JOB_SCHEMA = 'pgboss';

/** queue names: one place */
export const QUEUES = {
  commandDeadlineSweep: 'command-deadline-sweep',
  /** offers a tick of every active rollout (once per slot fleet-wide) */
  rolloutSweep: 'rollout-sweep',
  /** one rollout's decision round: at most one queued and one running per rollout */
  rolloutTick: 'rollout-tick',
  /** a rollout's time-driven wake-up (soak end, retry, window opening) */
  rolloutTimer: 'rollout-timer',
} as const;

export interface JobRunnerOptions {
  db: Db;
  databaseUrl: string;
  logger: Logger;
  /** how often the command deadline sweep runs, fleet-wide (not per process) */
  sweepMs?: number;
  /** how often every active rollout ticks anyway (command results and reconnects are seen then) */
  rolloutTickMs?: number;
  /** more queues and their workers, registered after the built-in ones (rollouts) */
  register?: (boss: PgBoss) => Promise<void>;
  /** runs around every rollout tick (the rollout bench times and counts them); default: runs it */
  aroundTick?: (rolloutId: string, tick: () => Promise<TickOutcome>) => Promise<TickOutcome>;
}

export interface JobRunner {
  boss: PgBoss;
  /** sends this process's share of the periodic jobs now (tests use it to not wait a slot) */
  nudge(): Promise<void>;
  /** asks for a tick of one rollout now (after an operator's action) */
  tickSoon(rolloutId: string): Promise<void>;
  stop(): Promise<void>;
}

// pg-boss polls no faster than every 500 ms and throttles in whole seconds
const MIN_POLL_SECONDS = 0.5;

export async function startJobRunner(options: JobRunnerOptions): Promise<JobRunner> {
  const { db, logger } = options;
  const log = logger.child({ component: 'jobs' });
  // its pool (its own in production: start.ts) is in /metrics with the gateway's
  const untrack = trackDatabase(db);
  const sweepMs = options.sweepMs ?? 5_000;
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: JOB_SCHEMA,
    // pg-boss's own pool: small, the jobs are short
    max: 4,
    application_name: 'eos-fleet-jobs',
    // a job left active by a process that died expires at the next maintenance: with `stately`
    // queues it would otherwise hold its key (no sweep, no tick of that rollout) until then
    maintenanceIntervalSeconds: 15,
  });
  boss.on('error', (error) => log.warn({ err: error }, 'job runner error'));
  await boss.start();

  // `stately`: one queued and one active sweep at most, whichever process sent or runs it
  await boss.createQueue(QUEUES.commandDeadlineSweep, {
    name: QUEUES.commandDeadlineSweep,
    policy: 'stately',
    retryLimit: 0,
    expireInSeconds: 30,
    retentionMinutes: 10,
  });
  await boss.work(
    QUEUES.commandDeadlineSweep,
    { pollingIntervalSeconds: Math.max(MIN_POLL_SECONDS, sweepMs / 1000) },
    async () => {
      await expireOverdueCommands(db);
    },
  );
  // rollouts: `stately` per rollout key, so ticks of one rollout never pile up nor overlap
  // (the tick's advisory lock makes an overlap harmless anyway); timers are plain delayed jobs
  await boss.createQueue(QUEUES.rolloutTick, {
    name: QUEUES.rolloutTick,
    policy: 'stately',
    retryLimit: 3,
    retryDelay: 1,
    retryBackoff: true,
    // a tick's transaction is bounded at 60 s
    expireInSeconds: 90,
    retentionMinutes: 30,
  });
  await boss.createQueue(QUEUES.rolloutTimer, {
    name: QUEUES.rolloutTimer,
    policy: 'standard',
    retentionMinutes: 60,
  });
  await boss.createQueue(QUEUES.rolloutSweep, {
    name: QUEUES.rolloutSweep,
    policy: 'stately',
    retryLimit: 0,
    expireInSeconds: 30,
    retentionMinutes: 10,
  });
  const rolloutTickMs = options.rolloutTickMs ?? 5_000;
  const aroundTick = options.aroundTick ?? ((_rolloutId, tick) => tick());
  const tickSoon = (rolloutId: string) =>
    boss.send(QUEUES.rolloutTick, { rolloutId }, { singletonKey: rolloutId }).then(() => undefined);
  await boss.work<{ rolloutId: string }>(
    QUEUES.rolloutTick,
    { pollingIntervalSeconds: MIN_POLL_SECONDS, batchSize: 4 },
    async (jobs) => {
      for (const job of jobs) {
        const { rolloutId } = job.data;
        const outcome = await aroundTick(rolloutId, () => tickRollout(db, rolloutId));
        // claims write no event of their own: the rollout's views hear of the applies sent here
        if (outcome.sent) noteChange('rollouts');
        if (outcome.nextAt)
          await boss.send(
            QUEUES.rolloutTimer,
            { rolloutId: job.data.rolloutId },
            {
              startAfter: outcome.nextAt,
              // a duplicate timer (two ticks computed the same instant) costs one idle tick
              singletonKey: `${job.data.rolloutId}:${outcome.nextAt.getTime()}`,
            },
          );
      }
    },
  );
  await boss.work<{ rolloutId: string }>(
    QUEUES.rolloutTimer,
    { pollingIntervalSeconds: MIN_POLL_SECONDS },
    async ([job]) => {
      if (job) await tickSoon(job.data.rolloutId);
    },
  );
  await boss.work(
    QUEUES.rolloutSweep,
    { pollingIntervalSeconds: Math.max(MIN_POLL_SECONDS, rolloutTickMs / 1000) },
    async () => {
      for (const id of await activeRolloutIds(db)) await tickSoon(id);
    },
  );
  if (options.register) await options.register(boss);

  // Every process offers the sweep each interval; the throttling slot (singletonSeconds) and the
  // stately key keep it to one job per slot fleet-wide. A process that dies takes no timer with it.
  const slotSeconds = Math.max(1, Math.round(sweepMs / 1000));
  const offerSweep = () =>
    boss
      .send(
        QUEUES.commandDeadlineSweep,
        {},
        { singletonKey: 'sweep', singletonSeconds: slotSeconds },
      )
      .then(() => undefined)
      .catch((error: unknown) => log.warn({ err: error }, 'offering the deadline sweep failed'));
  void offerSweep();
  const timer = setInterval(() => void offerSweep(), sweepMs);
  timer.unref();
  const rolloutSlot = Math.max(1, Math.round(rolloutTickMs / 1000));
  const offerRolloutSweep = () =>
    boss
      .send(QUEUES.rolloutSweep, {}, { singletonKey: 'rollouts', singletonSeconds: rolloutSlot })
      .then(() => undefined)
      .catch((error: unknown) => log.warn({ err: error }, 'offering the rollout sweep failed'));
  void offerRolloutSweep();
  const rolloutTimer = setInterval(() => void offerRolloutSweep(), rolloutTickMs);
  rolloutTimer.unref();

  // rollout wake-ups (services/rollouts/rollout-wake.ts: created, an action, a command of the
  // rollout changing state) tick that rollout at once; a lost connection only delays that to the periodic tick
  const woken = new Set<string>();
  let wakeTimer: NodeJS.Timeout | undefined;
  const flushWakes = () => {
    wakeTimer = undefined;
    const ids = [...woken];
    woken.clear();
    for (const id of ids)
      tickSoon(id).catch((error: unknown) => log.warn({ err: error }, 'waking a rollout failed'));
  };
  let listener: pg.Client | undefined;
  let stopped = false;
  const listen = async () => {
    if (stopped) return;
    const client = new pg.Client({
      connectionString: options.databaseUrl,
      application_name: 'eos-fleet-jobs',
    });
    client.on('notification', (message) => {
      if (message.channel !== ROLLOUT_WAKE_CHANNEL || !message.payload) return;
      log.debug({ rolloutId: message.payload }, 'rollout wake-up');
      woken.add(message.payload);
      // a burst (a gateway marking many devices offline) becomes one send per rollout
      wakeTimer ??= setTimeout(flushWakes, 100);
    });
    const retry = () => {
      if (listener !== client) return;
      listener = undefined;
      client.end().catch(() => undefined);
      if (!stopped) setTimeout(() => void listen(), 1_000).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    listener = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${ROLLOUT_WAKE_CHANNEL}`);
      log.debug('listening for rollout wake-ups');
    } catch (error) {
      log.warn({ err: error }, 'listening for rollout wake-ups failed');
      retry();
    }
  };
  await listen();

  return {
    boss,
    async nudge() {
      await Promise.all([offerSweep(), offerRolloutSweep()]);
    },
    tickSoon,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearInterval(rolloutTimer);
      if (wakeTimer) clearTimeout(wakeTimer);
      const client = listener;
      listener = undefined;
      await client?.end().catch(() => undefined);
      // graceful: running jobs finish (they are short); wait so the pool is closed on return
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 });
      untrack();
    },
  };
}
