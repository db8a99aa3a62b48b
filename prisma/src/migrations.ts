// Migrations without Prisma's native schema engine (it cannot be downloaded here): the WebAssembly
// schema engine from @prisma/schema-engine-wasm, driven through the pg driver adapter.
//
// - createMigration(name) diffs the schema saved with the newest migration against schema.prisma
//   (no database needed) and writes migrations/<timestamp>_<name>/{migration.sql,schema.prisma}.
// - applyMigrations(url) applies the pending ones and keeps Prisma's `_prisma_migrations` table, so
//   applying twice changes nothing and `prisma migrate` would agree with us.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type * as Engine from '@prisma/schema-engine-wasm/schema_engine_bg';

const require = createRequire(import.meta.url);
const PRISMA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_PATH = path.join(PRISMA_DIR, 'schema.prisma');
export const MIGRATIONS_DIR = path.join(PRISMA_DIR, 'migrations');
const LOCKFILE = 'migration_lock.toml';
const NO_FILTER = { externalTables: [], externalEnums: [] };

type EngineModule = typeof Engine;
// Node has WebAssembly; its type declarations ship with the DOM lib, which this package does not load.
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};
let engineModule: Promise<EngineModule> | undefined;

/** Instantiate the wasm once per process (Node 20 cannot import .wasm as an ES module). */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    // the package exports no path to its .wasm: find it beside the glue module
    const wasmPath = path.join(
      path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
      'schema_engine_bg.wasm',
    );
    // The engine arms timers (query timeouts) that would keep a finished process alive for
    // seconds: give it unref'd ones.
    const imports: Record<string, unknown> = { ...glue };
    for (const [name, fn] of Object.entries(glue)) {
      if (name.startsWith('__wbg_setTimeout_') && typeof fn === 'function') {
        imports[name] = (...args: unknown[]) => {
          const timer = (fn as (...a: unknown[]) => unknown)(...args);
          (timer as { unref?: () => void } | undefined)?.unref?.();
          return timer;
        };
      }
    }
    const { instance } = await WebAssembly.instantiate(await fs.readFile(wasmPath), {
      './schema_engine_bg.js': imports,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  return engineModule;
}

async function withEngine<T>(
  url: string,
  schema: string,
  use: (engine: Engine.SchemaEngine) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  // our own pool, so that it is closed when we are done
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const factory = new PrismaPg(pool);
  try {
    const adapter = bindMigrationAwareSqlAdapterFactory(factory);
    const engine = await SchemaEngine.new(
      { datamodels: [[SCHEMA_PATH, schema]] },
      () => {},
      adapter,
    );
    try {
      return await use(engine);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

export interface MigrationOnDisk {
  name: string;
  sql: string;
  /** the schema.prisma this migration brought the database to */
  schema: string | null;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationOnDisk[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      sql: await fs.readFile(path.join(dir, name, 'migration.sql'), 'utf8'),
      schema: await fs.readFile(path.join(dir, name, 'schema.prisma'), 'utf8').catch(() => null),
    })),
  );
}

function migrationsList(
  dir: string,
  migrations: MigrationOnDisk[],
  lockfile: string | null,
): Engine.MigrationList {
  return {
    baseDir: dir,
    lockfile: { path: LOCKFILE, content: lockfile },
    shadowDbInitScript: '',
    migrationDirectories: migrations.map((migration) => ({
      path: migration.name,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: migration.sql } },
    })),
  };
}

/**
 * SQL that takes a database from `fromSchema` (null: empty) to `toSchema`; empty when equal.
 * The diff itself reads no database, but the engine insists on connecting to one at start.
 */
export async function diffSchemas(
  url: string,
  fromSchema: string | null,
  toSchema: string,
): Promise<string> {
  return withEngine(url, toSchema, async (engine) => {
    const from: Engine.DiffTarget = fromSchema
      ? { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: fromSchema }] }
      : { tag: 'empty' };
    const result = await engine.diff({
      from,
      to: { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: toSchema }] },
      script: true,
      exitCode: null,
      filters: NO_FILTER,
    });
    return result.stdout ?? '';
  });
}

const EMPTY_MIGRATION = /^(\s|--[^\n]*\n?)*$/;

/** Write a new migration for the changes in schema.prisma; null when there are none. */
export async function createMigration(
  url: string,
  name: string,
  { dir = MIGRATIONS_DIR, schemaPath = SCHEMA_PATH, now = new Date() } = {},
): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error(`Migration name "${name}" must be lower-case letters, digits and underscores.`);
  }
  const migrations = await readMigrations(dir);
  const last = migrations.at(-1);
  if (last && last.schema === null) {
    throw new Error(`Migration ${last.name} has no schema.prisma snapshot to diff from.`);
  }
  const schema = await fs.readFile(schemaPath, 'utf8');
  const sql = await diffSchemas(url, last?.schema ?? null, schema);
  if (EMPTY_MIGRATION.test(sql)) return null;
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = `${stamp}_${name}`;
  await fs.mkdir(path.join(dir, folder), { recursive: true });
  await fs.writeFile(path.join(dir, folder, 'migration.sql'), sql);
  await fs.writeFile(path.join(dir, folder, 'schema.prisma'), schema);
  const lockPath = path.join(dir, LOCKFILE);
  if (!(await fs.stat(lockPath).catch(() => null))) {
    await fs.writeFile(
      lockPath,
      '# Please do not edit this file manually\nprovider = "postgresql"\n',
    );
  }
  return folder;
}

/** Apply pending migrations to the database at `url`; returns the names applied (none: up to date). */
export async function applyMigrations(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const lockfile = await fs.readFile(path.join(dir, LOCKFILE), 'utf8').catch(() => null);
  const schema = migrations.at(-1)?.schema ?? (await fs.readFile(SCHEMA_PATH, 'utf8'));
  return withEngine(url, schema, async (engine) => {
    const output = await engine.applyMigrations({
      migrationsList: migrationsList(dir, migrations, lockfile),
      filters: NO_FILTER,
    });
    return output.appliedMigrationNames;
  });
}
