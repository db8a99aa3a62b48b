// Where everything of one testbed device lives inside its directory, and its testbed config.
// Invariant: every path a stand-in touches is below the device directory; nothing is shared
// between devices, so any number of them can run side by side.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ROOT_SLOTS, type RootSlot } from '@eos-fleet/shared';
import { writeFileAtomic as writeFileDurably } from '@eos-fleet/shared/atomic-write';

export const FLAKE_LIST_STYLES = ['legacy', 'formats'] as const;
/** `legacy`: flake-pilot before v3.1.39 (`- name` lines only); `formats`: `--format table|json|csv`. */
export type FlakeListStyle = (typeof FLAKE_LIST_STYLES)[number];

const serviceSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  command: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()).default({}),
  /** systemd `Restart=always` with a short delay; off for one-shot helpers. */
  restart: z.boolean().default(true),
});
export type TestbedService = z.input<typeof serviceSchema>;

const partitionSchema = z.object({
  file: z.string(),
  size: z.number().int().positive(),
  partuuid: z.string(),
});

export const deviceConfigSchema = z.object({
  version: z.literal(1),
  /** Free-form label for logs; EOS devices have no identity of their own (hostname EOS). */
  label: z.string(),
  arch: z.enum(['x86_64', 'aarch64']),
  slots: z.object({ 'p.lxreadonly': partitionSchema, 'p.lxrootclone1': partitionSchema }),
  esp: partitionSchema,
  /** What `readlink /boot/uuid` gives on each slot: grub searches the root by this file. */
  bootUuid: z.record(z.string(), z.string()),
  services: z.array(serviceSchema).default([]),
  flakeListStyle: z.enum(FLAKE_LIST_STYLES).default('formats'),
  /** Podman URIs and firecracker URLs whose pull fails as if the registry lacked them. */
  unavailablePulls: z.array(z.string()).default([]),
  dd: z
    .object({
      progressIntervalMs: z.number().int().positive().default(1000),
      bytesPerSecond: z.number().positive().optional(),
    })
    .default({ progressIntervalMs: 1000 }),
  /** Extra environment for services (the agent's config path, for instance). */
  env: z.record(z.string(), z.string()).default({}),
  /** Which os-update the device runs: EOS's own script, or the testbed's stand-in and why. */
  osUpdate: z
    .discriminatedUnion('kind', [
      z.object({ kind: z.literal('eos'), script: z.string() }),
      z.object({ kind: z.literal('stand-in'), reason: z.string() }),
    ])
    .default({ kind: 'stand-in', reason: "created before the testbed ran EOS's os-update" }),
  /**
   * The EOS Fleet commit gate (image/overlay) on a COMMIT_UPDATE boot: the services start, the gate
   * runs, and `os-update --commit --reboot` runs only when it passed. Values go to its conf.
   */
  gate: z
    .object({
      /** Default: on when the device has the agent's service. */
      enabled: z.boolean().optional(),
      /** The service that is the agent (EOS: eos-fleet-agent.service). */
      agentService: z.string().default('eos-fleet-agent'),
      /** The agent's CLI (`AGENT`); default: the agent service's command without its `--config PATH`. */
      agent: z.array(z.string()).min(1).optional(),
      /** `AGENT_CONFIG`; default: the `--config` value of the agent service's command. */
      agentConfig: z.string().optional(),
      requireGateway: z.boolean().default(true),
      healthTimeoutSeconds: z.number().int().nonnegative().default(300),
      settleSeconds: z.number().int().nonnegative().default(30),
      pollSeconds: z.number().int().positive().default(5),
      checkWorkloads: z.boolean().default(true),
      onFailure: z.enum(['reboot', 'stay']).default('reboot'),
    })
    .default({
      agentService: 'eos-fleet-agent',
      requireGateway: true,
      healthTimeoutSeconds: 300,
      settleSeconds: 30,
      pollSeconds: 5,
      checkWorkloads: true,
      onFailure: 'reboot',
    }),
});
export type GateSettings = z.input<typeof deviceConfigSchema>['gate'];
export type DeviceConfig = z.output<typeof deviceConfigSchema>;

