import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  fleetPort,
  port,
  repoRoot,
  SCALE_DEVICES,
  scalePort,
  stateFile,
  type StartedSystem,
  type SystemState,
} from './system';

/** What this setup started: stopped again if the other system fails to come up. */
const started: ChildProcess[] = [];

/** Start a process, wait for `ready` in its output, and read the printed admin credentials. */
async function startSystem(
  args: (dataDir: string) => string[],
  systemPort: number,
  ready: RegExp,
): Promise<StartedSystem & { output: string }> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-e2e-data-'));
  const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), args(dataDir), {
    cwd: path.join(repoRoot, 'apps/web'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(systemPort),
      HOST: '127.0.0.1',
      EOS_FLEET_DATA_DIR: dataDir,
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  started.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const until = Date.now() + 180_000;
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() > until)
      throw new Error(`${args(dataDir).join(' ')} did not start for the e2e tests:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const email = output.match(/email\s+(\S+@\S+)/)?.[1];
  const password = output.match(/password\s+([A-Za-z0-9]{20})\b/)?.[1];
  if (!email || !password) throw new Error(`no admin credentials printed:\n${output}`);
  // keep draining its output, so it never blocks on a full pipe
  child.stdout.removeAllListeners('data').resume();
  child.stderr.removeAllListeners('data').resume();
  child.unref();
  return {
    pid: child.pid ?? 0,
    dataDir,
    adminEmail: email,
    adminOneTimePassword: password,
    output,
  };
}

export default async function globalSetup() {
  const systems = Promise.all([
    startSystem(() => ['server.ts'], port, /EOS Fleet is listening/),
    startSystem(
      (dataDir) => [
        'src/server/cli/demo.ts',
        // one waits for acceptance (fleet.spec), three are accepted (fleet2-bulk-apply.spec)
        '--devices',
        '4',
        '--pending',
        '1',
        '--port',
        String(fleetPort),
        '--data-dir',
        dataDir,
      ],
      fleetPort,
      /DEMO-READY \{.*\}\n/,
    ),
    startSystem(
      (dataDir) => [
        'src/server/cli/scale-demo.ts',
        '--devices',
        String(SCALE_DEVICES),
        '--port',
        String(scalePort),
        '--data-dir',
        dataDir,
      ],
      scalePort,
      /SCALE-READY \{.*\}\n/,
    ),
  ]);
  const [dashboard, fleet, scale] = await systems.catch((error: unknown) => {
    for (const child of started) {
      try {
        if (child.pid) process.kill(child.pid, 'SIGTERM'); // tsx passes it on to the system
      } catch {
        // already gone
      }
    }
    throw error;
  });
  const demo = JSON.parse(fleet.output.match(/DEMO-READY (\{.*\})\n/)?.[1] ?? '{}') as {
    update: SystemState['fleet']['update'];
  };
  const { output: _a, ...dashboardState } = dashboard;
  const { output: _b, ...fleetState } = fleet;
  const { output: _c, ...scaleState } = scale;
  const state: SystemState = {
    dashboard: dashboardState,
    scale: scaleState,
    fleet: { ...fleetState, update: demo.update },
  };
  await fs.writeFile(stateFile, JSON.stringify(state));
}
