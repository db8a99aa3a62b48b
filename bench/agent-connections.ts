// The first load run of the device gateway (issue 4): N lightweight simulated agents (real Ed25519
// keys, the real /agent/v1 protocol, apps/web/src/server/gateway/testing/simulated-agent.ts)
// against ONE server process (the real app server + gateway, without Next: lib/gateway-server.ts)
// on a real, embedded PostgreSQL. Measures, in one run:
//   - the time to enrol all N (auto-accept token: enroll -> welcome, then one inventory) and the
//     time to reconnect all N with `auth` (a restarted fleet);
//   - server heap per connection, (heap with N connected - heap before) / N after full GCs,
//     against a bare `ws` server process (lib/ws-baseline-server.ts, same Node flags) holding N;
//   - PostgreSQL statements per second at steady state (all connected, heartbeats running):
//     pg_stat_statements calls (enabled by a restart with shared_preload_libraries set through
//     ALTER SYSTEM), pg_stat_database transactions and the gateway's own stats().statements.
// Everything listens on 127.0.0.1; children and the temp dir are removed on success, failure,
// SIGINT/SIGTERM and after the time limit.
//   npm run bench:connections -w @eos-fleet/bench -- [--agents 2000] [--concurrency 100]
//     [--steady-seconds 30] [--heartbeat-ms 5000] [--flush-ms 1000] [--max-seconds 300] [--no-write]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  applyMigrations,
  createPrismaClient,
  startEmbeddedPostgres,
  type Db,
  type RunningPostgres,
} from '@eos-fleet/db';
import { WebSocket } from 'ws';
import { SYSTEM_ACTOR } from '../apps/web/src/server/services/context';
import { createEnrollmentToken } from '../apps/web/src/server/services/enrollment/enrollment-tokens';
import {
  authenticate,
  enroll,
  newIdentity,
  sampleInventory,
  type Connection,
  type SimulatedIdentity,
} from '../apps/web/src/server/gateway/testing/simulated-agent';
import type { ServerFrame } from '@eos-fleet/shared/protocol/index';
import type { Measurement } from './lib/ipc-measure';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '100' },
    'steady-seconds': { type: 'string', default: '30' },
    'heartbeat-ms': { type: 'string', default: '5000' },
    'flush-ms': { type: 'string', default: '1000' },
    'max-seconds': { type: 'string', default: '300' },
    'no-write': { type: 'boolean', default: false },
  },
});
const AGENTS = Number(values.agents);
const CONCURRENCY = Number(values.concurrency);
const STEADY_SECONDS = Number(values['steady-seconds']);
const HEARTBEAT_MS = Number(values['heartbeat-ms']);
const FLUSH_MS = Number(values['flush-ms']);
const MAX_SECONDS = Number(values['max-seconds']);
for (const [name, value] of Object.entries({
  AGENTS,
  CONCURRENCY,
  STEADY_SECONDS,
  HEARTBEAT_MS,
  FLUSH_MS,
  MAX_SECONDS,
})) {
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
}

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, '..');
const BENCHMARKS_MD = join(REPO, 'docs', 'BENCHMARKS.md');
const SECTION_START = '<!-- bench:agent-connections -->';
const SECTION_END = '<!-- /bench:agent-connections -->';
const NODE_FLAGS = ['--expose-gc', '--import', 'tsx'];
const DATABASE = 'fleet';
const WARM_UP_AGENTS = 20;
/** handshake attempts per agent and phase before it counts as not connected */
const MAX_ATTEMPTS = 5;
const KiB = 1024;
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
    for (const step of cleanups.reverse()) {
      await step.run().catch((error: unknown) => {
        process.stderr.write(`cleanup of ${step.name} failed: ${String(error)}\n`);
      });
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes (server and baseline) with their IPC measurements.

interface ServerChild {
  name: string;
  process: ChildProcess;
  port: number;
  /** its log lines (pino JSON on stdout), the first 5000 */
  logLines: string[];
  measure(): Promise<Measurement>;
  stop(): Promise<void>;
}

async function startChild(name: string, script: string, args: string[]): Promise<ServerChild> {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(BENCH_DIR, script), ...args], {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  let exited = child.exitCode !== null;
  const exitedPromise = new Promise<void>((done) =>
    child.once('exit', () => {
      exited = true;
      done();
    }),
  );
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitedPromise;
    clearTimeout(timer);
  };
  cleanups.push({ name, run: stop });
  const logLines: string[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line && logLines.length < 5000) logLines.push(line);
  });
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not listen within 60 s`)), 60_000);
    child.stdout?.on('data', () => {
      const match = logLines.map((line) => /^LISTENING (\d+)/.exec(line)?.[1]).find(Boolean);
      if (match) {
        clearTimeout(timer);
        done(Number(match));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code} before listening`));
    });
  });
  let nextId = 0;
  const measure = () =>
    new Promise<Measurement>((done, fail) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        fail(new Error(`${name} did not answer a measurement within 30 s`));
      }, 30_000);
      const onMessage = (message: unknown) => {
        const answer = message as Measurement;
        if (answer.type !== 'measurement' || answer.id !== id) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        done(answer);
      };
      child.on('message', onMessage);
      child.send({ type: 'measure', id });
    });
  return { name, process: child, port, logLines, measure, stop };
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL counters, read from the maintenance database so that reading them adds nothing to
// the figures of the bench database.

