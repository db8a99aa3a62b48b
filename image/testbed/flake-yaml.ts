// The flake config files flake-ctl writes: serde_yaml 0.8 serialisation of flake-pilot's AppConfig
// (a `---` document start, `~` for None, struct field order, yaml-rust quoting), so that a reader
// written against real flake-pilot files reads ours, and the other way round.

export type YamlValue =
  string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/** yaml-rust's need_quotes, near enough for the values flake-ctl writes. */
function needsQuotes(value: string): boolean {
  if (value === '') return true;
  if (/^\s|\s$/.test(value)) return true;
  if (/[:{}[\],#`"'\\]/.test(value) || [...value].some((char) => char.charCodeAt(0) < 0x20))
    return true;
  if (/^[&*?|\-<>=!%@]/.test(value)) return true;
  if (/^(true|false|null|~|yes|no|y|n|on|off)$/i.test(value)) return true;
  if (
    /^[-+]?(\d[\d_]*(\.\d*)?([eE][-+]?\d+)?|\.\d+|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan)$/i.test(
      value,
    )
  )
    return true;
  return false;
}

function scalar(value: string | number | boolean | null): string {
  if (value === null) return '~';
  if (typeof value !== 'string') return String(value);
  return needsQuotes(value) ? JSON.stringify(value) : value;
}

function emit(value: YamlValue, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object')
        throw new Error('nested collections in sequences are not written');
      lines.push(`${pad}- ${scalar(item)}`);
    }
    return;
  }
  if (value === null || typeof value !== 'object') throw new Error('a mapping is expected here');
  for (const [key, item] of Object.entries(value)) {
    if (
      item !== null &&
      typeof item === 'object' &&
      (Array.isArray(item) ? item.length > 0 : Object.keys(item).length > 0)
    ) {
      lines.push(`${pad}${key}:`);
      emit(item, indent + 2, lines);
    } else if (Array.isArray(item)) {
      lines.push(`${pad}${key}: []`);
    } else if (item !== null && typeof item === 'object') {
      lines.push(`${pad}${key}: {}`);
    } else {
      lines.push(`${pad}${key}: ${scalar(item)}`);
    }
  }
}

export function toFlakeYaml(document: { [key: string]: YamlValue }): string {
  const lines = ['---'];
  emit(document, 0, lines);
  return `${lines.join('\n')}\n`;
}

export interface ContainerFlake {
  container: string;
  targetAppPath: string;
  hostAppPath: string;
  base?: string;
  checkHostDependencies: boolean;
  layers?: string[];
  includeTar?: string[];
  includePath?: string[];
  resume: boolean;
  attach: boolean;
  runAs: string;
  /** `--opt` values; a leading backslash (for options that start with `-`) is stripped. */
  opts?: string[];
}

export function containerFlakeYaml(flake: ContainerFlake): string {
  return toFlakeYaml({
    include: { tar: flake.includeTar ?? null, path: flake.includePath ?? null },
    container: {
      name: flake.container,
      target_app_path: flake.targetAppPath,
      host_app_path: flake.hostAppPath,
      base_container: flake.base ?? null,
      check_host_dependencies: flake.checkHostDependencies,
      layers: flake.layers ?? null,
      runtime: {
        runas: flake.runAs,
        resume: flake.resume,
        // flake-pilot records attach only when resume is not set.
        attach: !flake.resume && flake.attach,
        podman: flake.opts
          ? flake.opts.map((opt) => (opt.startsWith('\\') ? opt.slice(1) : opt))
          : ['-ti'],
      },
    },
    vm: null,
  });
}

export interface VmFlake {
  vm: string;
  targetAppPath: string;
  hostAppPath: string;
  runAs?: string;
  overlaySize?: string;
  noNet: boolean;
  resume: boolean;
  forceVsock: boolean;
  includeTar?: string[];
  includePath?: string[];
  rootfsImagePath: string;
  kernelImagePath: string;
  initrdPath?: string;
}

const FIRECRACKER_BOOT_ARGS = [
  'init=/usr/sbin/sci',
  'console=ttyS0',
  'root=/dev/vda',
  'acpi=off',
  'rd.neednet=1',
  'ip=dhcp',
  'quiet',
];

export function vmFlakeYaml(flake: VmFlake): string {
  const bootArgs = FIRECRACKER_BOOT_ARGS.filter((arg) => !(flake.noNet && arg.startsWith('ip=')));
  if (flake.resume) bootArgs.push('sci_resume=1');
  if (flake.forceVsock) bootArgs.push('sci_force_vsock=1');
  return toFlakeYaml({
    include: { tar: flake.includeTar ?? null, path: flake.includePath ?? null },
    container: null,
    vm: {
      name: flake.vm,
      target_app_path: flake.targetAppPath,
      host_app_path: flake.hostAppPath,
      base_vm: null,
      layers: null,
      runtime: {
        runas: flake.runAs ?? 'root',
        resume: flake.resume,
        force_vsock: flake.forceVsock,
        firecracker: {
          boot_args: bootArgs,
          overlay_size: flake.overlaySize ?? null,
          rootfs_image_path: flake.rootfsImagePath,
          kernel_image_path: flake.kernelImagePath,
          initrd_path: flake.initrdPath ?? null,
          mem_size_mib: 4096,
          vcpu_count: 2,
          cache_type: null,
          instance: null,
        },
      },
    },
  });
}
