// Programmatic control of a booted testbed device: the supervisor runs in a child process of the
// caller (so a kexec's SIGKILLs never reach the test runner), and every read-out comes from files.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { requestBoot } from './boot-control';
import { devicePaths, type DevicePaths } from './device-layout';
import {
  readBootLog,
  readTestbedStatus,
  type BootRecord,
  type TestbedStatus,
} from './device-state';

const require = createRequire(import.meta.url);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const POLL_MS = 50;

export interface WaitOptions {
  timeoutMs?: number;
}

export class RunningTestbedDevice {
  readonly paths: DevicePaths;
  private readonly exited: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly supervisor: ChildProcess,
  ) {
    this.paths = devicePaths(dir);
    this.exited = new Promise((resolve) => supervisor.once('exit', () => resolve()));
  }

  status(): Promise<TestbedStatus> {
    return readTestbedStatus(this.dir);
  }

  bootLog(): Promise<BootRecord[]> {
    return readBootLog(this.dir);
  }

  /** Resolves once boot number `bootCount` (or a later one) has finished booting. */
  async waitForBoot(bootCount: number, options: WaitOptions = {}): Promise<TestbedStatus> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const status = await this.status();
      if (
        status.bootCount >= bootCount &&
        ['running', 'boot-failed', 'hung'].includes(status.phase)
      )
        return status;
      if (this.supervisor.exitCode !== null || this.supervisor.signalCode !== null) {
        throw new Error(
          `testbed supervisor of ${this.dir} exited while waiting for boot ${bootCount}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `boot ${bootCount} of ${this.dir} not done in time: ${JSON.stringify(status)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Power off and on: everything is SIGKILLed, a loaded kexec kernel is lost, the ESP decides. */
  async powerCycle(options?: WaitOptions): Promise<TestbedStatus> {
    const { bootCount } = await this.status();
    await requestBoot(this.dir, 'power-cycle');
    return this.waitForBoot(bootCount + 1, options);
  }

  /** An orderly reboot: services get SIGTERM (then SIGKILL after a grace period). */
  async reboot(options?: WaitOptions): Promise<TestbedStatus> {
    const { bootCount } = await this.status();
    await requestBoot(this.dir, 'reboot');
    return this.waitForBoot(bootCount + 1, options);
  }

  /** Stops the services and the supervisor. */
  async shutdown(): Promise<void> {
    if (this.supervisor.exitCode === null && this.supervisor.signalCode === null)
      this.supervisor.kill('SIGTERM');
    await this.exited;
  }
}

/** Starts the device's supervisor and waits for its first boot to finish. */
export async function bootTestbedDevice(
  dir: string,
  options: WaitOptions = {},
): Promise<RunningTestbedDevice> {
  const before = await readTestbedStatus(dir);
  const loader = pathToFileURL(require.resolve('tsx')).href;
  const supervisor = spawn(
    process.execPath,
    ['--import', loader, CLI, 'boot', dir, '--exit-with-parent'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const device = new RunningTestbedDevice(dir, supervisor);
  await device.waitForBoot(before.bootCount + 1, options);
  return device;
}
