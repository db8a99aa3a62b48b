// Running EOS tools. Always an argv array with shell: false, so no parameter is ever parsed by a
// shell on the device. Injected into the command handlers so tests can use stub executables.
import { spawn } from 'node:child_process';
import { MAX_OUTPUT_CHARS } from '@eos-fleet/shared/protocol/index';

export interface RunOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  signal?: AbortSignal;
  /** Kills the process (SIGKILL) after this long: a hung tool must not block the runner forever. */
  timeoutMs?: number;
}

export interface ProcessResult {
  /** null when killed by a signal or not started. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
  /** Set when it was killed for running longer than timeoutMs. */
  timedOut?: boolean;
}

export type ProcessRunner = (argv: readonly string[], options?: RunOptions) => Promise<ProcessResult>;

/** Keeps the tail: the end of a tool's output is where it says what went wrong. */
function appendTail(buffer: string, chunk: string): string {
  const next = buffer + chunk;
  return next.length > MAX_OUTPUT_CHARS * 2 ? next.slice(-MAX_OUTPUT_CHARS) : next;
}

export const spawnProcess: ProcessRunner = (argv, options = {}) =>
  new Promise((resolve) => {
    const [command, ...args] = argv;
    if (command === undefined) {
      resolve({ exitCode: null, signal: null, stdout: '', stderr: '', spawnError: 'empty argv' });
      return;
    }
    let stdout = '';
    let stderr = '';
    let settled = false;
    const child = spawn(command, args, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout = appendTail(stdout, chunk);
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      stderr = appendTail(stderr, chunk);
      options.onStderr?.(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled || error.name === 'AbortError') return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode: null, signal: null, stdout, stderr, spawnError: `${command}: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ exitCode: code, signal, stdout, stderr, ...(timedOut ? { timedOut } : {}) });
    });
  });

/** stdout+stderr tail for a result's `output`. */
export function combinedOutput(result: ProcessResult): string {
  const text = [result.stdout, result.stderr, result.spawnError ?? ''].filter((s) => s.length > 0).join('\n');
  return text.length > MAX_OUTPUT_CHARS ? text.slice(-MAX_OUTPUT_CHARS) : text;
}
