import { describe, expect, it } from 'vitest';
import { parseCmdline, parseFlakeYaml, parseOsRelease, profileFromImageName } from './inventory';

describe('inventory parsing', () => {
  it('reads root=PARTUUID and COMMIT_UPDATE from the kernel command line', () => {
    expect(
      parseCmdline(
        'BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=7996ba64-d70d console=ttyS0 COMMIT_UPDATE\n',
      ),
    ).toEqual({
      rootPartUuid: '7996ba64-d70d',
      commitPending: true,
    });
    expect(parseCmdline('root=/dev/vda3 quiet')).toEqual({
      rootPartUuid: null,
      commitPending: false,
    });
  });

  it('takes the profile from the image name', () => {
    expect(profileFromImageName('EOS.aarch64-RPI5-TW')).toBe('RPI5');
    expect(profileFromImageName('EOS.aarch64-RPI-TW')).toBe('RPI');
    expect(profileFromImageName('EOS.x86_64-AB')).toBe('AB');
    expect(profileFromImageName('EOS.x86_64-EC2')).toBe('EC2');
    expect(profileFromImageName('something-else')).toBeNull();
    expect(profileFromImageName(null)).toBeNull();
  });

  it('reads podman and firecracker flakes from flake-pilot yaml', () => {
    const podman = `container:
  name: registry.opensuse.org/home/eos/joe
  target_app_path: /usr/bin/joe
  host_app_path: /usr/share/flakes/bin/joe
  base_container: basesystem
  layers:
    - layer1
  runtime:
    runas: root
    resume: true
    podman:
      - --rm
`;
    expect(parseFlakeYaml('joe', podman)).toEqual({
      engine: 'podman',
      name: 'joe',
      appPath: '/usr/share/flakes/bin/joe',
      target: '/usr/bin/joe',
      container: 'registry.opensuse.org/home/eos/joe',
      base: 'basesystem',
    });
    const vm = `vm:
  name: mvm
  target_app_path: /usr/bin/mvm
  host_app_path: /usr/share/flakes/bin/mvm
  runtime:
    firecracker:
      overlay_size: 20GiB
`;
    expect(parseFlakeYaml('mvm', vm)).toEqual({
      engine: 'firecracker',
      name: 'mvm',
      appPath: '/usr/share/flakes/bin/mvm',
      target: '/usr/bin/mvm',
      vm: 'mvm',
    });
    expect(parseFlakeYaml('broken', 'container: [')).toBeNull();
    expect(parseFlakeYaml('other', 'include: {}')).toBeNull();
  });

  it('reads os-release fields with and without quotes', () => {
    expect(
      parseOsRelease(
        'NAME="SUSE EOS"\nID=eos\nVERSION_ID=\'2.0\'\nIMAGE_VERSION="2.0.1"\n# comment\nBOGUS\n',
      ),
    ).toEqual({
      name: 'SUSE EOS',
      id: 'eos',
      versionId: '2.0',
      imageVersion: '2.0.1',
    });
  });
});
