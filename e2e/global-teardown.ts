import fs from 'node:fs/promises';
import { stateFile, type StartedSystem, type SystemState } from './system';

async function stop(system: StartedSystem) {
  try {
    process.kill(system.pid, 'SIGTERM');
  } catch {
    return;
  }
  // each system stops its PostgreSQL (and the demo its devices) on SIGTERM: wait for that
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    try {
      process.kill(system.pid, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch {
      break;
    }
  }
  await fs.rm(system.dataDir, { recursive: true, force: true });
}

export default async function globalTeardown() {
  const text = await fs.readFile(stateFile, 'utf8').catch(() => undefined);
  if (!text) return; // global setup failed before the systems started
  const state = JSON.parse(text) as SystemState;
  await Promise.all([stop(state.dashboard), stop(state.fleet), stop(state.scale)]);
  await fs.rm(stateFile, { force: true });
  await fs.rm(`${stateFile}.viewer`, { force: true });
}
