// The rollout scheduler's tick alone at fleet scale (issue 9): how many decisions one tick makes
// per second, with nothing else on the cores or the pool. N seeded, accepted, online devices
// (facts, labels, a workload each) in one rollout (one batch of 100 %, a concurrency cap) on a
// real embedded PostgreSQL, ticked in this process by the real tickRollout; no agents, no gateway
// (bench/rollout-schedule.ts measures the whole loop with them). Each fleet size runs the same
// ticks in order:
//   claim:  the first tick: the batch starts, `cap` devices are claimed and sent, the rest held;
//   idle:   nothing changed: every waiting device is read and keeps its reason;
//   settle: the `cap` applies succeeded (command and reported hash set in SQL): they succeed, the
//           next `cap` devices are claimed and sent.
// Decisions: rollout devices whose (state, reason) the tick changed; statements: every statement
// the process sent during the tick (pg's Client#query, counted). A small fleet first, in the same
// run, is the baseline for how a tick scales.
//   npm run bench:tick -w @eos-fleet/bench -- [--devices 10000] [--baseline 1000] [--cap 500] [--no-write]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { applyMigrations, createPrismaClient, startEmbeddedPostgres, type Db } from '@eos-fleet/db';
import { SYSTEM_ACTOR } from '../apps/web/src/server/services/context';
import { createRollout } from '../apps/web/src/server/services/rollouts/rollouts';
import { tickRollout } from '../apps/web/src/server/services/rollouts/rollout-scheduler';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    baseline: { type: 'string', default: '1000' },
    cap: { type: 'string', default: '500' },
    'no-write': { type: 'boolean', default: false },
  },
});
const DEVICES = Number(values.devices);
const BASELINE = Number(values.baseline);
const CAP = Number(values.cap);
for (const [name, value] of Object.entries({ DEVICES, BASELINE, CAP }))
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const BENCHMARKS_MD = join(resolve(BENCH_DIR, '..'), 'docs', 'BENCHMARKS.md');
const SECTION_START = '<!-- bench:rollout-tick -->';
const SECTION_END = '<!-- /bench:rollout-tick -->';
const SSH = 'fleet@127.0.0.1';
const MiB = 1024 * 1024;
const OLD = 'a'.repeat(40);

