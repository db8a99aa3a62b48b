import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { port, repoRoot, stateFile, type SystemState } from './system';

export default async function globalSetup() {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-e2e-data-'));
  const child = spawn(path.join(repoRoot, 'node_modules/.bin/tsx'), ['server.ts'], {
    cwd: path.join(repoRoot, 'apps/web'),
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      EOS_FLEET_DATA_DIR: dataDir,
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const until = Date.now() + 120_000;
  while (!output.includes('EOS Fleet is listening')) {
    if (child.exitCode !== null || Date.now() > until) {
      throw new Error(`EOS Fleet did not start for the e2e tests:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const email = output.match(/email\s+(\S+@\S+)/)?.[1];
  const password = output.match(/password\s+([A-Za-z0-9]{20})\b/)?.[1];
  if (!email || !password) throw new Error(`no admin credentials printed:\n${output}`);
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.stdout.resume();
  child.stderr.resume();
  child.unref();
  const state: SystemState = {
    pid: child.pid ?? 0,
    dataDir,
    adminEmail: email,
    adminOneTimePassword: password,
  };
  await fs.writeFile(stateFile, JSON.stringify(state));
}
