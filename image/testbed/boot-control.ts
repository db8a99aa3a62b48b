// How a stand-in reaches the device's "hardware": kexec, reboot and power cycle are requests to the
// supervisor process of the device (a request file, then SIGUSR1 to the pid it recorded). With no
// supervisor running, the request is kept for the next boot, as if the machine had gone down.
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { devicePaths, writeFileAtomic } from './device-layout';

export const BOOT_ACTIONS = ['kexec', 'reboot-forced', 'reboot', 'power-cycle', 'halt'] as const;
/**
 * kexec: `kexec --exec` (SIGKILL everything, boot the loaded kernel); reboot-forced: `reboot -f`
 * (SIGKILL, boot what the ESP selects); reboot: an orderly reboot (SIGTERM first); power-cycle:
 * SIGKILL, kexec image lost, boot what the ESP selects; halt: stop the device.
 */
export type BootAction = (typeof BOOT_ACTIONS)[number];

export interface BootRequest {
  action: BootAction;
  /** The requesting process dies with the machine (os-update never returns from kexec). */
  requesterPid?: number;
  requestedAt: string;
}

/** What `kexec --load` keeps in memory until `kexec --exec`, a reboot or a power loss. */
export interface KexecImage {
  kernel: string;
  initrd: string;
  cmdline: string;
}

export async function readSupervisorPid(dir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(devicePaths(dir).supervisorPid, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Returns whether a running supervisor took the request. */
export async function requestBoot(
  dir: string,
  action: BootAction,
  requesterPid?: number,
): Promise<boolean> {
  const paths = devicePaths(dir);
  const request: BootRequest = {
    action,
    requestedAt: new Date().toISOString(),
    ...(requesterPid ? { requesterPid } : {}),
  };
  const pid = await readSupervisorPid(dir);
  if (pid === undefined) {
    if (action !== 'halt') await writeFileAtomic(paths.pendingBoot, JSON.stringify(request));
    return false;
  }
  await mkdir(paths.requests, { recursive: true });
  const name = `${Date.now().toString().padStart(15, '0')}-${randomBytes(4).toString('hex')}.json`;
  await writeFileAtomic(path.join(paths.requests, name), JSON.stringify(request));
  process.kill(pid, 'SIGUSR1');
  return true;
}

export async function loadKexecImage(dir: string, image: KexecImage): Promise<void> {
  await writeFileAtomic(devicePaths(dir).kexecLoaded, JSON.stringify(image));
}

export async function takeKexecImage(dir: string): Promise<KexecImage | undefined> {
  const file = devicePaths(dir).kexecLoaded;
  try {
    const image = JSON.parse(await readFile(file, 'utf8')) as KexecImage;
    return image;
  } catch {
    return undefined;
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * The calling process is "on the machine" that goes down: with a supervisor it is SIGKILLed by
 * it; without one it kills itself. Either way this never returns.
 */
export async function goDown(dir: string, action: 'kexec' | 'reboot-forced'): Promise<never> {
  const delivered = await requestBoot(dir, action, process.pid);
  if (!delivered) process.kill(process.pid, 'SIGKILL');
  // Wait for the supervisor's SIGKILL; should it never come, still never return.
  for (;;) await new Promise((resolve) => setTimeout(resolve, 60_000));
}