/** Every path of a device, absolute. The agent's testbed config is made of these. */
export function devicePaths(dir: string) {
  const root = path.resolve(dir);
  const at = (...parts: string[]) => path.join(root, ...parts);
  return {
    root,
    config: at('testbed', 'device.json'),
    state: at('testbed', 'state.json'),
    bootLog: at('testbed', 'boots.jsonl'),
    supervisorPid: at('testbed', 'supervisor.pid'),
    requests: at('testbed', 'requests'),
    kexecLoaded: at('testbed', 'kexec-loaded.json'),
    pendingBoot: at('testbed', 'pending-boot.json'),
    faults: at('testbed', 'faults.json'),
    /** How many `sudo cat` streams the ssh wrapper saw since the faults were set (cutStream.nth). */
    streamCount: at('testbed', 'streams.count'),
    /** What the network did to streams (network.ts), one line per cut. */
    networkLog: at('testbed', 'log', 'network.log'),
    logs: at('testbed', 'log'),
    disk: at('disk'),
    slotFile: (slot: RootSlot) => at('disk', slot),
    espPartition: at('disk', 'p.UEFI'),
    /** Symlink to the booted slot file: what `findmnt -n -o SOURCE /` names on the device. */
    rootDevice: at('dev', 'root'),
    byPartlabel: at('dev', 'disk', 'by-partlabel'),
    espMount: at('boot', 'efi'),
    efiBootDir: at('boot', 'efi', 'EFI', 'BOOT'),
    earlybootCfg: at('boot', 'efi', 'EFI', 'BOOT', 'earlyboot.cfg'),
    cmdline: at('proc', 'cmdline'),
    bootId: at('proc', 'sys', 'kernel', 'random', 'boot_id'),
    run: at('run'),
    fleetKey: at('run', 'id_fleet'),
    etc: at('etc'),
    osUpdateYml: at('etc', 'os-update.yml'),
    sshConfig: at('etc', 'ssh', 'ssh_config'),
    osUpdate: at('usr', 'sbin', 'os-update'),
    usrBin: at('usr', 'bin'),
    usrSbin: at('usr', 'sbin'),
    ssh: at('usr', 'bin', 'ssh'),
    fleet: at('usr', 'bin', 'fleet'),
    flakeCtl: at('usr', 'bin', 'flake-ctl'),
    podmanPilot: at('usr', 'bin', 'podman-pilot'),
    /** The stand-ins' code (one esbuild bundle), run by the shims above. */
    standInBundle: at('usr', 'lib', 'eos-testbed', 'device-command.mjs'),
    standInDir: at('usr', 'lib', 'eos-testbed'),
    /** The hardware stand-ins on the PATH of EOS's os-update and the commit gate (hardware.ts). */
    hardwareDir: at('usr', 'lib', 'eos-testbed', 'hw'),
    /** What \`readlink /boot/uuid\` gives on the booted slot (written at every boot). */
    bootUuidLink: at('boot', 'uuid'),
    /** Per service of this boot: "active|inactive RESTARTS", what the systemctl stand-in reads. */
    serviceStates: at('testbed', 'services'),
    /** The commit gate's conf for this device (EOS: /etc/eos-fleet/commit-gate.conf). */
    gateConf: at('testbed', 'commit-gate.conf'),
    /** The gate's REPORT_DIR; its `last-result` is the verdict the agent of the next boot reads. */
    gateReportDir: at('var', 'lib', 'containers', 'storage', 'eos-fleet-gate'),
    gateReport: at('var', 'lib', 'containers', 'storage', 'eos-fleet-gate', 'last-result'),
    firecrackerPilot: at('usr', 'bin', 'firecracker-pilot'),
    /** The fleet container's copy of the shared key (read-only image store on EOS). */
    fleetContainerKey: at('var', 'lib', 'containers', 'loaded', 'fleet', 'id_fleet'),
    /** `/var/lib/containers/storage`: the only persistent writable place. */
    stateDir: at('var', 'lib', 'containers', 'storage'),
    /** `/usr/share/flakes`, a link into the state area as on EOS. */
    flakesDir: at('usr', 'share', 'flakes'),
    flakesBin: at('usr', 'share', 'flakes', 'bin'),
    podmanStore: at('var', 'lib', 'containers', 'storage', 'testbed-podman-images.json'),
    firecrackerImages: at('var', 'lib', 'firecracker', 'images'),
  };
}
export type DevicePaths = ReturnType<typeof devicePaths>;

export async function readDeviceConfig(dir: string): Promise<DeviceConfig> {
  const text = await readFile(devicePaths(dir).config, 'utf8');
  return deviceConfigSchema.parse(JSON.parse(text));
}

/** The project's one atomic write; the testbed's files are world-readable like a device's. */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  return writeFileDurably(file, data, mode);
}

export function otherSlot(slot: RootSlot): RootSlot {
  return slot === 'p.lxreadonly' ? 'p.lxrootclone1' : 'p.lxreadonly';
}

export function slotByPartuuid(config: DeviceConfig, partuuid: string): RootSlot | undefined {
  return ROOT_SLOTS.find(
    (slot) => config.slots[slot].partuuid.toLowerCase() === partuuid.toLowerCase(),
  );
}

/** `root=PARTUUID=...` of a kernel command line. */
export function rootPartuuidOf(cmdline: string): string | undefined {
  return /(?:^|\s)root=PARTUUID=(\S+)/.exec(cmdline)?.[1];
}

/** The grub command line of EOS (grub.cfg of the AB profile), with grub's BOOT_IMAGE prefix. */
export function grubCmdline(partuuid: string): string {
  return (
    `BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=${partuuid} console=ttyS0,115200 loglevel=3 ` +
    'systemd.show_status=1 systemd.unified_cgroup_hierarchy=1'
  );
}

/** earlyboot.cfg as os-update --commit/--rollback writes it before grub2-mkimage embeds it. */
export function earlybootCfg(bootUuid: string, partuuid: string): string {
  return (
    `search --file --set=root ${bootUuid}\n` +
    `set rootdev=PARTUUID=${partuuid}\n` +
    'export rootdev\n' +
    'set prefix=($root)/boot/grub2\n' +
    'configfile ($root)/boot/grub2/grub.cfg\n'
  );
}

export function efiImageName(arch: DeviceConfig['arch']): string {
  return arch === 'x86_64' ? 'bootx64.efi' : 'bootaa64.efi';
}

/** The PARTUUID the firmware boots: read from the grub image stand-in on the ESP. */
export function bootSelectionOf(efiImage: string): string | undefined {
  return /set rootdev=PARTUUID=(\S+)/.exec(efiImage)?.[1];
}
