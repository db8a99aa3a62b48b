// Lays out a testbed device from an EOS disk image: slot A is the image's p.lxreadonly, slot B an
// empty partition of the size the image's p.lxrootclone1 has, the firmware partition is p.UEFI,
// and the ESP boots slot A, as on a freshly flashed disk.
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  open,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  ROOT_SLOTS,
  deterministicGuid,
  findPartition,
  readGptFile,
  type GptPartition,
} from '@eos-fleet/shared';
import { locateEosReference } from '../src/eos-reference';
import { deviceCommandBundle } from './device-bundle';
import { sshWrapper } from './network';
import { shellQuote, writeEosOsUpdate, writeHardwareStandIns } from './hardware';
import {
  deviceConfigSchema,
  devicePaths,
  earlybootCfg,
  efiImageName,
  type DeviceConfig,
  type DevicePaths,
  type FlakeListStyle,
  type GateSettings,
  type TestbedService,
} from './device-layout';

export interface CreateTestbedDeviceOptions {
  /** An empty or missing directory; the device lives only there. */
  dir: string;
  /** An EOS GPT disk image (raw, or `.xz`) as image/src's buildEosImage writes. */
  image: string;
  updateServer: { host: string; sshPort: number; user: string };
  /** The fleet's shared private key, which the device's fleet container carries. */
  fleetKeyPath: string;
  /** The update stream name of /etc/os-update.yml (`update.name`, no `.raw`). */
  name: string;
  services?: TestbedService[];
  flakeListStyle?: FlakeListStyle;
  unavailablePulls?: string[];
  dd?: { progressIntervalMs?: number; bytesPerSecond?: number };
  env?: Record<string, string>;
  arch?: DeviceConfig['arch'];
  label?: string;
  /** The commit gate's settings (device.json `gate`). */
  gate?: GateSettings;
  /** `eos` (default): EOS's own os-update when it can be found (locateEosReference); `stand-in`: ours. */
  osUpdate?: 'eos' | 'stand-in';
}

export interface TestbedDeviceInfo {
  dir: string;
  paths: DevicePaths;
  config: DeviceConfig;
}

/** An executable that runs one of the stand-ins (the device's bundle) for this device. */
function standInScript(tool: string, dir: string, bundle: string): string {
  return (
    '#!/bin/sh\n' +
    `# EOS testbed stand-in for ${tool} (see image/testbed/README.md)\n` +
    `exec ${shellQuote(process.execPath)} ${shellQuote(bundle)} ${tool} ${shellQuote(dir)} "$@"\n`
  );
}

async function writeExecutable(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content, { mode: 0o755 });
  await chmod(file, 0o755);
}

async function copyRange(source: string, partition: GptPartition, target: string): Promise<void> {
  await pipeline(
    createReadStream(source, {
      start: partition.offset,
      end: partition.offset + partition.size - 1,
    }),
    createWriteStream(target),
  );
}

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

async function isXz(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(XZ_MAGIC.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return bytesRead === head.length && head.equals(XZ_MAGIC);
  } finally {
    await handle.close();
  }
}

