// The rollout scheduler at fleet scale (issue 9): one rollout over N simulated devices, scheduled by
// the real scheduler (apps/web/src/server/services/rollouts/rollout-scheduler.ts) in the real job
// runner (pg-boss sweep, wake-ups) of ONE server process with the device gateway
// (lib/rollout-server.ts), on a real, embedded PostgreSQL. The devices are simulated agents
// (real Ed25519 keys, real WebSockets, the real /agent/v1 protocol: simulated-agent.ts) that
// answer each apply as the agent does: ack, progress (downloading, rebooting), the socket drops
// (kexec), a new connection authenticates, the inventory reports the new root prefix hash, then
// the result `succeeded` until the server says it is stored.
// Per run (devices, cap): scheduling decisions per second of tick time, SQL statements per tick,
// tick p50/p95, and the wall time from creation to `completed`; a small fleet first in the same
// run as the baseline for scaling.
//   npm run bench:rollout -w @eos-fleet/bench -- [--devices 10000] [--baseline 1000]
//     [--caps 500,100] [--apply-ms 2000] [--concurrency 100] [--max-seconds 1800] [--no-write]
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import {
  applyMigrations,
  createPrismaClient,
  startEmbeddedPostgres,
  type Db,
  type RunningPostgres,
} from '@eos-fleet/db';
import type { ServerFrame } from '@eos-fleet/shared/protocol/index';
import { SYSTEM_ACTOR } from '../apps/web/src/server/services/context';
import { createRollout } from '../apps/web/src/server/services/rollouts/rollouts';
import {
  authenticate,
  frameAfter,
  newIdentity,
  sampleInventory,
  type Connection,
  type SimulatedIdentity,
} from '../apps/web/src/server/gateway/testing/simulated-agent';
import type { TickReport } from './lib/rollout-server';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    baseline: { type: 'string', default: '1000' },
    caps: { type: 'string', default: '500,100' },
    'apply-ms': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '100' },
    'max-seconds': { type: 'string', default: '1800' },
    'no-write': { type: 'boolean', default: false },
  },
});
const DEVICES = Number(values.devices);
const BASELINE = Number(values.baseline);
const CAPS = values.caps.split(',').map(Number);
const APPLY_MS = Number(values['apply-ms']);
const CONCURRENCY = Number(values.concurrency);
const MAX_SECONDS = Number(values['max-seconds']);
for (const [name, value] of Object.entries({ DEVICES, BASELINE, CONCURRENCY, MAX_SECONDS }))
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
if (!Number.isInteger(APPLY_MS) || APPLY_MS < 0) throw new Error('--apply-ms must be >= 0');
if (!CAPS.length || CAPS.some((c) => !Number.isInteger(c) || c <= 0))
  throw new Error('--caps: comma-separated positive integers');

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const BENCHMARKS_MD = join(resolve(BENCH_DIR, '..'), 'docs', 'BENCHMARKS.md');
const SECTION_START = '<!-- bench:rollout-schedule -->';
const SECTION_END = '<!-- /bench:rollout-schedule -->';
const DATABASE = 'fleet';
const SSH_TARGET = 'fleet@127.0.0.1';
const IMAGE = 'EOS.x86_64-AB';
const MiB = 1024 * 1024;

const started = Date.now();
function log(message: string) {
  process.stdout.write(
    `[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`,
  );
}
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

// ---------------------------------------------------------------------------------------------
// Cleanup: everything started registers how to stop it; run once, newest first.

const cleanups: { name: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse())
      await step.run().catch((error: unknown) => {
        process.stderr.write(`cleanup of ${step.name} failed: ${String(error)}\n`);
      });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });

// ---------------------------------------------------------------------------------------------
// The server process

interface Server {
  port: number;
  ticks: TickReport[];
  /** its warnings and errors (pino JSON lines) by message */
  logged: Map<string, number>;
  stop(): Promise<void>;
}

