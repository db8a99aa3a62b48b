// The systems under test, started by global-setup.ts:
// - "dashboard": the real web process as `npm start` runs it (after the build), with a fresh
//   embedded PostgreSQL: an empty fleet, for the operator specs;
// - "fleet": `npm run demo` with one EOS testbed device running the real agent that waits for
//   acceptance, and an update server offering a second image version, for the fleet specs.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const port = Number(process.env.E2E_PORT ?? 3217);
export const fleetPort = port + 1;
/** the scale demo: the dashboard over 10,000 simulated devices (cli/scale-demo.ts) */
export const scalePort = port + 2;
export const SCALE_DEVICES = 10_000;
export const baseUrl = `http://localhost:${port}`;
export const fleetUrl = `http://localhost:${fleetPort}`;
export const scaleUrl = `http://localhost:${scalePort}`;
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const stateFile = path.join(os.tmpdir(), `eos-fleet-e2e-${port}.json`);

export interface StartedSystem {
  pid: number;
  dataDir: string;
  adminEmail: string;
  /** the one-time password the first start printed */
  adminOneTimePassword: string;
}

export interface SystemState {
  dashboard: StartedSystem;
  scale: StartedSystem;
  fleet: StartedSystem & {
    update: {
      imageName: string;
      from: string;
      to: string;
      toRootSha256: string;
      toRootBytes: number;
    };
  };
}
