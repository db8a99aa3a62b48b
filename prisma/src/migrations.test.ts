import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  applyMigrations,
  createMigration,
  MIGRATIONS_DIR,
  readMigrations,
  SCHEMA_PATH,
} from './migrations';
import { createTestDatabase, type TestDatabase } from './testing/test-database';

async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const result = await client.query<{ table_name: string }>(
    "select table_name from information_schema.tables where table_schema = 'public' order by 1",
  );
  await client.end();
  return result.rows.map((row) => row.table_name);
}

describe('migrations', () => {
  let database: TestDatabase;
  let empty: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(inject('postgresAdminUrl'));
    empty = await createTestDatabase(inject('postgresAdminUrl'), { migrated: false });
  });
  afterAll(async () => {
    await database.drop();
    await empty.drop();
  });

  it('applies every migration to an empty database, and applying again changes nothing', async () => {
    const all = (await readMigrations()).map((migration) => migration.name);
    expect(all.length).toBeGreaterThan(0);
    expect(await applyMigrations(empty.url)).toEqual(all);
    const after = await tables(empty.url);
    expect(after).toEqual(
      expect.arrayContaining(['device', 'command', 'rollout', 'audit_event', '_prisma_migrations']),
    );
    expect(await applyMigrations(empty.url)).toEqual([]);
    expect(await tables(empty.url)).toEqual(after);
  });

  it('the committed migrations match schema.prisma (no migration left to write)', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-migrations-'));
    await fs.cp(MIGRATIONS_DIR, dir, { recursive: true });
    expect(await createMigration(database.url, 'pending', { dir })).toBeNull();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('writes a migration for a schema change, which then applies', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-migrations-'));
    await fs.cp(MIGRATIONS_DIR, dir, { recursive: true });
    const changed = path.join(dir, 'schema.prisma');
    const schema = await fs.readFile(SCHEMA_PATH, 'utf8');
    await fs.writeFile(changed, `${schema}\nmodel Probe {\n  id Int @id\n  @@map("probe")\n}\n`);
    const folder = await createMigration(database.url, 'add_probe', {
      dir,
      schemaPath: changed,
      now: new Date('2099-01-01T00:00:00Z'),
    });
    expect(folder).toBe('20990101000000_add_probe');
    const sql = await fs.readFile(path.join(dir, folder ?? '', 'migration.sql'), 'utf8');
    expect(sql).toContain('CREATE TABLE "probe"');
    expect(await applyMigrations(database.url, dir)).toEqual([folder]);
    expect(await tables(database.url)).toContain('probe');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('rejects a migration name that would make a bad folder', async () => {
    await expect(createMigration(database.url, '../escape')).rejects.toThrow(/lower-case/);
  });
});
