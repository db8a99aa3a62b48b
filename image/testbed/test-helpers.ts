// Shared by the testbed's tests: run a device executable and collect what it printed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The fleet's shared key: ed25519 in OpenSSH format (ssh-keygen, as an operator makes it). */
export async function writeFleetKey(privatePath: string): Promise<{ privatePath: string; authorizedKey: string }> {
  const result = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleet', '-f', privatePath]);
  if (result.code !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return { privatePath, authorizedKey: (await readFile(`${privatePath}.pub`, 'utf8')).trim() };
}