interface DbCounters {
  at: number;
  transactions: number;
  tuplesInserted: number;
  tuplesUpdated: number;
  walBytes: number;
  /** pg_stat_statements calls by query text; undefined when the extension is unavailable */
  statements: Map<string, number> | undefined;
}

async function readCounters(admin: Db, withStatements: boolean): Promise<DbCounters> {
  const [row] = await admin.$queryRawUnsafe<
    { transactions: bigint; inserted: bigint; updated: bigint; wal: bigint }[]
  >(
    `select xact_commit + xact_rollback as transactions, tup_inserted as inserted,
            tup_updated as updated, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint as wal
       from pg_stat_database where datname = '${DATABASE}'`,
  );
  if (!row) throw new Error(`no pg_stat_database row for ${DATABASE}`);
  let statements: Map<string, number> | undefined;
  if (withStatements) {
    const rows = await admin.$queryRawUnsafe<{ query: string; calls: bigint }[]>(
      `select s.query, sum(s.calls)::bigint as calls from pg_stat_statements s
         join pg_database d on d.oid = s.dbid where d.datname = '${DATABASE}' group by s.query`,
    );
    statements = new Map(rows.map((r) => [r.query, Number(r.calls)]));
  }
  return {
    at: Date.now(),
    transactions: Number(row.transactions),
    tuplesInserted: Number(row.inserted),
    tuplesUpdated: Number(row.updated),
    walBytes: Number(row.wal),
    statements,
  };
}

interface DbDelta {
  seconds: number;
  transactions: number;
  tuplesInserted: number;
  tuplesUpdated: number;
  walBytes: number;
  statements: number | undefined;
  /** the statements of the interval, most called first */
  top: { query: string; calls: number }[];
}

function dbDelta(before: DbCounters, after: DbCounters): DbDelta {
  const top: { query: string; calls: number }[] = [];
  let statements: number | undefined;
  if (before.statements && after.statements) {
    statements = 0;
    for (const [query, calls] of after.statements) {
      const delta = calls - (before.statements.get(query) ?? 0);
      if (delta > 0) {
        statements += delta;
        top.push({ query, calls: delta });
      }
    }
    top.sort((a, b) => b.calls - a.calls);
  }
  return {
    seconds: (after.at - before.at) / 1000,
    transactions: after.transactions - before.transactions,
    tuplesInserted: after.tuplesInserted - before.tuplesInserted,
    tuplesUpdated: after.tuplesUpdated - before.tuplesUpdated,
    walBytes: after.walBytes - before.walBytes,
    statements,
    top,
  };
}

/**
 * CPU seconds (user + system) of the postmaster and its children (backends, autovacuum...),
 * including children that exited (the postmaster's cutime + cstime), so the sum only grows.
 */
function postgresCpuSeconds(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const ticks = 100; // USER_HZ on Linux
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // after "pid (comm) ": state ppid ... utime, stime, cutime, cstime are fields 12 to 15
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    if (Number(entry) === postmaster)
      total += (own + Number(fields[13]) + Number(fields[14])) / ticks;
    else if (Number(fields[1]) === postmaster) total += own / ticks;
  }
  return total;
}

/** Machine-wide CPU busy share between two snapshots of os.cpus(). */
function cpuSnapshot() {
  return cpus().reduce(
    (sum, cpu) => {
      const total = Object.values(cpu.times).reduce((a, b) => a + b, 0);
      return { total: sum.total + total, idle: sum.idle + cpu.times.idle };
    },
    { total: 0, idle: 0 },
  );
}
function busyShare(before: ReturnType<typeof cpuSnapshot>, after: ReturnType<typeof cpuSnapshot>) {
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : 0;
}

// ---------------------------------------------------------------------------------------------
// Agents

