// Running EOS tools. Always an argv array with shell: false, so no parameter is ever parsed by a
// shell on the device. Injected into the command handlers so tests can use stub executables.
//
// Each tool runs as the leader of its own process group, and the agent ends the whole group, not
// just the process it started: os-update is a bash script whose ssh and dd are grandchildren, and
// killing only bash would leave dd writing a slot (or ssh holding a stream open) after a timeout.
// The group is killed on timeout (SIGKILL), on abort (agent stopping: SIGTERM, SIGKILL after a
// grace), when the tool exited but something of its group keeps its output pipes open, and when
// the agent process exits (SIGKILL, see killAllToolGroups). A SIGKILL of the agent itself cannot
// be caught: there systemd's KillMode=control-group ends the tools (eos-fleet-agent.service).
import { type ChildProcess, spawn } from 'node:child_process';
import { MAX_OUTPUT_CHARS } from '@eos-fleet/shared/protocol/index';

export interface RunOptions {
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Aborting ends the tool's process group (SIGTERM, then SIGKILL after ABORT_GRACE_MS). */
  signal?: AbortSignal;
  /** Kills the process group (SIGKILL) after this long: a hung tool must not block the runner. */
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

export type ProcessRunner = (
  argv: readonly string[],
  options?: RunOptions,
) => Promise<ProcessResult>;

/** Between SIGTERM and SIGKILL when the agent stops: os-update's dd and ssh need no more. */
const ABORT_GRACE_MS = 2000;
/**
 * After the tool itself exited, how long its output pipes may stay open (held by a grandchild it
 * left running). Past that the result is taken as it is, so such a leftover cannot block the
 * one-at-a-time runner.
 */
const PIPES_AFTER_EXIT_MS = 10_000;

/** Process group ids of the tools running now. */
const liveGroups = new Set<number>();

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/**
 * Ends every tool group still running. Synchronous, for process.on('exit'): when the agent dies
 * (or systemd stops it), nothing it started may keep writing a slot or holding a stream.
 */
export function killAllToolGroups(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pgid of liveGroups) killGroup(pgid, signal);
}

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
    if (options.signal?.aborted) {
      resolve({
        exitCode: null,
        signal: null,
        stdout: '',
        stderr: '',
        spawnError: `${command}: not started, the agent is stopping`,
      });
      return;
    }
    let stdout = '';
    let stderr = '';
    let settled = false;
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    let child: ChildProcess;
    try {
      // detached: the child leads a new process group (setsid), so -pid reaches its descendants.
      child = spawn(command, args, {
        shell: false,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (error) {
      resolve({
        exitCode: null,
        signal: null,
        stdout,
        stderr,
        spawnError: `${command}: ${(error as Error).message}`,
      });
      return;
    }
    const pgid = child.pid;
    if (pgid !== undefined) liveGroups.add(pgid);
    const onAbort = (): void => {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      timers.push(setTimeout(() => killGroup(pgid, 'SIGKILL'), ABORT_GRACE_MS).unref());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined && pgid !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          killGroup(pgid, 'SIGKILL');
        }, options.timeoutMs),
      );
    }
    const settle = (result: ProcessResult, killLeftovers: boolean): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (pgid !== undefined) {
        // Given up on (timeout, abort, pipes held open): nothing of the group may linger. After a
        // normal end the group is left alone: what a tool left running on purpose is its business.
        if (killLeftovers || timedOut || options.signal?.aborted) killGroup(pgid, 'SIGKILL');
        liveGroups.delete(pgid);
      }
      resolve(result);
    };
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdout = appendTail(stdout, chunk);
      options.onStdout?.(chunk);
    });
    child.stderr?.on('data', (chunk: string) => {
      stderr = appendTail(stderr, chunk);
      options.onStderr?.(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      settle(
        {
          exitCode: null,
          signal: null,
          stdout,
          stderr,
          spawnError: `${command}: ${error.message}`,
        },
        true,
      );
    });
    child.on('exit', (code, signal) => {
      if (settled) return;
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          settle(
            { exitCode: code, signal, stdout, stderr, ...(timedOut ? { timedOut } : {}) },
            true,
          );
        }, PIPES_AFTER_EXIT_MS),
      );
    });
    child.on('close', (code, signal) => {
      settle({ exitCode: code, signal, stdout, stderr, ...(timedOut ? { timedOut } : {}) }, false);
    });
  });

/** stdout+stderr tail for a result's `output`. */
export function combinedOutput(result: ProcessResult): string {
  const text = [result.stdout, result.stderr, result.spawnError ?? '']
    .filter((s) => s.length > 0)
    .join('\n');
  return text.length > MAX_OUTPUT_CHARS ? text.slice(-MAX_OUTPUT_CHARS) : text;
}
