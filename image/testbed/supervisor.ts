// The "machine" of a testbed device: one process per device that boots it, runs its services and
// goes through kexec, reboot and power cycle when asked (boot-control.ts). A boot:
//  1. picks the kernel command line: the kexec-loaded one after `kexec --exec`, otherwise what the
//     ESP's grub image selects (EOS's grub.cfg line for that root PARTUUID);
//  2. clears /run (tmpfs), writes /proc/cmdline, a new boot id, /dev/root and /etc/os-release;
//  3. without the commit gate: runs update_commit.service (`os-update --commit --reboot`) to its
//     end, then starts the device's services (each in its own process group, restarted on exit);
//     with the gate (gate.ts) on a COMMIT_UPDATE boot: starts the services, runs the overlay's
//     commit-gate, and update_commit.service only when the gate exited 0.
// Every action bumps a generation number; work of an older generation stops where it stands.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFile,
  mkdir,
  open,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { type RootSlot } from '@eos-fleet/shared';
import { readRootFacts } from '../src/root-header';
import { takeKexecImage, type BootAction, type BootRequest } from './boot-control';
import {
  bootSelectionOf,
  devicePaths,
  efiImageName,
  grubCmdline,
  readDeviceConfig,
  rootPartuuidOf,
  slotByPartuuid,
  writeFileAtomic,
  type DeviceConfig,
  type DevicePaths,
} from './device-layout';
import {
  readTestbedFaults,
  type BootKind,
  type BootRecord,
  type DeviceState,
} from './device-state';
import { DEVICE_MARKER, devicePids, killDevice, signalDevice } from './device-processes';
import { COMMIT_GATE_SCRIPT, gateEnabled, writeGateConf } from './gate';

const TERM_GRACE_MS = 3000;
const RESTART_DELAY_MS = 1000;

export class Supervisor {
  private readonly paths: DevicePaths;
  private generation = 0;
  private readonly children = new Set<ChildProcess>();
  private queue: Promise<void> = Promise.resolve();
  private state: DeviceState = { bootCount: 0, phase: 'off' };
  private isHalted = false;
  /** Starts per service in this boot: what systemctl's NRestarts says. */
  private readonly starts = new Map<string, number>();
  private resolveHalted: () => void = () => undefined;
  readonly halted: Promise<void>;

  private constructor(
    readonly dir: string,
    private config: DeviceConfig,
  ) {
    this.paths = devicePaths(dir);
    this.halted = new Promise<void>((resolve) => (this.resolveHalted = resolve));
  }

  /** Starts the machine of the device in `dir` in this process; resolves once it is powered on. */
  static async start(dir: string): Promise<Supervisor> {
    const supervisor = new Supervisor(dir, await readDeviceConfig(dir));
    await supervisor.powerOn();
    return supervisor;
  }

  private async powerOn(): Promise<void> {
    // Signal handlers do not keep Node running: a device without services must stay up too.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    void this.halted.then(() => clearInterval(keepAlive));
    await mkdir(this.paths.logs, { recursive: true });
    await mkdir(this.paths.requests, { recursive: true });
    this.state = await this.readState();
    await writeFile(this.paths.supervisorPid, `${process.pid}\n`);
    process.on('SIGUSR1', () => void this.takeRequests());
    process.on('SIGTERM', () => this.enqueue('halt'));
    process.on('SIGINT', () => this.enqueue('halt'));
    // A request kept while no supervisor ran (os-update's kexec or reboot -f) decides the first boot.
    const pending = await readFile(this.paths.pendingBoot, 'utf8').catch(() => undefined);
    await rm(this.paths.pendingBoot, { force: true });
    const pendingAction =
      pending === undefined ? undefined : (JSON.parse(pending) as BootRequest).action;
    this.enqueue(pendingAction === 'kexec' ? 'kexec' : 'power-on');
    await this.takeRequests();
  }

  private async readState(): Promise<DeviceState> {
    try {
      return JSON.parse(await readFile(this.paths.state, 'utf8')) as DeviceState;
    } catch {
      return { bootCount: 0, phase: 'off' };
    }
  }

