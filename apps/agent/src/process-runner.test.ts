import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { combinedOutput, spawnProcess } from './process-runner';
import { grandchildPid, waitUntilGone } from './testing/processes';

/** A tool that leaves a grandchild behind: prints the grandchild's pid, then waits for it. */
const WITH_GRANDCHILD = ['/bin/sh', '-c', 'sleep 1000 & echo "grandchild $!"; wait'];

describe('process runner', () => {
  it('passes argv without a shell', async () => {
    const result = await spawnProcess(['/bin/echo', '$(id)', '; rm -rf /', '`x`']);
    expect(result).toMatchObject({ exitCode: 0, stdout: '$(id) ; rm -rf / `x`\n' });
  });

  it('reports a missing executable instead of throwing', async () => {
    const result = await spawnProcess(['/nonexistent/os-update', '--check']);
    expect(result.exitCode).toBeNull();
    expect(result.spawnError).toMatch(/ENOENT/);
    expect(combinedOutput(result)).toMatch(/ENOENT/);
  });

  it('kills a tool that runs past its timeout', async () => {
    const result = await spawnProcess(['/bin/sleep', '30'], { timeoutMs: 100 });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
  });

  it('kills the whole process group on timeout: no grandchild survives', async () => {
    let pid: number | null = null;
    const result = await spawnProcess(WITH_GRANDCHILD, {
      timeoutMs: 300,
      onStdout: (chunk) => (pid ??= grandchildPid(chunk)),
    });
    expect(result.timedOut).toBe(true);
    expect(pid).not.toBeNull();
    await waitUntilGone(pid ?? 0);
  });

  it('ends the whole process group when aborted (the agent stopping)', async () => {
    const abort = new AbortController();
    let pid: number | null = null;
    const running = spawnProcess(WITH_GRANDCHILD, {
      signal: abort.signal,
      onStdout: (chunk) => {
        pid ??= grandchildPid(chunk);
        abort.abort();
      },
    });
    const result = await running;
    expect(result.signal).toBe('SIGTERM');
    await waitUntilGone(pid ?? 0);
  });

  it('returns when the tool exited although a grandchild keeps its pipes open', async () => {
    // sh exits at once; the background sleep holds stdout. Without a bound, the runner would wait
    // for the sleep (here 1000 s) and block every later command.
    const started = Date.now();
    let pid: number | null = null;
    const result = await spawnProcess(
      ['/bin/sh', '-c', 'sleep 1000 & echo "grandchild $!"; exit 0'],
      {
        onStdout: (chunk) => (pid ??= grandchildPid(chunk)),
      },
    );
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    await waitUntilGone(pid ?? 0);
  }, 40_000);

  it('kills the tool groups when the agent process exits', async () => {
    // A node process that starts a tool through the runner and then exits, as the agent does on
    // SIGTERM. Its exit hook must take the tool and its grandchild along.
    const script = `
      import { spawnProcess, killAllToolGroups } from ${JSON.stringify(new URL('./process-runner.ts', import.meta.url).pathname)};
      process.on('exit', () => killAllToolGroups());
      void spawnProcess(['/bin/sh', '-c', 'sleep 1000 & echo "grandchild $!"; wait'], {
        onStdout: (chunk) => { process.stdout.write(chunk); setTimeout(() => process.exit(0), 50); },
      });
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    const pid = grandchildPid(out);
    expect(pid).not.toBeNull();
    await waitUntilGone(pid ?? 0);
  }, 30_000);
});
