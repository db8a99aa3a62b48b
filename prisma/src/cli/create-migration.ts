// npm run db:migration -- <name>: write a migration for what schema.prisma changed.
// The schema engine wants a live connection even to diff two files: without DATABASE_URL a
// throwaway embedded cluster serves.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../embedded-postgres';
import { createMigration } from '../migrations';
import { cliEnv } from './env';

const name = process.argv[2];
if (!name) {
  console.error('usage: npm run db:migration -- <name>   (e.g. add_device_groups)');
  process.exit(2);
}
const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-migration-'));
const { databaseUrl } = cliEnv();
const postgres = databaseUrl
  ? undefined
  : await startEmbeddedPostgres({ dataDir: path.join(scratch, 'pg') });
try {
  const url = databaseUrl ?? postgres?.url ?? '';
  const folder = await createMigration(url, name);
  console.log(
    folder
      ? `Created prisma/migrations/${folder}`
      : 'schema.prisma has no changes: no migration written.',
  );
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
} finally {
  await postgres?.stop();
  await fs.rm(scratch, { recursive: true, force: true });
}