  private async writeState(patch: Partial<DeviceState>): Promise<void> {
    this.state = { ...this.state, ...patch, supervisorPid: process.pid };
    await writeFileAtomic(this.paths.state, `${JSON.stringify(this.state, null, 2)}\n`);
  }

  private log(text: string): void {
    void appendFile(
      path.join(this.paths.logs, 'supervisor.log'),
      `${new Date().toISOString()} ${text}\n`,
    );
  }

  private async takeRequests(): Promise<void> {
    const names = (await readdir(this.paths.requests).catch(() => [] as string[]))
      .filter((name) => name.endsWith('.json'))
      .sort();
    for (const name of names) {
      const file = path.join(this.paths.requests, name);
      const text = await readFile(file, 'utf8').catch(() => undefined);
      await rm(file, { force: true });
      if (text === undefined) continue;
      const request = JSON.parse(text) as BootRequest;
      this.log(
        `request ${request.action}${request.requesterPid ? ` from pid ${request.requesterPid}` : ''}`,
      );
      this.enqueue(request.action);
      if (request.requesterPid && request.action !== 'reboot' && request.action !== 'halt') {
        killQuietly(request.requesterPid, 'SIGKILL');
      }
    }
  }

  private enqueue(action: BootAction | 'power-on'): void {
    const generation = ++this.generation;
    // SIGKILL actions take the machine down at once, whatever the queue is busy with.
    if (action !== 'reboot' && action !== 'halt') this.killAll('SIGKILL');
    this.queue = this.queue
      .then(() => this.perform(action, generation))
      .catch((error: unknown) => this.log(`error in ${action}: ${String(error)}`));
  }

  private async perform(action: BootAction | 'power-on', generation: number): Promise<void> {
    if (this.isHalted) return;
    // A newer action supersedes this one (it boots, halts or takes the machine down itself).
    if (generation !== this.generation && action !== 'halt') return;
    if (action === 'reboot' || action === 'halt') {
      await this.writeState({ phase: action === 'halt' ? 'halting' : 'rebooting' });
      await this.stopAll();
    } else {
      this.killAll('SIGKILL');
      await this.waitForChildren();
      await this.killEverything();
    }
    if (generation !== this.generation && action !== 'halt') return;
    if (action === 'halt') {
      this.isHalted = true;
      await this.writeState({ phase: 'off' });
      await rm(this.paths.supervisorPid, { force: true });
      this.resolveHalted();
      return;
    }
    const kind: BootKind =
      action === 'kexec'
        ? 'kexec'
        : action === 'power-on'
          ? 'power-on'
          : action === 'power-cycle'
            ? 'power-cycle'
            : 'reboot';
    await this.boot(kind, generation);
  }

