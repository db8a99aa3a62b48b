import { parseCommand } from '@eos-fleet/shared/protocol/index';
import { describe, expect, it } from 'vitest';
import { flakePullArgv, flakeRegisterArgv, flakeRemoveArgv } from './flake-ctl';

function params(kind: string, raw: unknown) {
  const parsed = parseCommand({ kind, params: raw });
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}

describe('flake-ctl argv', () => {
  it('registers a podman flake with every option of EOS.md', () => {
    const command = params('flake.register', {
      engine: 'podman',
      container: 'registry.opensuse.org/home/eos/joe',
      app: '/usr/share/flakes/bin/joe',
      target: '/usr/bin/joe',
      base: 'basesystem',
      layers: ['layer1', 'layer2'],
      mode: 'resume',
      opts: ['--publish 8080:80', 'x'],
      force: true,
    });
    if (command.kind !== 'flake.register') throw new Error('kind');
    expect(flakeRegisterArgv('flake-ctl', command.params)).toEqual([
      'flake-ctl',
      'podman',
      'register',
      '--container',
      'registry.opensuse.org/home/eos/joe',
      '--app',
      '/usr/share/flakes/bin/joe',
      '--target',
      '/usr/bin/joe',
      '--base',
      'basesystem',
      '--layer',
      'layer1',
      '--layer',
      'layer2',
      '--resume',
      '--opt',
      '\\--publish 8080:80',
      '--opt',
      'x',
      '--force',
    ]);
  });

  it('registers a firecracker flake', () => {
    const command = params('flake.register', {
      engine: 'firecracker',
      vm: 'mvm',
      app: '/usr/share/flakes/bin/mvm',
      overlaySize: '20GiB',
      noNet: true,
    });
    if (command.kind !== 'flake.register') throw new Error('kind');
    expect(flakeRegisterArgv('flake-ctl', command.params)).toEqual([
      'flake-ctl',
      'firecracker',
      'register',
      '--vm',
      'mvm',
      '--app',
      '/usr/share/flakes/bin/mvm',
      '--overlay-size',
      '20GiB',
      '--no-net',
    ]);
  });

  it('removes by name or app', () => {
    const byApp = params('flake.remove', { engine: 'podman', app: '/usr/share/flakes/bin/joe' });
    const byVm = params('flake.remove', { engine: 'firecracker', vm: 'mvm' });
    if (byApp.kind !== 'flake.remove' || byVm.kind !== 'flake.remove') throw new Error('kind');
    expect(flakeRemoveArgv('f', byApp.params)).toEqual([
      'f',
      'podman',
      'remove',
      '--app',
      '/usr/share/flakes/bin/joe',
    ]);
    expect(flakeRemoveArgv('f', byVm.params)).toEqual([
      'f',
      'firecracker',
      'remove',
      '--vm',
      'mvm',
    ]);
  });

  it('pulls containers and VM images', () => {
    const podman = params('flake.pull', {
      engine: 'podman',
      uri: 'registry.opensuse.org/home/eos/joe',
    });
    const kis = params('flake.pull', {
      engine: 'firecracker',
      name: 'mvm',
      kisImage: 'https://e.org/mvm.tar.xz',
    });
    const parts = params('flake.pull', {
      engine: 'firecracker',
      name: 'mvm',
      rootfs: 'https://e.org/r',
      kernel: 'https://e.org/k',
      initrd: 'https://e.org/i',
    });
    if (podman.kind !== 'flake.pull' || kis.kind !== 'flake.pull' || parts.kind !== 'flake.pull')
      throw new Error('kind');
    expect(flakePullArgv('f', podman.params)).toEqual([
      'f',
      'podman',
      'pull',
      '--uri',
      'registry.opensuse.org/home/eos/joe',
    ]);
    expect(flakePullArgv('f', kis.params)).toEqual([
      'f',
      'firecracker',
      'pull',
      '--name',
      'mvm',
      '--kis-image',
      'https://e.org/mvm.tar.xz',
    ]);
    expect(flakePullArgv('f', parts.params)).toEqual([
      'f',
      'firecracker',
      'pull',
      '--name',
      'mvm',
      '--rootfs',
      'https://e.org/r',
      '--kernel',
      'https://e.org/k',
      '--initrd',
      'https://e.org/i',
    ]);
  });
});
