import fs from 'node:fs/promises';
import { stateFile, type SystemState } from './system';

export default async function globalTeardown() {
  const text = await fs.readFile(stateFile, 'utf8').catch(() => undefined);
  if (!text) return; // global setup failed before the system started
  const state = JSON.parse(text) as SystemState;
  try {
    process.kill(state.pid, 'SIGTERM');
  } catch {
    return;
  }
  // the server stops PostgreSQL on SIGTERM; wait for it before removing the data
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    try {
      process.kill(state.pid, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } catch {
      break;
    }
  }
  await fs.rm(state.dataDir, { recursive: true, force: true });
  await fs.rm(stateFile, { force: true });
}
