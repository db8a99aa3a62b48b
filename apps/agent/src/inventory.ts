// What the device runs, read from the same places EOS itself uses: /proc/cmdline (root=PARTUUID,
// COMMIT_UPDATE), the by-partuuid / by-partlabel links, the device's /etc/os-update.yml, and the
// flake-pilot yaml files (readable for old and new flake-pilot alike).
// Every string read from the device goes through `deviceText()`: a NUL or a lone surrogate (a corrupt
// /etc/os-release, a flake yaml with "\0") becomes U+FFFD. The server refuses such text (PostgreSQL
// cannot store it), and one bad byte must not keep a device from reporting at all.
import { readdir, readFile, realpath, stat, statfs } from 'node:fs/promises';
import { arch, release } from 'node:os';
import { basename, join } from 'node:path';
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { EOS_PROFILES, type EosProfile, ROOT_SLOTS, type RootSlot } from '@eos-fleet/shared/domain';
import {
  escapeUnstorableText,
  type Flake,
  type Inventory,
  type OsRelease,
} from '@eos-fleet/shared/protocol/index';
import { rootPrefixHash } from '@eos-fleet/shared/root-prefix-hash';
import { parse as parseYaml } from 'yaml';
import { type Clock } from './clock';

export interface BootFacts {
  bootId: string;
  rootPartUuid: string | null;
  commitPending: boolean;
}

export function parseCmdline(cmdline: string): {
  rootPartUuid: string | null;
  commitPending: boolean;
} {
  const tokens = cmdline.trim().split(/\s+/);
  const root = tokens.find((t) => t.startsWith('root=PARTUUID='));
  return {
    rootPartUuid: root ? root.slice('root=PARTUUID='.length) : null,
    commitPending: tokens.includes('COMMIT_UPDATE'),
  };
}

/** Device text as the protocol takes it: at most 512 characters, storable by the server. */
export function deviceText(value: string): string {
  return escapeUnstorableText(value.slice(0, 512));
}

const OS_RELEASE_FIELDS: Record<string, keyof OsRelease> = {
  NAME: 'name',
  ID: 'id',
  VERSION_ID: 'versionId',
  PRETTY_NAME: 'prettyName',
  IMAGE_ID: 'imageId',
  IMAGE_VERSION: 'imageVersion',
  BUILD_ID: 'buildId',
};

