// Watching processes from tests: whether a tool (or what it started) is really gone.
import { readFileSync } from 'node:fs';

/** Alive and not a zombie (in a container nobody may reap an orphan: a zombie is gone for us). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

export async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > until) throw new Error(`process ${pid} is still running`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Reads "grandchild <pid>" as printed by the test tools that leave one behind. */
export function grandchildPid(text: string): number | null {
  const match = /grandchild (\d+)/.exec(text);
  return match?.[1] ? Number(match[1]) : null;
}