  private async boot(kind: BootKind, generation: number): Promise<void> {
    // device.json is read at every boot: a test may change services, gate or dd settings between boots.
    this.config = await readDeviceConfig(this.dir);
    const { paths, config } = this;
    await this.writeState({ phase: 'booting' });
    // kexec --load lives in RAM: only `kexec --exec` uses it, any other boot loses it.
    const kexecImage = await takeKexecImage(this.dir);
    let cmdline: string | undefined;
    if (kind === 'kexec' && kexecImage) cmdline = kexecImage.cmdline;
    else {
      const efiImage = await readFile(
        path.join(paths.efiBootDir, efiImageName(config.arch)),
        'utf8',
      ).catch(() => '');
      const selected = bootSelectionOf(efiImage);
      cmdline = selected === undefined ? undefined : grubCmdline(selected);
    }
    const partuuid = cmdline === undefined ? undefined : rootPartuuidOf(cmdline);
    const slot = partuuid === undefined ? undefined : slotByPartuuid(config, partuuid);
    const facts =
      slot === undefined
        ? undefined
        : await readRootFacts(paths.slotFile(slot)).catch(() => undefined);

    await rm(paths.run, { recursive: true, force: true });
    await mkdir(paths.run, { recursive: true });
    const bootId = randomUUID();
    await mkdir(path.dirname(paths.bootId), { recursive: true });
    await writeFileAtomic(paths.bootId, `${bootId}\n`);
    await writeFileAtomic(paths.cmdline, `${cmdline ?? ''}\n`);
    await rm(paths.rootDevice, { force: true });
    if (slot !== undefined) await symlink(paths.slotFile(slot), paths.rootDevice);
    // /boot/uuid of the booted root: what `readlink /boot/uuid` gives os-update --commit.
    await rm(paths.bootUuidLink, { force: true });
    if (slot !== undefined) await symlink(config.bootUuid[slot] ?? '', paths.bootUuidLink);
    await rm(paths.serviceStates, { recursive: true, force: true });
    await mkdir(paths.serviceStates, { recursive: true });
    this.starts.clear();
    if (facts) {
      const osRelease = Object.entries(facts.fields)
        .map(([key, value]) => `${key}="${value}"`)
        .join('\n');
      await writeFileAtomic(path.join(paths.etc, 'os-release'), `${osRelease}\n`);
    }
    const bootCount = this.state.bootCount + 1;
    const record: BootRecord = {
      bootCount,
      bootId,
      kind,
      slot: slot ?? null,
      cmdline: cmdline ?? '',
      bootedAt: new Date().toISOString(),
    };
    await appendFile(paths.bootLog, `${JSON.stringify(record)}\n`);
    if (slot === undefined || !facts) {
      // No kernel to boot from that slot (never written, or garbage): the machine hangs here,
      // as a real one would at grub or in the initrd, until someone power cycles it.
      this.log(
        `boot ${bootCount} (${kind}) failed: no bootable root for ${cmdline ?? 'no boot selection'}`,
      );
      await this.writeState({
        ...record,
        phase: 'boot-failed',
        currentSlot: slot ?? null,
        commitGate: undefined,
      });
      return;
    }
    await this.writeState({
      ...record,
      phase: 'booting',
      currentSlot: slot,
      commitGate: undefined,
    });
    this.log(`boot ${bootCount} (${kind}) from ${slot}: ${cmdline ?? ''}`);

    if (kind === 'kexec' && (await readTestbedFaults(this.dir)).hangAfterKexec) {
      this.log(`boot ${bootCount} hangs before update_commit.service (injected fault)`);
      await this.writeState({ phase: 'hung' });
      return;
    }

    // The gate unit's ConditionKernelCommandLine=COMMIT_UPDATE: on other boots it is skipped.
    if (gateEnabled(config) && (cmdline ?? '').includes('COMMIT_UPDATE')) {
      for (const service of config.services) this.startService(service, generation);
      await this.writeState({ phase: 'running', commitGate: 'checking' });
      await writeGateConf(this.dir, config);
      const gate = this.spawnLogged(
        'eos-fleet-commit-gate',
        ['/bin/sh', COMMIT_GATE_SCRIPT],
        { EOS_FLEET_GATE_CONF: paths.gateConf },
        true,
      );
      const code = await exitOf(gate);
      if (generation !== this.generation) return;
      // A failed gate asked for the reboot itself (systemctl --no-block reboot), or stays (ON_FAILURE=stay).
      this.log(
        `commit gate exited ${code}${code === 0 ? '' : ': update_commit.service does not run'}`,
      );
      await this.writeState({ commitGate: code === 0 ? 'passed' : 'failed' });
      if (code !== 0) return;
      await this.runUpdateCommit();
      return;
    }
    // update_commit.service has no ordering of its own: as EOS boots, it runs before the services here.
    await this.runUpdateCommit();
    if (generation !== this.generation) return;
    for (const service of config.services) this.startService(service, generation);
    await this.writeState({ phase: 'running' });
  }

  /** update_commit.service: `os-update --commit --reboot` to its end (or the machine's). */
  private async runUpdateCommit(): Promise<void> {
    const commit = this.spawnLogged(
      'update_commit',
      [this.paths.osUpdate, '--commit', '--reboot'],
      {},
    );
    await exitOf(commit);
  }

  private async writeServiceState(
    name: string,
    active: boolean,
    generation: number,
  ): Promise<void> {
    if (generation !== this.generation) return;
    const restarts = Math.max(0, (this.starts.get(name) ?? 1) - 1);
    await writeFileAtomic(
      path.join(this.paths.serviceStates, `${name}.state`),
      `${active ? 'active' : 'inactive'} ${restarts}\n`,
    ).catch(() => undefined);
  }

