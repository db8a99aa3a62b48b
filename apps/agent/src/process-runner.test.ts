import { describe, expect, it } from 'vitest';
import { combinedOutput, spawnProcess } from './process-runner';

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
});
