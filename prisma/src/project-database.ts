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

export async function openProjectDatabase(options: OpenOptions): Promise<ProjectDatabase> {
  const release = await acquireLock(
    path.join(options.dataDir, 'eos-fleet.lock'),
    `eos-fleet ${process.argv.slice(1).join(' ')}`,
  );
  let postgres: RunningPostgres | undefined;
  try {
    let url = options.databaseUrl;
    if (!url) {
      postgres = await startEmbeddedPostgres({
        dataDir: path.join(options.dataDir, 'postgres'),
        onLog: options.onLog,
      });
      await ensureDatabase(postgres, EMBEDDED_DATABASE);
      url = postgres.urlFor(EMBEDDED_DATABASE);
    }
    await checkReachable(url);
    const applied = await applyMigrations(url).catch((error: unknown) => {
      throw new StartupError(
        `Applying database migrations failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    const running = postgres;
    return {
      url,
      applied,
      embedded: Boolean(running),
      async close() {
        await running?.stop();
        await release();
      },
    };
  } catch (error) {
    await postgres?.stop().catch(() => undefined);
    await release();
    throw error;
  }
}
