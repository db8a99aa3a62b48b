// The database of one EOS Fleet installation: DATABASE_URL when given, otherwise the embedded
// cluster in the project's data directory. Opening it takes the installation lock (one running
// EOS Fleet per data directory) and applies pending migrations, so every entry point (the server,
// db:migrate, user:create) meets the same, current schema.
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres';
import { applyMigrations } from './migrations';

export const EMBEDDED_DATABASE = 'eos_fleet';

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface ProjectDatabase {
  url: string;
  /** names of the migrations this open applied */
  applied: string[];
  embedded: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** external server; when absent the embedded cluster under dataDir is used */
  databaseUrl?: string;
  dataDir: string;
  onLog?: (line: string) => void;
  /** when another EOS Fleet holds the data dir, use its running cluster instead of failing */
  shareRunning?: boolean;
}

/** An exclusive lock file holding our pid; a lock whose process is gone is taken over. */
export async function acquireLock(file: string, holder: string): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await fs.open(file, 'wx');
      await handle.writeFile(`${process.pid}\n${holder}\n`);
      await handle.close();
      return async () => {
        const owner = await fs.readFile(file, 'utf8').catch(() => '');
        if (Number(owner.split('\n')[0]) === process.pid) await fs.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidText = '', owner = 'another process'] = (
        await fs.readFile(file, 'utf8').catch(() => '')
      ).split('\n');
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processExists(pid)) {
        throw new StartupError(
          `EOS Fleet is already running from ${path.dirname(file)} (${owner}, pid ${pid}). ` +
            'Stop it first, or give this one its own EOS_FLEET_DATA_DIR.',
        );
      }
      await fs.rm(file, { force: true }); // stale: its process is gone
    }
  }
  throw new StartupError(`Could not take the lock ${file}.`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Connect once, with a clear error instead of a driver stack trace. */
export async function checkReachable(url: string, timeoutMs = 5000): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(`Cannot reach the database at ${redact(url)}: ${reason}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function ensureDatabase(postgres: RunningPostgres, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0)
      await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** The running embedded cluster of a live EOS Fleet, for tools used beside it (user:create). */
async function runningClusterUrl(dataDir: string): Promise<string | undefined> {
  const clusterDir = path.join(dataDir, 'postgres');
  const pidFile = await fs
    .readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8')
    .catch(() => '');
  const port = Number(pidFile.split('\n')[3]);
  const password = (
    await fs
      .readFile(`${await fs.realpath(clusterDir).catch(() => clusterDir)}.password`, 'utf8')
      .catch(() => '')
  ).trim();
  if (!port || !password) return undefined;
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${EMBEDDED_DATABASE}`;
}

export async function openProjectDatabase(options: OpenOptions): Promise<ProjectDatabase> {
  // An external server needs no lock: many processes share it (that is how EOS Fleet scales out).
  if (options.databaseUrl) {
    await checkReachable(options.databaseUrl);
    const applied = await migrate(options.databaseUrl);
    return { url: options.databaseUrl, applied, embedded: false, close: async () => {} };
  }
  let release: () => Promise<void>;
  try {
    release = await acquireLock(
      path.join(options.dataDir, 'eos-fleet.lock'),
      `eos-fleet ${process.argv.slice(1).join(' ')}`,
    );
  } catch (error) {
    const shared =
      error instanceof StartupError && options.shareRunning
        ? await runningClusterUrl(options.dataDir)
        : undefined;
    if (!shared) throw error;
    await checkReachable(shared);
    return { url: shared, applied: [], embedded: true, close: async () => {} };
  }
  let postgres: RunningPostgres | undefined;
  try {
    postgres = await startEmbeddedPostgres({
      dataDir: path.join(options.dataDir, 'postgres'),
      onLog: options.onLog,
    });
    await ensureDatabase(postgres, EMBEDDED_DATABASE);
    const url = postgres.urlFor(EMBEDDED_DATABASE);
    const applied = await migrate(url);
    const running = postgres;
    return {
      url,
      applied,
      embedded: true,
      async close() {
        await running.stop();
        await release();
      },
    };
  } catch (error) {
    await postgres?.stop().catch(() => undefined);
    await release();
    throw error;
  }
}

async function migrate(url: string): Promise<string[]> {
  return applyMigrations(url).catch((error: unknown) => {
    throw new StartupError(
      `Applying database migrations failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
}
