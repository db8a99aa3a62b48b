// The rollout bench's server process: the real web app server with the device gateway (without
// Next) and the real job runner (pg-boss: the rollout sweep, wake-ups, timers), as one production
// process runs them (pools of 20 for the gateway, 4 for the jobs). argv: DATABASE_URL. Prints `LISTENING <port>`.
// Every rollout tick the job runner runs is measured (JobRunnerOptions.aroundTick) and reported to
// the parent over IPC as a `tick` message:
//   - its wall time (the decision transaction and the applies it sends);
//   - the SQL statements it sent: a counting wrapper on pg's Client#query (the driver under
//     Prisma's adapter and pg-boss), attributed to the tick through AsyncLocalStorage, so the
//     gateway's and pg-boss's statements running meanwhile are not counted;
//   - its decisions: the rollout's devices whose state or reason the tick changed, from a snapshot
//     of (state, skipReason) before and after it (read outside the tick, on a separate client).
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import pino from 'pino';
import { createPrismaClient } from '@eos-fleet/db';
import { createAuth } from '../../apps/web/src/server/auth/create-auth';
import { startFleetServer } from '../../apps/web/src/server/http/fleet-server';
import { startJobRunner } from '../../apps/web/src/server/jobs/job-runner';

export interface TickReport {
  type: 'tick';
  rolloutId: string;
  outcome: string;
  startedAt: number;
  ms: number;
  statements: number;
  /** statements by their first words (INSERT INTO "command" ...), for the doc's table */
  byKind: Record<string, number>;
  /** the time from sending each kind to its answer, summed (ms; pool waits are not in it) */
  msByKind: Record<string, number>;
  sent: number;
  decisions: { claimed: number; held: number; succeeded: number; skipped: number; failed: number };
  /** pending -> scheduled when a batch starts (one set-based UPDATE; not counted as decisions) */
  released: number;
}

const [url] = process.argv.slice(2);
if (!url) throw new Error('usage: rollout-server.ts DATABASE_URL');

interface TickCounter {
  statements: number;
  byKind: Map<string, number>;
  msByKind: Map<string, number>;
}
const inTick = new AsyncLocalStorage<TickCounter>();

/** `INSERT INTO "public"."command"` -> `INSERT command`; `SELECT ... FROM "public"."device"` -> `SELECT device` */
function kindOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const verb = (/^\w+/.exec(flat)?.[0] ?? '?').toUpperCase();
  const table =
    verb === 'SELECT'
      ? /\bFROM "?(?:public"?\."?)?(\w+)/i.exec(flat)?.[1]
      : verb === 'INSERT'
        ? /\bINTO "?(?:public"?\."?)?(\w+)/i.exec(flat)?.[1]
        : verb === 'UPDATE'
          ? /^UPDATE "?(?:public"?\."?)?(\w+)/i.exec(flat)?.[1]
          : verb === 'DELETE'
            ? /\bFROM "?(?:public"?\."?)?(\w+)/i.exec(flat)?.[1]
            : undefined;
  if (verb === 'SELECT' && /pg_notify/.test(flat)) return 'SELECT pg_notify';
  if (verb === 'SELECT' && /pg_try_advisory_xact_lock/.test(flat)) return 'SELECT advisory lock';
  return table ? `${verb} ${table}` : verb;
}

// the counting wrapper: every statement any pg client of this process sends
// eslint-disable-next-line @typescript-eslint/unbound-method -- applied with its own `this` below
const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
  const counter = inTick.getStore();
  if (counter) {
    const first = args[0];
    const text =
      typeof first === 'string'
        ? first
        : first && typeof first === 'object' && 'text' in first
          ? String(first.text)
          : '?';
    counter.statements++;
    const kind = kindOf(text);
    counter.byKind.set(kind, (counter.byKind.get(kind) ?? 0) + 1);
    const t0 = performance.now();
    const answer = query.apply(this, args);
    if (answer instanceof Promise)
      void answer.then(
        () =>
          counter.msByKind.set(kind, (counter.msByKind.get(kind) ?? 0) + performance.now() - t0),
        () => undefined,
      );
    return answer;
  }
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

const logger = pino({ level: 'warn' });
// the pool of a production web process (apps/web/src/server/start.ts)
const db = createPrismaClient(url, { poolSize: 20 });
// and, as there, the jobs' own pool
const jobsDb = createPrismaClient(url, { poolSize: 4 });
// the decision snapshots' own connection (outside every tick, not counted)
const observer = new pg.Client({ connectionString: url, application_name: 'bench-observer' });
await observer.connect();
const auth = createAuth({
  db,
  secret: 'rollout-bench-secret-rollout-bench-secret',
  baseUrl: 'http://localhost',
  trustedOrigins: [],
});
const fleet = await startFleetServer({
  db,
  auth,
  logger,
  databaseUrl: url,
  gateway: { gatewayId: `bench-${process.pid}` },
  allowedOrigins: new Set(),
  secure: false,
  production: true,
  host: '127.0.0.1',
  port: 0,
});

type Snapshot = Map<string, { state: string; reason: string | null }>;
async function snapshot(rolloutId: string): Promise<Snapshot> {
  const { rows } = await observer.query<{ id: string; state: string; reason: string | null }>(
    `select id, state::text as state, "skipReason" as reason from rollout_device where "rolloutId" = $1`,
    [rolloutId],
  );
  return new Map(rows.map((r) => [r.id, { state: r.state, reason: r.reason }]));
}

function decisionsBetween(before: Snapshot, after: Snapshot) {
  const decisions = { claimed: 0, held: 0, succeeded: 0, skipped: 0, failed: 0 };
  let released = 0;
  for (const [id, now] of after) {
    const was = before.get(id);
    if (!was || (was.state === now.state && was.reason === now.reason)) continue;
    if (was.state === 'pending' && now.state === 'scheduled') released++;
    else if (now.state === 'applying' && was.state !== 'applying') decisions.claimed++;
    else if (now.state === 'succeeded') decisions.succeeded++;
    else if (now.state === 'skipped') decisions.skipped++;
    else if (now.state === 'failed' || now.state === 'timed_out') decisions.failed++;
    else if (now.state === 'scheduled') decisions.held++;
  }
  return { decisions, released };
}

const jobs = await startJobRunner({
  db: jobsDb,
  databaseUrl: url,
  logger,
  async aroundTick(rolloutId, tick) {
    const before = await snapshot(rolloutId);
    const counter: TickCounter = { statements: 0, byKind: new Map(), msByKind: new Map() };
    const startedAt = Date.now();
    const t0 = performance.now();
    const outcome = await inTick.run(counter, tick);
    const ms = performance.now() - t0;
    const { decisions, released } = decisionsBetween(before, await snapshot(rolloutId));
    const report: TickReport = {
      type: 'tick',
      rolloutId,
      outcome: outcome.outcome,
      startedAt,
      ms,
      statements: counter.statements,
      byKind: Object.fromEntries(counter.byKind),
      msByKind: Object.fromEntries(counter.msByKind),
      sent: outcome.sent,
      decisions,
      released,
    };
    process.send?.(report);
    return outcome;
  },
});

process.stdout.write(`LISTENING ${fleet.port}\n`);
const stop = async () => {
  await jobs.stop();
  await fleet.close();
  await observer.end();
  await jobsDb.$disconnect();
  await db.$disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('disconnect', () => void stop());
