// Every process "on" a testbed device, found by a marker in its environment. The supervisor sets
// `EOS_TESTBED_DEVICE=DIR` in everything it starts (services, the commit gate, update_commit), and
// children inherit it through fork and exec: the agent's tools in their own process groups,
// os-update's ssh and dd, a daemon that called setsid. A process group or session does not hold
// them all (the agent starts each tool as a group leader), so when the machine goes down (kexec,
// `reboot -f`, power cycle, the end of an orderly reboot) the supervisor kills by marker, as the
// kernel ends everything on real hardware. A cgroup would do the same but is not available on
// every host (cgroup v1, no delegation); /proc is.
import { readdirSync, readFileSync } from 'node:fs';

export const DEVICE_MARKER = 'EOS_TESTBED_DEVICE';

/** The pids whose environment carries `EOS_TESTBED_DEVICE=root`, zombies (empty environ) aside. */
export function devicePids(root: string): number[] {
  const entry = Buffer.from(`${DEVICE_MARKER}=${root}\0`);
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    // Entries are NUL-terminated: match a whole entry, at the start or after a NUL.
    const at = environ.indexOf(entry);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) pids.push(pid);
  }
  return pids;
}

/** Signals every process of the device once; returns how many it found. */
export function signalDevice(root: string, signal: NodeJS.Signals): number {
  const pids = devicePids(root);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  }
  return pids.length;
}

/**
 * SIGKILLs every process of the device, again and again until a scan finds none: a process that
 * forked between a scan and its kill leaves a child the next scan finds, and a SIGKILLed process
 * stops matching once it is dead (a zombie has no environment). Resolves with the pids still
 * alive when `timeoutMs` is over (empty when the device is clean).
 */
export async function killDevice(root: string, timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signalDevice(root, 'SIGKILL') === 0) return [];
    if (Date.now() > deadline) return devicePids(root);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
