// The environment of the db package's command-line tools, read in this one place.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function cliEnv() {
  return {
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir: path.resolve(process.env.EOS_FLEET_DATA_DIR ?? path.join(REPO_ROOT, '.data')),
  };
}