async function startServer(databaseUrl: string): Promise<Server> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(BENCH_DIR, 'lib/rollout-server.ts'), databaseUrl],
    { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push({ name: 'server', run: stop });
  const ticks: TickReport[] = [];
  child.on('message', (message) => {
    if ((message as TickReport).type === 'tick') ticks.push(message as TickReport);
  });
  let output = '';
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error('the server did not listen within 90 s')),
      90_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^LISTENING (\d+)/m.exec(output);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the server exited with ${code} before listening:\n${output}`));
    });
  });
  // its warnings (pino JSON) after LISTENING: counted by message for the report
  const logged = new Map<string, number>();
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line || line.startsWith('LISTENING')) continue;
      let message = line.slice(0, 160);
      try {
        const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        const error = entry.err?.message?.replace(/\s+/g, ' ').slice(0, 120);
        message = `${entry.msg ?? ''}${error ? `: ${error}` : ''}`;
      } catch {
        // not JSON: the line itself
      }
      logged.set(message, (logged.get(message) ?? 0) + 1);
    }
  });
  return { port, ticks, logged, stop };
}

// ---------------------------------------------------------------------------------------------
// Simulated agents

interface Agent {
  identity: SimulatedIdentity;
  rootPrefixHash: string;
  connection?: Connection;
  /** command ids already answered (a re-delivered one is not run again) */
  answered: Set<string>;
}

const inventoryOf = (agent: Agent) =>
  sampleInventory({
    rootPrefixHash: agent.rootPrefixHash,
    slotSizeBytes: 64 * MiB,
    updateServer: SSH_TARGET,
    imageName: IMAGE,
  });

let agentErrors = 0;
const agentErrorSamples: string[] = [];
function agentError(error: unknown) {
  agentErrors++;
  if (agentErrorSamples.length < 5)
    agentErrorSamples.push(error instanceof Error ? error.message : String(error));
}

/** Authenticate (retrying as an agent does, jittered) until welcome; then report the inventory. */
async function connectAgent(agent: Agent, baseUrl: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await authenticate(baseUrl, agent.identity);
      // a server too busy for the handshake closes the socket: back off and try again
      await Promise.race([
        connection.next('welcome', 60_000),
        connection.closed.then(({ code }) => {
          throw new Error(`closed ${code} before welcome`);
        }),
      ]);
      connection.send({ type: 'inventory', inventory: inventoryOf(agent) });
      agent.connection = connection;
      connection.ws.on('message', () => {
        // the connection's own listener (registered first) has parsed it into `frames`
        const frame = connection.frames.at(-1);
        if (frame?.type === 'command') void answer(agent, frame, baseUrl).catch(agentError);
      });
      for (const frame of connection.frames)
        if (frame.type === 'command') void answer(agent, frame, baseUrl).catch(agentError);
      return;
    } catch {
      // as the agent does: forever, with capped, jittered exponential backoff
      await sleep(Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
    }
  }
}

/** An apply as the agent runs it, without EOS underneath: ack, progress, kexec, verified result. */
async function answer(
  agent: Agent,
  frame: Extract<ServerFrame, { type: 'command' }>,
  baseUrl: string,
) {
  const connection = agent.connection;
  if (!connection) return;
  if (agent.answered.has(frame.id)) {
    // a re-delivery (after a reconnect, or an ack the server could not record): as the agent
    // answers from its journal, the command is acknowledged again and never run twice; its
    // result, once there, is re-sent by the loop below until the server confirms it
    connection.send({ type: 'ack', commandId: frame.id });
    return;
  }
  agent.answered.add(frame.id);
  connection.send({ type: 'ack', commandId: frame.id });
  if (frame.kind !== 'apply') {
    connection.send({
      type: 'result',
      commandId: frame.id,
      kind: frame.kind,
      status: 'failed',
      error: { code: 'unsupported', message: 'the bench agent only applies' },
      finishedAt: new Date().toISOString(),
    });
    return;
  }
  const params = frame.params as { expectedRootPrefixHash: string; expectedRootBytes: number };
  connection.send({
    type: 'progress',
    commandId: frame.id,
    phase: 'downloading',
    bytesWritten: 0,
    totalBytes: params.expectedRootBytes,
  });
  // downloads take their own time: 0.5 to 1.5 × --apply-ms
  await sleep(APPLY_MS * (0.5 + Math.random()));
  connection.send({ type: 'progress', commandId: frame.id, phase: 'rebooting' });
  // kexec: the socket drops; the new boot's agent connects, reports, then sends the result
  connection.close();
  await Promise.race([connection.closed, sleep(5_000)]);
  connection.ws.terminate();
  agent.rootPrefixHash = params.expectedRootPrefixHash;
  await connectAgent(agent, baseUrl);
  const next = agent.connection;
  if (!next) throw new Error('no connection after the reboot');
  const result = {
    type: 'result' as const,
    commandId: frame.id,
    kind: frame.kind,
    status: 'succeeded' as const,
    data: { rootPrefixHash: params.expectedRootPrefixHash },
    finishedAt: new Date().toISOString(),
  };
  // as the agent's outbox does: until the server confirms it, on whichever connection is current
  for (;;) {
    const current = agent.connection ?? next;
    const from = current.frames.length;
    current.send(result);
    const stored = await frameAfter(
      current,
      from,
      (f) =>
        (f.type === 'result_stored' || f.type === 'error') &&
        'commandId' in f &&
        f.commandId === frame.id,
      Date.now() + 10_000,
    ).catch(() => undefined);
    if (stored?.type === 'result_stored') return;
    await sleep(500);
  }
}

async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await work(item);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Seeding: the catalog and N accepted devices with the agents' public keys (one INSERT ... SELECT
// FROM unnest per chunk); the agents' inventories then fill in their facts as on a real fleet.

async function seed(db: Db, agents: Agent[]) {
  const server = await db.updateServer.create({
    data: {
      name: 'bench-edge',
      sshTarget: SSH_TARGET,
      httpUrl: 'http://127.0.0.1:1',
      // the rollout's own cap is the one measured
      maxConcurrentApplies: 10_000,
    },
  });
  const image = await db.image.create({
    data: { updateServerId: server.id, name: IMAGE, arch: 'x86_64', profile: 'AB' },
  });
  for (let start = 0; start < agents.length; start += 5_000) {
    const chunk = agents.slice(start, start + 5_000);
    await db.$executeRaw`
      INSERT INTO "device" ("id", "name", "status", "publicKey", "labels", "facts",
        "rootPrefixHash", "imageName", "arch", "profile", "slotSize", "updateServerId",
        "acceptedAt", "createdAt", "updatedAt")
      SELECT t.id::uuid, 'bench-' || lpad(t.n::text, 6, '0'), 'accepted', t.key,
        jsonb_build_object('fleet', 'bench', 'baseline', CASE WHEN t.n <= ${BASELINE} THEN 'yes' ELSE 'no' END),
        jsonb_build_object('updateServer', ${SSH_TARGET}::text),
        ${agents[0]?.rootPrefixHash ?? ''}, ${IMAGE}, 'x86_64', 'AB', ${BigInt(64 * MiB)},
        ${server.id}::uuid, now(), now(), now()
      FROM unnest(${chunk.map((a) => a.identity.deviceId)}::text[],
                  ${chunk.map((a) => a.identity.publicKey)}::text[],
                  ${chunk.map((_, i) => start + i + 1)}::int[]) AS t(id, key, n)`;
  }
  await db.$executeRaw`ANALYZE "device"`;
  return { server, image };
}

async function newVersion(db: Db, imageId: string) {
  return db.imageVersion.create({
    data: {
      imageId,
      rootPrefixHash: randomBytes(20).toString('hex'),
      imageSha1: randomBytes(20).toString('hex'),
      rootSha256: randomBytes(32).toString('hex'),
      rootPartitionSize: BigInt(8 * MiB),
      label: `bench-${randomBytes(3).toString('hex')}`,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// One run

interface RunFigures {
  devices: number;
  cap: number;
  wallSeconds: number;
  ticks: TickReport[];
  applies: number;
  distinctDevices: number;
  succeededApplies: number;
  finalState: string;
  batches: string;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function runRollout(
  db: Db,
  server: Server,
  imageId: string,
  devices: number,
  cap: number,
): Promise<RunFigures> {
  const version = await newVersion(db, imageId);
  const from = server.ticks.length;
  const t0 = performance.now();
  const { id } = await createRollout(
    { db, actor: SYSTEM_ACTOR },
    {
      name: `bench ${devices} at ${cap}`,
      imageVersionId: version.id,
      target: { labels: devices === DEVICES ? { fleet: 'bench' } : { baseline: 'yes' } },
      batches: [{ percent: 1 }, { percent: 10 }, { percent: 100 }],
      maxConcurrentPerServer: cap,
      failureThresholdPercent: 10,
    },
  );
  log(`rollout ${id}: ${devices} devices, cap ${cap}`);
  let last = '';
  for (;;) {
    const rollout = await db.rollout.findUniqueOrThrow({ where: { id } });
    if (!['scheduled', 'running'].includes(rollout.state)) break;
    const counts = await db.rolloutDevice.groupBy({
      by: ['state'],
      where: { rolloutId: id },
      _count: true,
    });
    const line = counts.map((c) => `${c.state} ${c._count}`).join(', ');
    if (line !== last) {
      last = line;
      log(`  ${line}`);
    }
    if ((performance.now() - t0) / 1000 > MAX_SECONDS) throw new Error('the rollout ran too long');
    await sleep(1_000);
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const rollout = await db.rollout.findUniqueOrThrow({
    where: { id },
    include: { batches: { orderBy: { index: 'asc' } } },
  });
  // the last tick's report arrives just after the state it wrote
  await sleep(500);
  const applies = await db.command.findMany({
    where: { rolloutId: id, kind: 'apply' },
    select: { deviceId: true, state: true },
  });
  return {
    devices,
    cap,
    wallSeconds,
    ticks: server.ticks.slice(from).filter((t) => t.rolloutId === id),
    applies: applies.length,
    distinctDevices: new Set(applies.map((a) => a.deviceId)).size,
    succeededApplies: applies.filter((a) => a.state === 'succeeded').length,
    finalState: `${rollout.state}${rollout.stateReason ? ` (${rollout.stateReason})` : ''}`,
    batches: rollout.batches.map((b) => b.state).join(' / '),
  };
}

function summarise(run: RunFigures) {
  const ticks = run.ticks.filter((t) => t.outcome === 'ticked');
  const sum = (pick: (t: TickReport) => number) => ticks.reduce((s, t) => s + pick(t), 0);
  const decisions = (t: TickReport) =>
    t.decisions.claimed +
    t.decisions.held +
    t.decisions.succeeded +
    t.decisions.skipped +
    t.decisions.failed;
  const tickSeconds = sum((t) => t.ms) / 1000;
  const ms = ticks.map((t) => t.ms).sort((a, b) => a - b);
  const statements = ticks.map((t) => t.statements).sort((a, b) => a - b);
  // the busiest ticks: the ones that decided the most
  const busy = [...ticks].sort((a, b) => decisions(b) - decisions(a)).slice(0, 5);
  const byKind = new Map<string, number>();
  const msByKind = new Map<string, number>();
  for (const t of ticks) {
    for (const [kind, n] of Object.entries(t.byKind)) byKind.set(kind, (byKind.get(kind) ?? 0) + n);
    for (const [kind, ms] of Object.entries(t.msByKind))
      msByKind.set(kind, (msByKind.get(kind) ?? 0) + ms);
  }
  return {
    ticks: ticks.length,
    busyOrIdle: run.ticks.length - ticks.length,
    tickSeconds,
    decisions: sum(decisions),
    claimed: sum((t) => t.decisions.claimed),
    held: sum((t) => t.decisions.held),
    succeeded: sum((t) => t.decisions.succeeded),
    skippedOrFailed: sum((t) => t.decisions.skipped + t.decisions.failed),
    decisionsPerSecond: sum(decisions) / tickSeconds,
    statementsTotal: sum((t) => t.statements),
    statementsMean: sum((t) => t.statements) / ticks.length,
    statementsP50: percentile(statements, 50),
    statementsMax: percentile(statements, 100),
    statementsPerDecision: sum((t) => t.statements) / Math.max(1, sum(decisions)),
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    max: percentile(ms, 100),
    busy: busy.map((t) => ({ ms: t.ms, statements: t.statements, decisions: decisions(t) })),
    byKind: [...byKind].sort((a, b) => b[1] - a[1]),
    msByKind,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const watchdog = setTimeout(() => {
    process.stderr.write(`\nthe bench ran past --max-seconds ${MAX_SECONDS}: cleaning up\n`);
    void cleanup().finally(() => process.exit(1));
  }, MAX_SECONDS * 1000);
  watchdog.unref();
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
    loadBefore: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  log(`${DEVICES} devices (baseline ${BASELINE}), caps ${CAPS.join(', ')}, apply ${APPLY_MS} ms`);

  const dir = mkdtempSync(join(tmpdir(), 'bench-rollout-'));
  chmodSync(dir, 0o755); // as root, PostgreSQL runs as `postgres` and must reach its data dir
  cleanups.push({
    name: 'temp dir',
    run: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
  const pg: RunningPostgres = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres') });
  cleanups.push({ name: 'postgres', run: () => pg.stop() });
  const admin = createPrismaClient(pg.url, { poolSize: 1 });
  await admin.$executeRawUnsafe(`create database ${DATABASE}`);
  await admin.$disconnect();
  const databaseUrl = pg.urlFor(DATABASE);
  await applyMigrations(databaseUrl);
  const db = createPrismaClient(databaseUrl, { poolSize: 4 });
  cleanups.push({ name: 'bench client', run: () => db.$disconnect() });

  const initialHash = randomBytes(20).toString('hex');
  const agents: Agent[] = Array.from({ length: DEVICES }, () => ({
    identity: newIdentity(),
    rootPrefixHash: initialHash,
    answered: new Set<string>(),
  }));
  const seedStart = performance.now();
  const { image } = await seed(db, agents);
  log(`seeded ${DEVICES} devices in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

  const server = await startServer(databaseUrl);
  const baseUrl = `http://127.0.0.1:${server.port}`;
  cleanups.push({
    name: 'agents',
    run: () => {
      for (const agent of agents) agent.connection?.ws.terminate();
      return Promise.resolve();
    },
  });
  const connectStart = performance.now();
  let connected = 0;
  await inPool(agents, CONCURRENCY, async (agent) => {
    await connectAgent(agent, baseUrl);
    if (++connected % 2000 === 0) log(`  connected ${connected}/${DEVICES}`);
  });
  const connectSeconds = (performance.now() - connectStart) / 1000;
  for (;;) {
    const online = await db.devicePresence.count({ where: { online: true } });
    if (online >= DEVICES) break;
    await sleep(500);
  }
  log(`${DEVICES} agents connected in ${connectSeconds.toFixed(1)} s, all online`);

  const runs: RunFigures[] = [];
  const plan = [
    { devices: BASELINE, cap: CAPS[0] ?? 500 },
    ...CAPS.map((cap) => ({ devices: DEVICES, cap })),
  ];
  for (const { devices, cap } of plan) {
    const run = await runRollout(db, server, image.id, devices, cap);
    const s = summarise(run);
    log(
      `  ${run.finalState} in ${run.wallSeconds.toFixed(1)} s: ${s.decisionsPerSecond.toFixed(0)} decisions/s, ${s.statementsMean.toFixed(0)} statements/tick, tick p50 ${s.p50.toFixed(0)} ms p95 ${s.p95.toFixed(0)} ms; ${run.applies} applies to ${run.distinctDevices} devices`,
    );
    runs.push(run);
  }
  const loadAfter = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const markdown = render({ machine, loadAfter, connectSeconds, runs, logged: server.logged });
  process.stdout.write(`\n${markdown}\n`);
  if (!values['no-write']) {
    writeSection(markdown);
    log(`written to ${BENCHMARKS_MD}`);
  }
  clearTimeout(watchdog);
  const wrong = runs.filter(
    (r) =>
      r.applies !== r.devices ||
      r.distinctDevices !== r.devices ||
      !/^completed/.test(r.finalState),
  );
  if (wrong.length || agentErrors) {
    process.stderr.write(
      `${wrong.length} runs did not apply exactly once per device; ${agentErrors} agent errors ${agentErrorSamples.join('; ')}\n`,
    );
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function render(f: {
  machine: { cores: number; cpu: string; node: string; date: string; loadBefore: string };
  loadAfter: string;
  connectSeconds: number;
  runs: RunFigures[];
  logged: Map<string, number>;
}) {
  const command = `npm run bench:rollout -w @eos-fleet/bench -- --devices ${DEVICES} --baseline ${BASELINE} --caps ${CAPS.join(',')} --apply-ms ${APPLY_MS}`;
  const rows = f.runs.map((run) => ({ run, s: summarise(run) }));
  const n = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const biggest = rows.at(-1);
  return [
    SECTION_START,
    `## Rollout scheduling (\`${command}\`)`,
    '',
    `\`bench/rollout-schedule.ts\`: one rollout over the fleet (batches 1 %, 10 %, the rest; automatic gates;`,
    'soak 0; failure threshold 10 %) with a per-server concurrency cap, scheduled by the real tick',
    '(`rollout-scheduler.ts`) in the real job runner (pg-boss sweep every 5 s, NOTIFY wake-ups) of ONE',
    'server process with the device gateway (`bench/lib/rollout-server.ts`: production pools, 20 for',
    'the gateway and 4 for the jobs; default gateway timings), on an embedded PostgreSQL 18. The devices are accepted rows seeded',
    `with the public keys of ${DEVICES} simulated agents in the bench process (real Ed25519 keys, real`,
    'WebSockets, the real `/agent/v1` protocol); each answers an apply as the agent does: ack,',
    `progress \`downloading\`, ${APPLY_MS / 2}–${(APPLY_MS * 3) / 2} ms (uniform), progress \`rebooting\`, its socket drops (kexec), a new`,
    'connection authenticates, reports the inventory with the new root prefix hash, then sends',
    '`succeeded` until `result_stored`. The scheduler counts a device done when the command',
    'succeeded, the device is online and its reported root prefix hash is the pinned one.',
    '',
    `Machine: ${f.machine.cores} × ${f.machine.cpu}, Node ${f.machine.node}, ${f.machine.date}; load average ${f.machine.loadBefore} before the run, ${f.loadAfter} after (other work shares the machine); agents, server and PostgreSQL share the cores. All ${DEVICES} agents connected in ${n(f.connectSeconds, 1)} s (${CONCURRENCY} handshakes in flight).`,
    '',
    '| devices | cap | wall time to completed | ticks | decisions (claimed / held / succeeded) | decisions per s of tick time | statements per tick mean / p50 / max | statements per decision | tick p50 / p95 / max ms | applies (devices) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      ({ run, s }) =>
        `| ${run.devices} | ${run.cap} | ${n(run.wallSeconds, 1)} s | ${s.ticks} (+${s.busyOrIdle} busy/idle) | ${s.decisions} (${s.claimed} / ${s.held} / ${s.succeeded}${s.skippedOrFailed ? ` / ${s.skippedOrFailed} skipped or failed` : ''}) | ${n(s.decisionsPerSecond)} | ${n(s.statementsMean)} / ${n(s.statementsP50)} / ${n(s.statementsMax)} | ${n(s.statementsPerDecision, 2)} | ${n(s.p50)} / ${n(s.p95)} / ${n(s.max)} | ${run.applies} (${run.distinctDevices}) |`,
    ),
    '',
    'Decisions: rollout devices a tick moved to a decided state (claimed for an apply, held with a',
    'new reason, succeeded, skipped, failed), from a snapshot of (state, reason) before and after each',
    'tick; a batch releasing its devices (pending → scheduled, one UPDATE) is not counted. Tick time:',
    'the tick as the job runner runs it, its decision transaction and the applies it sends. Statements:',
    "every SQL statement the tick sent (BEGIN/COMMIT included), counted by a wrapper on pg's",
    '`Client#query` in the server process and attributed to the tick with AsyncLocalStorage.',
    '',
    ...(biggest
      ? [
          `Statements of all ticks of the ${biggest.run.devices}-device run at cap ${biggest.run.cap}, by kind:`,
          '',
          '| statement | count | per tick | ms answering, summed (share of tick time) |',
          '|---|---|---|---|',
          ...biggest.s.byKind.slice(0, 12).map(([kind, count]) => {
            const ms = biggest.s.msByKind.get(kind) ?? Number.NaN;
            return `| \`${kind}\` | ${count} | ${n(count / biggest.s.ticks, 1)} | ${n(ms)} (${n(ms / 10 / biggest.s.tickSeconds)} %) |`;
          }),
          '',
          `Its busiest ticks (ms, statements, decisions): ${biggest.s.busy.map((b) => `${n(b.ms)} ms / ${b.statements} / ${b.decisions}`).join('; ')}.`,
          '',
        ]
      : []),
    ...(f.logged.size
      ? [
          'Server log over the whole bench (warnings and errors, by message):',
          '',
          '| count | message |',
          '|---|---|',
          ...[...f.logged]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 6)
            .map(([message, count]) => `| ${count} | ${message.replace(/\|/g, '\\|')} |`),
          '',
        ]
      : []),
    SECTION_END,
  ].join('\n');
}

function writeSection(section: string) {
  const current = readFileSync(BENCHMARKS_MD, 'utf8');
  const start = current.indexOf(SECTION_START);
  const end = current.indexOf(SECTION_END);
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${section}${current.slice(end + SECTION_END.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(BENCHMARKS_MD, next);
}

try {
  await main();
} catch (error) {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
} finally {
  await cleanup();
}