/** By content, not by name: a published EOS.*.raw.xz may have been saved under any name. */
async function decompressIfXz(
  image: string,
): Promise<{ raw: string; cleanup: () => Promise<void> }> {
  if (!(await isXz(image))) return { raw: image, cleanup: () => Promise.resolve() };
  const temp = await mkdtemp(path.join(tmpdir(), 'eos-testbed-image-'));
  const raw = path.join(temp, path.basename(image, '.xz'));
  const xz = spawn('xz', ['-dc', image], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number>((resolve) => xz.on('close', (code) => resolve(code ?? 1)));
  if (!xz.stdout) throw new Error('xz stdout is not piped');
  await pipeline(xz.stdout, createWriteStream(raw));
  if ((await done) !== 0) throw new Error(`xz -dc ${image} failed`);
  return { raw, cleanup: () => rm(temp, { recursive: true, force: true }) };
}

let namespaces: string | undefined | null = null;

/** Why this machine cannot give os-update a mount namespace (root and unshare -m), if it cannot. */
function namespaceProblem(): string | undefined {
  if (namespaces === null) {
    const probe = spawnSync('/usr/bin/unshare', ['--mount', '--propagation', 'private', 'true'], {
      encoding: 'utf8',
    });
    namespaces =
      probe.status === 0
        ? undefined
        : `no mount namespace for it here (unshare -m: ${(probe.stderr || probe.error?.message || 'failed').trim()})`;
  }
  return namespaces;
}

const announced = new Set<string>();

/** Which os-update a new device runs; a fallback is said once per process, in one line. */
function chooseOsUpdate(wanted: 'eos' | 'stand-in'): DeviceConfig['osUpdate'] {
  if (wanted === 'stand-in')
    return { kind: 'stand-in', reason: 'asked for (createTestbedDevice osUpdate: stand-in)' };
  const found = locateEosReference();
  // CI has ../shared beside the clone: there a missing folder is a broken checkout, not a fallback.
  if ('missing' in found && process.env.CI === 'true')
    throw new Error(`CI must run EOS's own os-update: ${found.missing}`);
  const reason = 'missing' in found ? found.missing : namespaceProblem();
  if (reason === undefined && !('missing' in found)) return { kind: 'eos', script: found.osUpdate };
  const line = `EOS testbed: devices run the testbed's os-update stand-in, not EOS's own: ${reason ?? ''}`;
  if (!announced.has(line)) {
    announced.add(line);
    process.stderr.write(`${line}\n`);
  }
  return { kind: 'stand-in', reason: reason ?? '' };
}

export async function createTestbedDevice(
  options: CreateTestbedDeviceOptions,
): Promise<TestbedDeviceInfo> {
  const dir = path.resolve(options.dir);
  const paths = devicePaths(dir);
  const { raw, cleanup } = await decompressIfXz(options.image);
  try {
    const layout = await readGptFile(raw);
    const slotA = findPartition(layout, 'p.lxreadonly');
    const slotB = findPartition(layout, 'p.lxrootclone1');
    const esp = findPartition(layout, 'p.UEFI');
    if (!slotA || !esp) throw new Error(`${options.image}: no p.lxreadonly or p.UEFI partition`);
    if (!slotB)
      throw new Error(
        `${options.image}: no p.lxrootclone1: a Static image cannot update, the testbed needs A/B`,
      );

    for (const sub of [
      paths.disk,
      paths.requests,
      paths.logs,
      paths.run,
      path.dirname(paths.cmdline),
      path.dirname(paths.bootId),
    ]) {
      await mkdir(sub, { recursive: true });
    }
    await copyRange(raw, slotA, paths.slotFile('p.lxreadonly'));
    // Slot B as on a fresh disk: allocated, never written (a sparse file of the partition size).
    await writeFile(paths.slotFile('p.lxrootclone1'), '');
    await truncate(paths.slotFile('p.lxrootclone1'), slotB.size);
    await copyRange(raw, esp, paths.espPartition);

    const partitions = { 'p.lxreadonly': slotA, 'p.lxrootclone1': slotB };
    const config: DeviceConfig = deviceConfigSchema.parse({
      version: 1,
      label: options.label ?? path.basename(dir),
      arch: options.arch ?? 'x86_64',
      slots: Object.fromEntries(
        ROOT_SLOTS.map((slot) => [
          slot,
          {
            file: path.relative(dir, paths.slotFile(slot)),
            size: partitions[slot].size,
            partuuid: partitions[slot].uniqueGuid.toLowerCase(),
          },
        ]),
      ),
      esp: {
        file: path.relative(dir, paths.espPartition),
        size: esp.size,
        partuuid: esp.uniqueGuid.toLowerCase(),
      },
      bootUuid: Object.fromEntries(
        ROOT_SLOTS.map((slot) => [
          slot,
          deterministicGuid(`${partitions[slot].uniqueGuid}/boot/uuid`).toLowerCase(),
        ]),
      ),
      services: options.services ?? [],
      flakeListStyle: options.flakeListStyle ?? 'formats',
      unavailablePulls: options.unavailablePulls ?? [],
      dd: {
        progressIntervalMs: options.dd?.progressIntervalMs ?? 1000,
        ...(options.dd?.bytesPerSecond ? { bytesPerSecond: options.dd.bytesPerSecond } : {}),
      },
      env: options.env ?? {},
      osUpdate: chooseOsUpdate(options.osUpdate ?? 'eos'),
      ...(options.gate ? { gate: options.gate } : {}),
    });
    await writeFile(paths.config, `${JSON.stringify(config, null, 2)}\n`);

    // /dev/disk links, as udev makes them; /dev/root appears at boot.
    await mkdir(paths.byPartlabel, { recursive: true });
    const byPartuuid = path.join(paths.root, 'dev', 'disk', 'by-partuuid');
    await mkdir(byPartuuid, { recursive: true });
    for (const slot of ROOT_SLOTS) {
      await symlink(paths.slotFile(slot), path.join(paths.byPartlabel, slot));
      await symlink(paths.slotFile(slot), path.join(byPartuuid, config.slots[slot].partuuid));
    }
    await symlink(paths.espPartition, path.join(paths.byPartlabel, 'p.UEFI'));
    await symlink(paths.espPartition, path.join(byPartuuid, config.esp.partuuid));

    // The ESP as mounted at /boot/efi, booting slot A.
    await mkdir(paths.efiBootDir, { recursive: true });
    const cfg = earlybootCfg(
      config.bootUuid['p.lxreadonly'] ?? '',
      config.slots['p.lxreadonly'].partuuid,
    );
    await writeFile(paths.earlybootCfg, cfg);
    await writeFile(
      path.join(paths.efiBootDir, efiImageName(config.arch)),
      `# testbed stand-in for a grub2-mkimage ${config.arch}-efi image, embedded config:\n${cfg}`,
    );

    await mkdir(path.dirname(paths.osUpdateYml), { recursive: true });
    const { host, sshPort, user } = options.updateServer;
    await writeFile(
      paths.osUpdateYml,
      `---\nupdate:\n  pkey: ${paths.fleetKey}\n  server: ${user}@${host}\n  name: ${options.name}\n`,
    );
    // The port lives in the device's ssh_config, so os-update's ssh command lines stay EOS's own.
    await mkdir(path.dirname(paths.sshConfig), { recursive: true });
    await writeFile(
      paths.sshConfig,
      '# EOS testbed: the update server of this device listens on a non-22 port.\n' +
        `Host *\n  Port ${sshPort}\n  BatchMode yes\n  ConnectTimeout 10\n`,
    );
    await writeExecutable(paths.ssh, sshWrapper(dir));
    await mkdir(path.dirname(paths.standInBundle), { recursive: true });
    await writeFile(paths.standInBundle, await deviceCommandBundle());
    await writeHardwareStandIns(dir, config, {
      execPath: process.execPath,
      bundle: paths.standInBundle,
    });
    if (config.osUpdate.kind === 'eos') await writeEosOsUpdate(dir, config.osUpdate.script);
    else
      await writeExecutable(paths.osUpdate, standInScript('os-update', dir, paths.standInBundle));
    await writeExecutable(paths.fleet, standInScript('fleet', dir, paths.standInBundle));
    await writeExecutable(paths.flakeCtl, standInScript('flake-ctl', dir, paths.standInBundle));
    for (const pilot of [paths.podmanPilot, paths.firecrackerPilot]) {
      await writeExecutable(
        pilot,
        `#!/bin/sh\necho "EOS testbed: ${path.basename(pilot)} cannot start $(basename "$0"): no container or VM engine here" >&2\nexit 1\n`,
      );
    }

    // The writable area and the links EOS's config.sh makes into it.
    await mkdir(path.join(paths.stateDir, 'flakes', 'bin'), { recursive: true });
    await mkdir(path.join(paths.stateDir, 'firecracker', 'images'), { recursive: true });
    await mkdir(path.dirname(paths.flakesDir), { recursive: true });
    await symlink(path.join(paths.stateDir, 'flakes'), paths.flakesDir);
    await mkdir(path.join(paths.root, 'var', 'lib'), { recursive: true });
    await symlink(
      path.join(paths.stateDir, 'firecracker'),
      path.join(paths.root, 'var', 'lib', 'firecracker'),
    );

    await mkdir(path.dirname(paths.fleetContainerKey), { recursive: true });
    await copyFile(options.fleetKeyPath, paths.fleetContainerKey);
    await chmod(paths.fleetContainerKey, 0o600);
    await stat(paths.fleetContainerKey);
    return { dir, paths, config };
  } finally {
    await cleanup();
  }
}

/** The agent config's `stateDir` and `paths` for a testbed device (packages/shared agent-config). */
export function testbedAgentPaths(dir: string) {
  const paths = devicePaths(dir);
  return {
    stateDir: path.join(paths.stateDir, 'eos-fleet'),
    paths: {
      osUpdate: paths.osUpdate,
      fleet: paths.fleet,
      flakeCtl: paths.flakeCtl,
      rootDevice: paths.rootDevice,
      diskByDir: path.join(paths.root, 'dev', 'disk'),
      flakesDir: paths.flakesDir,
      osUpdateConfig: paths.osUpdateYml,
      cmdline: paths.cmdline,
      bootId: paths.bootId,
      osRelease: path.join(paths.etc, 'os-release'),
      commitGateReport: paths.gateReport,
    },
  };
}