export function parseOsRelease(text: string): OsRelease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!match?.[1] || match[2] === undefined) continue;
    values.set(match[1], match[2].replace(/^(["'])(.*)\1$/, '$2'));
  }
  const result: OsRelease = {};
  for (const [key, field] of Object.entries(OS_RELEASE_FIELDS)) {
    const value = values.get(key);
    if (value !== undefined) result[field] = deviceText(value);
  }
  return result;
}

/** The profile appears as a dash-separated token of EOS image names (EOS.aarch64-RPI5-TW). */
export function profileFromImageName(imageName: string | null): EosProfile | null {
  if (!imageName) return null;
  const tokens = imageName.split(/[.-]/);
  return EOS_PROFILES.find((profile) => tokens.includes(profile)) ?? null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? deviceText(value) : null;
}

/** One flake from /usr/share/flakes/<name>.yaml (container: or vm: section). */
export function parseFlakeYaml(name: string, text: string): Flake | null {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch {
    return null;
  }
  if (typeof doc !== 'object' || doc === null) return null;
  const record = doc as Record<string, unknown>;
  const section = (key: string) => {
    const value = record[key];
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  };
  const container = section('container');
  if (container) {
    return {
      engine: 'podman',
      name,
      appPath: str(container.host_app_path),
      target: str(container.target_app_path),
      container: str(container.name),
      base: str(container.base_container),
    };
  }
  const vm = section('vm');
  if (vm) {
    return {
      engine: 'firecracker',
      name,
      appPath: str(vm.host_app_path),
      target: str(vm.target_app_path),
      vm: str(vm.name),
    };
  }
  return null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

async function resolve(path: string): Promise<string | null> {
  try {
    return await realpath(path);
  } catch {
    return null;
  }
}

function nodeArch(): string {
  const a = arch();
  return a === 'x64' ? 'x86_64' : a === 'arm64' ? 'aarch64' : a;
}

export interface InventoryOptions {
  config: AgentConfig;
  clock: Clock;
  agentVersion: string;
  /** Where block device sizes are read from (`<dir>/<name>/size`, in 512-byte sectors). */
  sysBlockDir?: string;
}

/** Collects inventories; the root prefix hash is computed once per boot and root device. */
export class InventoryCollector {
  private hashCache: { key: string; hash: string } | null = null;

  constructor(private readonly options: InventoryOptions) {}

  async bootFacts(): Promise<BootFacts> {
    const { paths } = this.options.config;
    const bootId = ((await readText(paths.bootId)) ?? '').trim() || 'unknown';
    const cmdline = parseCmdline((await readText(paths.cmdline)) ?? '');
    return { bootId, ...cmdline };
  }

  rootDevice(facts: BootFacts): string | null {
    const { paths } = this.options.config;
    if (paths.rootDevice) return paths.rootDevice;
    return facts.rootPartUuid ? join(paths.diskByDir, 'by-partuuid', facts.rootPartUuid) : null;
  }

  async activeSlot(rootDevice: string | null): Promise<RootSlot | null> {
    if (!rootDevice) return null;
    const root = await resolve(rootDevice);
    if (!root) return null;
    for (const slot of ROOT_SLOTS) {
      if ((await resolve(join(this.options.config.paths.diskByDir, 'by-partlabel', slot))) === root)
        return slot;
    }
    return null;
  }

  /** Size of a slot by its partition label (the one an apply writes is not the running one). */
  slotSizeOf(slot: RootSlot): Promise<number | null> {
    return this.slotSize(join(this.options.config.paths.diskByDir, 'by-partlabel', slot));
  }

  private async slotSize(rootDevice: string | null): Promise<number | null> {
    const root = rootDevice ? await resolve(rootDevice) : null;
    if (!root) return null;
    try {
      const info = await stat(root);
      if (info.isFile()) return info.size;
      if (info.isBlockDevice()) {
        const sectors = await readText(
          join(this.options.sysBlockDir ?? '/sys/class/block', basename(root), 'size'),
        );
        const count = sectors ? Number(sectors.trim()) : Number.NaN;
        return Number.isSafeInteger(count) ? count * 512 : null;
      }
    } catch {
      return null;
    }
    return null;
  }

  private async rootHash(rootDevice: string | null, bootId: string): Promise<string | null> {
    if (!rootDevice) return null;
    const key = `${bootId}\n${rootDevice}`;
    if (this.hashCache?.key === key) return this.hashCache.hash;
    try {
      const hash = await rootPrefixHash({ path: rootDevice });
      this.hashCache = { key, hash };
      return hash;
    } catch {
      return null;
    }
  }

  private async flakes(): Promise<Flake[]> {
    const dir = this.options.config.paths.flakesDir;
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
    } catch {
      return [];
    }
    const flakes: Flake[] = [];
    for (const file of names.slice(0, 1024)) {
      const text = await readText(join(dir, file));
      const flake =
        text === null ? null : parseFlakeYaml(deviceText(file.slice(0, -'.yaml'.length)), text);
      if (flake) flakes.push(flake);
    }
    return flakes;
  }

  private async osUpdateConfig(): Promise<{
    imageName: string | null;
    updateServer: string | null;
  }> {
    const text = await readText(this.options.config.paths.osUpdateConfig);
    try {
      const doc = text ? (parseYaml(text) as unknown) : null;
      const update =
        typeof doc === 'object' && doc !== null ? (doc as { update?: unknown }).update : null;
      if (typeof update !== 'object' || update === null)
        return { imageName: null, updateServer: null };
      const u = update as Record<string, unknown>;
      return { imageName: str(u.name), updateServer: str(u.server) };
    } catch {
      return { imageName: null, updateServer: null };
    }
  }

  private async stateDiskFree(): Promise<number | null> {
    try {
      const info = await statfs(this.options.config.stateDir);
      const free = info.bavail * info.bsize;
      return Number.isSafeInteger(free) ? free : null;
    } catch {
      return null;
    }
  }

  async collect(): Promise<Inventory> {
    const facts = await this.bootFacts();
    const rootDevice = this.rootDevice(facts);
    const activeSlot = await this.activeSlot(rootDevice);
    const { imageName, updateServer } = await this.osUpdateConfig();
    const hasSlotB =
      (await resolve(
        join(this.options.config.paths.diskByDir, 'by-partlabel', 'p.lxrootclone1'),
      )) !== null;
    const profile =
      this.options.config.profile ??
      profileFromImageName(imageName) ??
      (activeSlot !== null && !hasSlotB ? 'Static' : null);
    return {
      rootPrefixHash: await this.rootHash(rootDevice, facts.bootId),
      activeSlot,
      slotSizeBytes: await this.slotSize(rootDevice),
      imageName,
      updateServer,
      arch: nodeArch(),
      profile,
      osRelease: parseOsRelease((await readText(this.options.config.paths.osRelease)) ?? ''),
      kernelRelease: deviceText(release()),
      bootId: deviceText(facts.bootId),
      commitPending: facts.commitPending,
      flakes: await this.flakes(),
      agentVersion: deviceText(this.options.agentVersion),
      stateDiskFreeBytes: await this.stateDiskFree(),
      collectedAt: this.options.clock.now().toISOString(),
    };
  }
}

/** Change detection ignores the fields that move on their own (time, free space). */
export function inventoryFingerprint(inventory: Inventory): string {
  const { collectedAt: _collectedAt, stateDiskFreeBytes: _free, ...stable } = inventory;
  return JSON.stringify(stable);
}