// every statement this process sends while `counting` (the ticks run one at a time)
let counting = false;
let statements = 0;
// eslint-disable-next-line @typescript-eslint/unbound-method -- applied with its own `this` below
const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
pg.Client.prototype.query = function counted(this: pg.Client, ...args: unknown[]) {
  if (counting) statements++;
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

interface TickFigures {
  tick: string;
  ms: number;
  statements: number;
  decisions: number;
  sent: number;
}

async function snapshot(db: Db, rolloutId: string) {
  const rows = await db.$queryRaw<{ id: string; state: string; reason: string | null }[]>`
    SELECT "id"::text AS "id", "state"::text AS "state", "skipReason" AS "reason"
      FROM "rollout_device" WHERE "rolloutId" = ${rolloutId}::uuid`;
  return new Map(rows.map((r) => [r.id, `${r.state}\u0000${r.reason ?? ''}`]));
}

async function runFleet(db: Db, devices: number): Promise<TickFigures[]> {
  const tag = randomBytes(3).toString('hex');
  const server = await db.updateServer.create({
    data: {
      name: `edge-${tag}`,
      sshTarget: SSH,
      httpUrl: 'http://127.0.0.1:1',
      maxConcurrentApplies: 100_000,
    },
  });
  const image = await db.image.create({
    data: { updateServerId: server.id, name: `EOS.${tag}-AB`, arch: 'x86_64', profile: 'AB' },
  });
  await db.$executeRaw`
    INSERT INTO "device" ("id", "name", "status", "publicKey", "labels", "facts", "flakes",
      "rootPrefixHash", "imageName", "arch", "profile", "slotSize", "updateServerId",
      "acceptedAt", "inventoryAt", "createdAt", "updatedAt")
    SELECT gen_random_uuid(), ${tag} || '-' || lpad(n::text, 6, '0'), 'accepted', ${tag} || n,
      jsonb_build_object('fleet', ${tag}::text, 'site', 'site-' || (n % 50)),
      jsonb_build_object('updateServer', ${SSH}::text, 'kernel', '6.4.0-150600.23.7-default',
        'cpus', 4, 'memoryBytes', 1073741824, 'hostname', ${tag} || '-' || n,
        'osRelease', 'EOS 1.0.0'),
      '[{"name":"web","kind":"container","image":"registry.local/web:1"}]'::jsonb,
      ${OLD}, ${`EOS.${tag}-AB`}, 'x86_64', 'AB', ${BigInt(64 * MiB)}, ${server.id}::uuid,
      now(), now(), now(), now()
    FROM generate_series(1, ${devices}) AS n`;
  await db.$executeRaw`
    INSERT INTO "device_presence" ("deviceId", "online", "connectedAt", "lastSeenAt")
    SELECT "id", true, now(), now() FROM "device" WHERE "labels"->>'fleet' = ${tag}`;
  await db.$executeRaw`ANALYZE`;
  const version = await db.imageVersion.create({
    data: {
      imageId: image.id,
      rootPrefixHash: randomBytes(20).toString('hex'),
      imageSha1: randomBytes(20).toString('hex'),
      rootSha256: randomBytes(32).toString('hex'),
      rootPartitionSize: BigInt(8 * MiB),
      label: '2.0.0',
    },
  });
  const { id } = await createRollout(
    { db, actor: SYSTEM_ACTOR },
    {
      name: `tick bench ${devices}`,
      imageVersionId: version.id,
      target: { labels: { fleet: tag } },
      batches: [{ percent: 100 }],
      maxConcurrentPerServer: CAP,
    },
  );
  const figures: TickFigures[] = [];
  const tick = async (name: string) => {
    const before = await snapshot(db, id);
    statements = 0;
    counting = true;
    const t0 = performance.now();
    const outcome = await tickRollout(db, id);
    const ms = performance.now() - t0;
    counting = false;
    const after = await snapshot(db, id);
    let decisions = 0;
    for (const [member, now] of after) if (before.get(member) !== now) decisions++;
    figures.push({ tick: name, ms, statements, decisions, sent: outcome.sent });
    process.stdout.write(
      `  ${devices} devices, ${name}: ${ms.toFixed(0)} ms, ${decisions} decisions, ${statements} statements, ${outcome.sent} sent\n`,
    );
  };
  await tick('claim');
  await tick('idle');
  await db.$executeRaw`
    UPDATE "command" SET "state" = 'succeeded', "completedAt" = now()
     WHERE "rolloutId" = ${id}::uuid`;
  await db.$executeRaw`
    UPDATE "device" d SET "rootPrefixHash" = ${version.rootPrefixHash}
      FROM "rollout_device" rd
     WHERE rd."deviceId" = d."id" AND rd."rolloutId" = ${id}::uuid AND rd."state" = 'applying'`;
  await tick('settle');
  // the rollout is done with: its devices take no part in the next fleet's
  await db.$executeRaw`UPDATE "rollout" SET "state" = 'aborted' WHERE "id" = ${id}::uuid`;
  return figures;
}

const loadBefore = loadavg();
const dir = mkdtempSync(join(tmpdir(), 'rollout-tick-'));
const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
const results = new Map<number, TickFigures[]>();
try {
  const admin = createPrismaClient(postgres.url, { poolSize: 1 });
  await admin.$executeRawUnsafe('create database fleet');
  await admin.$disconnect();
  const url = postgres.urlFor('fleet');
  await applyMigrations(url);
  // the job runner's pool in production (apps/web/src/server/start.ts)
  const db = createPrismaClient(url, { poolSize: 4 });
  try {
    for (const devices of [BASELINE, DEVICES]) results.set(devices, await runFleet(db, devices));
  } finally {
    await db.$disconnect();
  }
} finally {
  await postgres.stop();
  rmSync(dir, { recursive: true, force: true });
}
const loadAfter = loadavg();

const rows = [...results].flatMap(([devices, ticks]) =>
  ticks.map(
    (t) =>
      `| ${devices} | ${t.tick} | ${t.ms.toFixed(0)} | ${t.decisions} | ${Math.round((t.decisions * 1000) / t.ms)} | ${t.statements} | ${t.sent} |`,
  ),
);
const section = [
  SECTION_START,
  `Machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after. Cap ${CAP}; pool 4 (the job runner's).`,
  '',
  '| devices | tick | ms | decisions | decisions per s | statements | applies sent |',
  '|---|---|---|---|---|---|---|',
  ...rows,
  SECTION_END,
].join('\n');
process.stdout.write(`\n${section}\n`);
if (!values['no-write']) {
  const doc = readFileSync(BENCHMARKS_MD, 'utf8');
  const start = doc.indexOf(SECTION_START);
  const end = doc.indexOf(SECTION_END);
  if (start < 0 || end < 0) throw new Error(`${BENCHMARKS_MD} lacks the ${SECTION_START} markers`);
  writeFileSync(
    BENCHMARKS_MD,
    `${doc.slice(0, start)}${section}${doc.slice(end + SECTION_END.length)}`,
  );
  process.stdout.write(`written to ${BENCHMARKS_MD}\n`);
}
