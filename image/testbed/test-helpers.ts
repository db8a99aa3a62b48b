// Shared by the testbed's tests: run a device executable and collect what it printed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'vitest';
import { locateEosReference } from '../src/eos-reference';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by `run` after `timeoutMs`: it hung. */
  timedOut: boolean;
}

/**
 * Runs `file` in a process group of its own, so a call that hangs past `timeoutMs` is killed with
 * everything it started (EOS's os-update and its ssh).
 */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }, options.timeoutMs ?? 60_000);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** The fleet's shared key: ed25519 in OpenSSH format (ssh-keygen, as an operator makes it). */
export async function writeFleetKey(
  privatePath: string,
): Promise<{ privatePath: string; authorizedKey: string }> {
  const result = await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'fleet',
    '-f',
    privatePath,
  ]);
  if (result.code !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
  return { privatePath, authorizedKey: (await readFile(`${privatePath}.pub`, 'utf8')).trim() };
}

/**
 * A describe block that needs EOS's own os-update. Without it (no ../shared/eos-reference, see
 * EOS_REFERENCE_DIR) the block fails and says why: a test of EOS's behaviour that did not run
 * must not look green. (Devices still fall back to the stand-in, for the demo.)
 */
export function describeWithEos(name: string, body: () => void): void {
  const found = locateEosReference();
  if (!('missing' in found)) {
    describe(name, body);
    return;
  }
  describe(name, () => {
    it(`needs EOS's os-update: ${found.missing}`, () => {
      throw new Error(`this suite runs EOS's real os-update: ${found.missing}`);
    });
  });
}