  private startService(service: DeviceConfig['services'][number], generation: number): void {
    if (generation !== this.generation || this.isHalted) return;
    const [command, ...args] = service.command;
    if (command === undefined) return;
    this.starts.set(service.name, (this.starts.get(service.name) ?? 0) + 1);
    const child = this.spawnLogged(service.name, [command, ...args], service.env);
    void this.writeServiceState(service.name, true, generation);
    child.on('close', (code, signal) => {
      this.log(`service ${service.name} exited (${code ?? signal ?? '?'})`);
      void this.writeServiceState(service.name, false, generation);
      if (service.restart && generation === this.generation) {
        setTimeout(() => this.startService(service, generation), RESTART_DELAY_MS);
      }
    });
  }

  /** `hardware`: the hardware stand-ins first on the PATH (the gate's mountpoint, systemctl, reboot). */
  private spawnLogged(
    name: string,
    command: string[],
    env: Record<string, string>,
    hardware = false,
  ): ChildProcess {
    const [file = '', ...args] = command;
    const log = path.join(this.paths.logs, `${name}.log`);
    const child = spawn(file, args, {
      cwd: this.paths.root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: serviceEnv(this.paths, this.config, env, hardware),
    });
    void mkdir(this.paths.logs, { recursive: true }).then(async () => {
      const handle = await open(log, 'a');
      const stream = handle.createWriteStream();
      child.stdout?.pipe(stream, { end: false });
      child.stderr?.pipe(stream, { end: false });
      child.on('close', () => setTimeout(() => stream.end(), 50));
    });
    child.on('error', (error) => this.log(`${name}: ${error.message}`));
    this.children.add(child);
    child.on('close', () => this.children.delete(child));
    return child;
  }

  /** Every service's process group, and every other process of the device (device-processes.ts). */
  private killAll(signal: NodeJS.Signals): void {
    for (const child of this.children) {
      if (child.pid !== undefined) killQuietly(-child.pid, signal);
    }
    signalDevice(this.paths.root, signal);
  }

  /** Nothing of the old boot may live on into the next: kill until no process of the device is left. */
  private async killEverything(): Promise<void> {
    const left = await killDevice(this.paths.root);
    if (left.length > 0)
      this.log(`processes of the device still alive after SIGKILL: ${left.join(' ')}`);
  }

  private waitForChildren(timeoutMs = 10_000): Promise<void> {
    const pending = [...this.children].filter(
      (child) => child.exitCode === null && child.signalCode === null,
    );
    if (pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      let left = pending.length;
      for (const child of pending) {
        child.once('close', () => {
          if (--left === 0) {
            clearTimeout(timer);
            resolve();
          }
        });
      }
    });
  }

  /**
   * An orderly stop: SIGTERM to every process of the device (systemd's KillMode=control-group),
   * then SIGKILL for whatever is still there after a grace period.
   */
  private async stopAll(): Promise<void> {
    const graceOver = Date.now() + TERM_GRACE_MS;
    this.killAll('SIGTERM');
    await this.waitForChildren(TERM_GRACE_MS);
    // The services' tools (own process groups) may take a moment longer than the services.
    while (devicePids(this.paths.root).length > 0 && Date.now() < graceOver) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.killAll('SIGKILL');
    await this.waitForChildren();
    await this.killEverything();
  }
}

export function serviceEnv(
  paths: DevicePaths,
  config: DeviceConfig,
  extra: Record<string, string>,
  hardware = false,
): NodeJS.ProcessEnv {
  const path = `${paths.usrSbin}:${paths.usrBin}:${process.env.PATH ?? '/usr/bin:/bin'}:${paths.flakesBin}`;
  return {
    ...process.env,
    ...config.env,
    ...extra,
    EOS_TESTBED_DIR: paths.root,
    [DEVICE_MARKER]: paths.root,
    PATH: hardware ? `${paths.hardwareDir}:${path}` : path,
  };
}

/** The exit code of a child (128 + n for a signal), once it has closed. */
function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export type { RootSlot };
