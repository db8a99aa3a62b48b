// argv for flake-pilot's flake-ctl, with exactly the options EOS.md lists. Parameters are already
// validated by the protocol schemas (no leading "-", restricted characters).
import {
  type FlakePullParams,
  type FlakeRegisterParams,
  type FlakeRemoveParams,
} from '@eos-fleet/shared/protocol/index';

/** flake-ctl reads an option value starting with "-" as a flag unless it is escaped as "\-". */
export function escapeFlakeOpt(opt: string): string {
  return opt.startsWith('-') ? `\\${opt}` : opt;
}

const optional = (flag: string, value: string | undefined): string[] =>
  value === undefined ? [] : [flag, value];

export function flakeRegisterArgv(flakeCtl: string, p: FlakeRegisterParams): string[] {
  if (p.engine === 'podman') {
    return [
      flakeCtl,
      'podman',
      'register',
      '--container',
      p.container,
      '--app',
      p.app,
      ...optional('--target', p.target),
      ...optional('--base', p.base),
      ...p.layers.flatMap((layer) => ['--layer', layer]),
      ...(p.mode !== undefined ? [`--${p.mode}`] : []),
      ...p.opts.flatMap((opt) => ['--opt', escapeFlakeOpt(opt)]),
      ...(p.force ? ['--force'] : []),
    ];
  }
  return [
    flakeCtl,
    'firecracker',
    'register',
    '--vm',
    p.vm,
    '--app',
    p.app,
    ...optional('--target', p.target),
    ...optional('--overlay-size', p.overlaySize),
    ...(p.noNet ? ['--no-net'] : []),
  ];
}

export function flakeRemoveArgv(flakeCtl: string, p: FlakeRemoveParams): string[] {
  if (p.engine === 'podman') {
    return [
      flakeCtl,
      'podman',
      'remove',
      ...optional('--container', p.container),
      ...optional('--app', p.app),
    ];
  }
  return [
    flakeCtl,
    'firecracker',
    'remove',
    ...optional('--vm', p.vm),
    ...optional('--app', p.app),
  ];
}

export function flakePullArgv(flakeCtl: string, p: FlakePullParams): string[] {
  if (p.engine === 'podman') return [flakeCtl, 'podman', 'pull', '--uri', p.uri];
  return [
    flakeCtl,
    'firecracker',
    'pull',
    '--name',
    p.name,
    ...optional('--kis-image', p.kisImage),
    ...optional('--rootfs', p.rootfs),
    ...optional('--kernel', p.kernel),
    ...optional('--initrd', p.initrd),
  ];
}