interface Agent {
  identity: SimulatedIdentity;
  enrolled?: boolean;
  connection?: Connection;
}

interface Phase {
  attempted: number;
  /** agents still not connected after MAX_ATTEMPTS */
  gaveUp: number;
  /** one message per failed attempt */
  seconds: number;
  failures: string[];
  latenciesMs: number[];
  serverCpuSeconds: number;
  benchCpuSeconds: number;
  machineBusy: number;
  postgresCpuSeconds: number;
  db: DbDelta;
}

let deliberateClose = false;
let unexpectedCloses = 0;

/** Run `work` over `items`, at most `concurrency` at a time. */
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

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** null once `welcome` arrives; otherwise why not (an error or rejection frame, a close, 60 s). */
function welcomed(connection: Connection): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      connection.ws.off('message', onMessage);
      resolve(outcome);
    };
    const check = (frame: ServerFrame | undefined) => {
      if (frame?.type === 'welcome') finish(null);
      else if (frame?.type === 'error') finish(`error frame (${frame.code}): ${frame.message}`);
      else if (frame?.type === 'rejected') finish(`rejected: ${frame.reason}`);
      else if (frame?.type === 'pending') finish('pending (the token should auto-accept)');
    };
    // the connection's own listener (registered first) has parsed the frame into `frames`
    const onMessage = () => check(connection.frames.at(-1));
    const timer = setTimeout(() => finish('no welcome within 60 s'), 60_000);
    connection.ws.on('message', onMessage);
    for (const frame of connection.frames) check(frame);
    void connection.closed.then(({ code, reason }) => finish(`closed ${code} ${reason}`));
  });
}

