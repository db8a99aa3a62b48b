// The system under test: the real web process (as `npm start` runs it, after the build) with a
// fresh embedded PostgreSQL in a temporary data directory.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const port = Number(process.env.E2E_PORT ?? 3217);
export const baseUrl = `http://localhost:${port}`;
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const stateFile = path.join(os.tmpdir(), `eos-fleet-e2e-${port}.json`);

/** What global setup learned from the started system, for the specs. */
export interface SystemState {
  pid: number;
  dataDir: string;
  adminEmail: string;
  /** the one-time password the first start printed */
  adminOneTimePassword: string;
}