async function connectAgents(
  kind: 'enroll' | 'auth',
  agents: Agent[],
  url: string,
  token: string,
): Promise<{
  attempted: number;
  gaveUp: number;
  seconds: number;
  failures: string[];
  latenciesMs: number[];
}> {
  const failures: string[] = [];
  const latenciesMs: number[] = [];
  const t0 = performance.now();
  let done = 0;
  let gaveUp = 0;
  await inPool(agents, CONCURRENCY, async (agent) => {
    const start = performance.now();
    for (let attempt = 1; ; attempt++) {
      let connection: Connection | undefined;
      let failure: string | null;
      try {
        connection =
          kind === 'enroll'
            ? await enroll(url, agent.identity, token, sampleInventory())
            : await authenticate(url, agent.identity);
        failure = await welcomed(connection);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      if (connection && failure === null) {
        latenciesMs.push(performance.now() - start);
        agent.enrolled = true;
        connection.send({ type: 'inventory', inventory: sampleInventory() });
        agent.connection = connection;
        void connection.closed.then(() => {
          if (!deliberateClose) unexpectedCloses++;
        });
        break;
      }
      failures.push(failure ?? 'no connection');
      connection?.ws.terminate();
      if (attempt >= MAX_ATTEMPTS) {
        gaveUp++;
        break;
      }
      // as an agent does: back off (jittered) and try again
      await sleep(1_000 + Math.random() * 2_000);
    }
    if (++done % 500 === 0) log(`  ${kind}: ${done}/${agents.length}`);
  });
  return {
    attempted: agents.length,
    gaveUp,
    seconds: (performance.now() - t0) / 1000,
    failures,
    latenciesMs,
  };
}

async function closeAgents(agents: Agent[]) {
  deliberateClose = true;
  const closing = agents.flatMap((agent) => (agent.connection ? [agent.connection.closed] : []));
  for (const agent of agents) agent.connection?.close();
  await Promise.race([Promise.all(closing), sleep(15_000)]);
  for (const agent of agents) {
    agent.connection?.ws.terminate();
    agent.connection = undefined;
  }
  deliberateClose = false;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------

const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;
const numberStat = (m: Measurement, key: string) => Number(m.extra[key] ?? Number.NaN);

interface MemoryFigures {
  heapBefore: number;
  heapAfter: number;
  heapPerConnection: number;
  externalPerConnection: number;
}

function memoryFigures(before: Measurement, after: Measurement, n: number): MemoryFigures {
  const external = (m: Measurement) => m.memory.external + m.memory.arrayBuffers;
  return {
    heapBefore: before.memory.heapUsed,
    heapAfter: after.memory.heapUsed,
    heapPerConnection: (after.memory.heapUsed - before.memory.heapUsed) / n,
    externalPerConnection: (external(after) - external(before)) / n,
  };
}

async function runBaseline(): Promise<MemoryFigures & { seconds: number }> {
  const baseline = await startChild('ws baseline', 'lib/ws-baseline-server.ts', []);
  try {
    const before = await baseline.measure();
    const sockets: WebSocket[] = [];
    const t0 = performance.now();
    await inPool(
      Array.from({ length: AGENTS }, (_, i) => i),
      CONCURRENCY,
      async () => {
        const ws = new WebSocket(`ws://127.0.0.1:${baseline.port}/`, { perMessageDeflate: false });
        ws.on('error', () => undefined);
        await new Promise<void>((done, fail) => {
          ws.once('open', () => done());
          ws.once('close', () => fail(new Error('baseline connection closed')));
        });
        sockets.push(ws);
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    const after = await baseline.measure();
    if (numberStat(after, 'connections') !== AGENTS)
      throw new Error(`baseline holds ${numberStat(after, 'connections')} of ${AGENTS}`);
    for (const ws of sockets) ws.terminate();
    return { ...memoryFigures(before, after, AGENTS), seconds };
  } finally {
    await baseline.stop();
  }
}

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
    openFiles: execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim(),
  };
  const openFiles = Number(machine.openFiles);
  if (Number.isFinite(openFiles) && openFiles < AGENTS + 1000)
    throw new Error(
      `ulimit -n is ${openFiles}: each process here holds one end of ${AGENTS} sockets; raise it`,
    );
  log(
    `${AGENTS} agents, concurrency ${CONCURRENCY}; ${machine.cores} cores, node ${machine.node}, ulimit -n ${machine.openFiles}`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'bench-connections-'));
  // as root, PostgreSQL runs as `postgres` and must reach its data dir inside this one
  chmodSync(dir, 0o755);
  cleanups.push({
    name: 'temp dir',
    run: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });

  // PostgreSQL, restarted once with pg_stat_statements preloaded (the flags of
  // startEmbeddedPostgres are fixed; ALTER SYSTEM writes postgresql.auto.conf in the data dir)
  const dataDir = join(dir, 'postgres');
  let pg: RunningPostgres = await startEmbeddedPostgres({ dataDir });
  let pgStopped = false;
  cleanups.push({ name: 'postgres', run: () => (pgStopped ? Promise.resolve() : pg.stop()) });
  let admin = createPrismaClient(pg.url, { poolSize: 1 });
  let withStatements = false;
  try {
    await admin.$executeRawUnsafe(
      `alter system set shared_preload_libraries = 'pg_stat_statements'`,
    );
    await admin.$disconnect();
    pgStopped = true;
    await pg.stop();
    pg = await startEmbeddedPostgres({ dataDir });
    pgStopped = false;
    admin = createPrismaClient(pg.url, { poolSize: 1 });
    await admin.$executeRawUnsafe('create extension if not exists pg_stat_statements');
    withStatements = true;
  } catch (error) {
    log(`pg_stat_statements unavailable (${String(error)}): pg_stat_database only`);
    if (pgStopped) {
      pg = await startEmbeddedPostgres({ dataDir });
      pgStopped = false;
      admin = createPrismaClient(pg.url, { poolSize: 1 });
    }
  }
  cleanups.push({ name: 'admin client', run: () => admin.$disconnect() });
  await admin.$executeRawUnsafe(`create database ${DATABASE}`);
  const databaseUrl = pg.urlFor(DATABASE);
  await applyMigrations(databaseUrl);
  const pgVersion = (
    await admin.$queryRawUnsafe<{ v: string }[]>(`select current_setting('server_version') as v`)
  )[0]?.v;
  log(`PostgreSQL ${pgVersion} on port ${pg.port}, migrations applied`);

  const { token } = await (async () => {
    const db = createPrismaClient(databaseUrl, { poolSize: 1 });
    try {
      return await createEnrollmentToken(
        { db, actor: SYSTEM_ACTOR },
        { name: 'bench', autoAccept: true },
      );
    } finally {
      await db.$disconnect();
    }
  })();

  // the gateway server starts (compiling the app takes a while) while the baseline runs; the
  // baseline is stopped before the gateway's phases, so they share no CPU with it
  const starting = startChild('gateway server', 'lib/gateway-server.ts', [
    databaseUrl,
    String(HEARTBEAT_MS),
    String(FLUSH_MS),
  ]);
  starting.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled
  const baseline = await runBaseline();
  log(
    `baseline ws server: ${AGENTS} connections in ${baseline.seconds.toFixed(1)} s, heap ${(
      baseline.heapPerConnection / KiB
    ).toFixed(2)} KiB/connection`,
  );

  const server = await starting;
  const url = `http://127.0.0.1:${server.port}`;
  const cold = await server.measure();
  log(`gateway server on port ${server.port}, heap ${(cold.memory.heapUsed / MiB).toFixed(1)} MiB`);

  // warm-up, outside the figures: the first handshakes initialise code paths and caches (Prisma
  // query plans, zod schemas, JIT) once per process; they are not a cost per connection
  const warmUp: Agent[] = Array.from({ length: WARM_UP_AGENTS }, () => ({
    identity: newIdentity(),
  }));
  await connectAgents('enroll', warmUp, url, token);
  await closeAgents(warmUp);
  await connectAgents('auth', warmUp, url, token);
  await closeAgents(warmUp);
  await waitUntil(
    async () => numberStat(await server.measure(), 'connections') === 0,
    30_000,
    'the warm-up agents to leave',
  );
  await sleep(FLUSH_MS * 2 + 500);
  const idle = await server.measure();
  log(`after a warm-up of ${WARM_UP_AGENTS} agents: heap ${mib(idle.memory.heapUsed)}`);

  const agents: Agent[] = Array.from({ length: AGENTS }, () => ({ identity: newIdentity() }));
  cleanups.push({
    name: 'agents',
    run: () => {
      deliberateClose = true;
      for (const agent of agents) agent.connection?.ws.terminate();
      return Promise.resolve();
    },
  });

  async function phase(
    run: () => Promise<{
      attempted: number;
      gaveUp: number;
      seconds: number;
      failures: string[];
      latenciesMs: number[];
    }>,
  ): Promise<Phase> {
    const dbBefore = await readCounters(admin, withStatements);
    const serverBefore = await server.measure();
    const benchBefore = process.cpuUsage();
    const machineBefore = cpuSnapshot();
    const postgresBefore = postgresCpuSeconds(pg.dataDir);
    const result = await run();
    const machineBusy = busyShare(machineBefore, cpuSnapshot());
    const postgresCpu = postgresCpuSeconds(pg.dataDir) - postgresBefore;
    const benchCpuSeconds = cpuSeconds(process.cpuUsage(benchBefore));
    // let the inventories and presence of the last connections reach the database
    await sleep(FLUSH_MS * 2 + 500);
    const serverAfter = await server.measure();
    const dbAfter = await readCounters(admin, withStatements);
    return {
      ...result,
      serverCpuSeconds: cpuSeconds(serverAfter.cpu) - cpuSeconds(serverBefore.cpu),
      benchCpuSeconds,
      machineBusy,
      postgresCpuSeconds: postgresCpu,
      db: dbDelta(dbBefore, dbAfter),
    };
  }

  log(`enrolling ${AGENTS} agents`);
  const enrolment = await phase(() => connectAgents('enroll', agents, url, token));
  log(
    `enrolled ${AGENTS - enrolment.gaveUp}/${AGENTS} in ${enrolment.seconds.toFixed(1)} s (${enrolment.failures.length} failed attempts)`,
  );
  const connected = await server.measure();
  if (numberStat(connected, 'devices') !== AGENTS - enrolment.gaveUp)
    log(`the gateway holds ${numberStat(connected, 'devices')} devices`);
  const gatewayMemory = memoryFigures(idle, connected, AGENTS - enrolment.gaveUp);
  log(`gateway heap ${(gatewayMemory.heapPerConnection / KiB).toFixed(2)} KiB/connection`);

  // steady state: everyone connected, heartbeats (ping/pong) and presence flushes running
  log(`steady state for ${STEADY_SECONDS} s`);
  const closesBeforeSteady = unexpectedCloses;
  const steadyDbBefore = await readCounters(admin, withStatements);
  const steadyServerBefore = await server.measure();
  const steadyMachineBefore = cpuSnapshot();
  const steadyPostgresBefore = postgresCpuSeconds(pg.dataDir);
  await sleep(STEADY_SECONDS * 1000);
  const steadyMachineBusy = busyShare(steadyMachineBefore, cpuSnapshot());
  const steadyPostgresCpu = postgresCpuSeconds(pg.dataDir) - steadyPostgresBefore;
  const steadyServerAfter = await server.measure();
  const steadyDbAfter = await readCounters(admin, withStatements);
  const steady = {
    db: dbDelta(steadyDbBefore, steadyDbAfter),
    gatewayStatements:
      numberStat(steadyServerAfter, 'statements') - numberStat(steadyServerBefore, 'statements'),
    serverCpuSeconds: cpuSeconds(steadyServerAfter.cpu) - cpuSeconds(steadyServerBefore.cpu),
    machineBusy: steadyMachineBusy,
    postgresCpuSeconds: steadyPostgresCpu,
    unexpectedCloses: unexpectedCloses - closesBeforeSteady,
    devices: numberStat(steadyServerAfter, 'devices'),
  };

  // a restarted fleet: every agent disconnects, then all reconnect with `auth`
  log('disconnecting every agent');
  await closeAgents(agents);
  await waitUntil(
    async () => numberStat(await server.measure(), 'connections') === 0,
    30_000,
    'the gateway to see every agent leave',
  );
  await sleep(FLUSH_MS * 2 + 500);
  const emptied = await server.measure();
  log(`reconnecting ${AGENTS} agents with auth`);
  const enrolled = agents.filter((agent) => agent.enrolled);
  const reconnect = await phase(() => connectAgents('auth', enrolled, url, token));
  log(
    `reconnected ${enrolled.length - reconnect.gaveUp}/${enrolled.length} in ${reconnect.seconds.toFixed(1)} s (${reconnect.failures.length} failed attempts)`,
  );
  const reconnected = await server.measure();
  // everyone leaves once more: does the heap left behind grow with every cycle (a leak)?
  await closeAgents(agents);
  await waitUntil(
    async () => numberStat(await server.measure(), 'connections') === 0,
    30_000,
    'the gateway to see every agent leave again',
  );
  await sleep(FLUSH_MS * 2 + 500);
  const emptiedAgain = await server.measure();

  const serverErrors = summariseLog(server.logLines);
  const figures = {
    serverErrors,
    loadAfter: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    machine,
    pgVersion: pgVersion ?? 'unknown',
    withStatements,
    baseline,
    gatewayMemory,
    cold,
    idle,
    emptied,
    reconnected,
    emptiedAgain,
    enrolment,
    reconnect,
    steady,
  };
  const markdown = render(figures);
  process.stdout.write(`\n${markdown}\n`);
  if (!values['no-write']) {
    writeSection(markdown);
    log(`written to ${BENCHMARKS_MD}`);
  }
  clearTimeout(watchdog);
  if (enrolment.gaveUp || reconnect.gaveUp) {
    process.stderr.write(
      `${enrolment.gaveUp + reconnect.gaveUp} agents never connected, e.g.: ${[...enrolment.failures, ...reconnect.failures].at(-1)}\n`,
    );
    process.exitCode = 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Report

/** The server's warnings and errors (pino JSON lines), counted by message and error. */
function summariseLog(lines: string[]): { message: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const line of lines) {
    if (line.startsWith('LISTENING')) continue;
    let message = line.slice(0, 160);
    try {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
      const error = entry.err?.message?.replace(/\s+/g, ' ').slice(0, 160);
      message = `${entry.msg ?? ''}${error ? `: ${error}` : ''}`;
    } catch {
      // not JSON: count the line itself
    }
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  return [...counts]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count);
}

type Figures = {
  serverErrors: { message: string; count: number }[];
  loadAfter: string;
  machine: {
    cores: number;
    cpu: string;
    node: string;
    date: string;
    loadBefore: string;
    openFiles: string;
  };
  pgVersion: string;
  withStatements: boolean;
  baseline: MemoryFigures & { seconds: number };
  gatewayMemory: MemoryFigures;
  cold: Measurement;
  idle: Measurement;
  emptied: Measurement;
  reconnected: Measurement;
  emptiedAgain: Measurement;
  enrolment: Phase;
  reconnect: Phase;
  steady: {
    db: DbDelta;
    gatewayStatements: number;
    serverCpuSeconds: number;
    machineBusy: number;
    postgresCpuSeconds: number;
    unexpectedCloses: number;
    devices: number;
  };
};

const kib = (bytes: number) => `${(bytes / KiB).toFixed(1)} KiB`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const signedMib = (bytes: number) => `${bytes >= 0 ? '+' : '−'}${mib(Math.abs(bytes))}`;
const rate = (count: number, seconds: number) => (count / seconds).toFixed(1);
const pct = (share: number) => `${Math.round(share * 100)} %`;
const shortQuery = (query: string) => {
  const flat = query.replace(/\s+/g, ' ').trim();
  return (flat.length > 90 ? `${flat.slice(0, 87)}...` : flat).replace(/\|/g, '\\|');
};

function phaseRow(name: string, p: Phase) {
  const n = p.attempted;
  const ok = n - p.gaveUp;
  const sorted = [...p.latenciesMs].sort((a, b) => a - b);
  const perHandshake = (count: number) => (count / n).toFixed(1);
  const cpu = (seconds: number) => `${seconds.toFixed(1)} (${((seconds * 1000) / n).toFixed(1)})`;
  return `| ${name} | ${ok}/${n} | ${p.failures.length} | ${p.seconds.toFixed(1)} | ${rate(ok, p.seconds)} | ${percentile(sorted, 50).toFixed(0)} / ${percentile(sorted, 95).toFixed(0)} / ${percentile(sorted, 100).toFixed(0)} | ${p.db.statements === undefined ? 'n/a' : perHandshake(p.db.statements)} | ${perHandshake(p.db.transactions)} | ${cpu(p.serverCpuSeconds)} | ${cpu(p.postgresCpuSeconds)} | ${p.benchCpuSeconds.toFixed(1)} | ${pct(p.machineBusy)} |`;
}

function failureLines(p: Phase, name: string): string[] {
  if (!p.failures.length) return [];
  const counts = new Map<string, number>();
  for (const failure of p.failures) counts.set(failure, (counts.get(failure) ?? 0) + 1);
  return [
    `${name}, failed attempts as the agents saw them: ${[...counts]
      .sort((a, b) => b[1] - a[1])
      .map(([message, count]) => `${count} × “${message}”`)
      .join('; ')}.`,
    '',
  ];
}

function topTable(p: Phase, n: number, rows = 10) {
  if (!p.db.top.length) return [];
  return [
    '| statement (pg_stat_statements) | calls | per handshake |',
    '|---|---|---|',
    ...p.db.top
      .slice(0, rows)
      .map((s) => `| \`${shortQuery(s.query)}\` | ${s.calls} | ${(s.calls / n).toFixed(2)} |`),
  ];
}

function render(f: Figures): string {
  const n = AGENTS;
  const s = f.steady;
  const steadySeconds = s.db.seconds;
  const command = `npm run bench:connections -w @eos-fleet/bench -- --agents ${n}${CONCURRENCY === 100 ? '' : ` --concurrency ${CONCURRENCY}`}`;
  const g = f.gatewayMemory;
  const b = f.baseline;
  const connectedN = f.reconnect.attempted - f.reconnect.gaveUp;
  const leftover = f.emptied.memory.heapUsed - f.idle.memory.heapUsed;
  const reconnectedPer = (f.reconnected.memory.heapUsed - f.emptied.memory.heapUsed) / connectedN;
  return [
    SECTION_START,
    `## Agent connections (\`${command}\`)`,
    '',
    `${n} simulated agents (\`bench/agent-connections.ts\`: real Ed25519 keys, the real \`/agent/v1\``,
    'protocol, `simulated-agent.ts`) against ONE server process: the real app server with the device',
    'gateway, without Next (`bench/lib/gateway-server.ts`), on an embedded PostgreSQL',
    `${f.pgVersion} (\`fsync=on\`, pg_stat_statements preloaded). Auto-accept enrolment token; each`,
    `agent enrols (or authenticates), waits for \`welcome\`, sends one inventory and stays connected`,
    `answering pings. ${CONCURRENCY} handshakes in flight at a time, all clients in the bench process.`,
    `Gateway \`heartbeatMs\` ${HEARTBEAT_MS} (shortened from 15 000), \`flushMs\` ${FLUSH_MS}; pg pool 20 (as a production web process).`,
    '',
    `Machine: ${f.machine.cores} × ${f.machine.cpu}, Node ${f.machine.node}, ${f.machine.date}, load average ${f.machine.loadBefore} before the run and ${f.loadAfter} after (other work shared the machine); client, server and PostgreSQL share the cores. \`ulimit -n\` ${f.machine.openFiles} (per process; each process holds one end of ${n} sockets).`,
    '',
    '### Handshakes',
    '',
    '| phase | connected | failed attempts (retried after 1–3 s) | s | per s | latency p50 / p95 / max ms | statements per handshake | transactions per handshake | server CPU s (ms per handshake) | PostgreSQL CPU s (ms per handshake) | bench (clients) CPU s | machine busy |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    phaseRow('enrol (token → welcome)', f.enrolment),
    phaseRow('reconnect (auth → welcome)', f.reconnect),
    '',
    'Latency: from opening the socket to `welcome`, retries included. Statements per handshake',
    'include the batched inventory and presence writes of the phase. One client process drives all',
    'sockets (its CPU is the bench column; it is not the bottleneck).',
    '',
    ...failureLines(f.enrolment, 'Enrolment'),
    ...failureLines(f.reconnect, 'Reconnect'),
    ...(f.enrolment.db.top.length
      ? ['Enrolment, most called statements:', '', ...topTable(f.enrolment, n), '']
      : []),
    ...(f.reconnect.db.top.length
      ? ['Reconnect, most called statements:', '', ...topTable(f.reconnect, n), '']
      : []),
    '### Server memory',
    '',
    'Heap used after full GCs (`--expose-gc`), (with N connected − before) / N; the baseline is a bare',
    '`ws` WebSocketServer child process (same Node flags, same server options) holding the same',
    `number of connections in the same run. The gateway's "before" is after a warm-up of ${WARM_UP_AGENTS} agents`,
    `(enrolled, reconnected, gone): its heap was ${mib(f.cold.memory.heapUsed)} cold and ${mib(f.idle.memory.heapUsed)} warm.`,
    '',
    '| process | heap before | heap with N | heap per connection | external + array buffers per connection |',
    '|---|---|---|---|---|',
    `| gateway server | ${mib(g.heapBefore)} | ${mib(g.heapAfter)} | ${kib(g.heapPerConnection)} | ${kib(g.externalPerConnection)} |`,
    `| bare ws baseline | ${mib(b.heapBefore)} | ${mib(b.heapAfter)} | ${kib(b.heapPerConnection)} | ${kib(b.externalPerConnection)} |`,
    '',
    `By that formula the gateway costs ${(g.heapPerConnection / b.heapPerConnection).toFixed(1)} × the bare server's heap per connection. Part of it stays when the connections go: after every agent left, the gateway heap was ${mib(f.emptied.memory.heapUsed)} (${signedMib(leftover)} against before). The marginal cost of a held connection, (heap after all ${connectedN} reconnected with \`auth\` − heap after all left) / N, is ${kib(reconnectedPer)} (${(reconnectedPer / b.heapPerConnection).toFixed(1)} × the baseline). When they all left a second time the heap went back to ${mib(f.emptiedAgain.memory.heapUsed)} (${signedMib(f.emptiedAgain.memory.heapUsed - f.emptied.memory.heapUsed)} against the first time).`,
    '',
    '### Steady state',
    '',
    `${s.devices} devices connected, ${steadySeconds.toFixed(0)} s window, pings every ${HEARTBEAT_MS / 1000} s.`,
    '',
    '| measure | total | per s |',
    '|---|---|---|',
    ...(s.db.statements === undefined
      ? []
      : [
          `| PostgreSQL statements (pg_stat_statements calls) | ${s.db.statements} | ${rate(s.db.statements, steadySeconds)} |`,
        ]),
    `| PostgreSQL transactions (pg_stat_database commit + rollback) | ${s.db.transactions} | ${rate(s.db.transactions, steadySeconds)} |`,
    `| gateway \`stats().statements\` (report flushes) | ${s.gatewayStatements} | ${rate(s.gatewayStatements, steadySeconds)} |`,
    `| rows updated | ${s.db.tuplesUpdated} | ${rate(s.db.tuplesUpdated, steadySeconds)} |`,
    `| rows inserted | ${s.db.tuplesInserted} | ${rate(s.db.tuplesInserted, steadySeconds)} |`,
    `| WAL written | ${mib(s.db.walBytes)} | ${kib(s.db.walBytes / steadySeconds)} |`,
    `| server CPU | ${s.serverCpuSeconds.toFixed(1)} s | ${pct(s.serverCpuSeconds / steadySeconds)} of a core |`,
    `| PostgreSQL CPU | ${s.postgresCpuSeconds.toFixed(1)} s | ${pct(s.postgresCpuSeconds / steadySeconds)} of a core |`,
    '',
    `Machine busy ${pct(s.machineBusy)}; connections lost during the window: ${s.unexpectedCloses}. pg_stat_statements counts the statements clients send; pg_stat_database's transactions and rows also count autovacuum and autoanalyze working on the database (the enrolment just filled its tables), so they are an upper bound.`,
    ...(s.db.top.length
      ? [
          '',
          '| statement at steady state | calls |',
          '|---|---|',
          ...s.db.top.slice(0, 6).map((q) => `| \`${shortQuery(q.query)}\` | ${q.calls} |`),
        ]
      : []),
    ...(f.serverErrors.length
      ? [
          '',
          'Server log (warnings and errors, by message):',
          '',
          '| count | message |',
          '|---|---|',
          ...f.serverErrors
            .slice(0, 8)
            .map((e) => `| ${e.count} | ${e.message.replace(/\|/g, '\\|')} |`),
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
