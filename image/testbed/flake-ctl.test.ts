// flake-ctl stand-in: register / list / remove / pull for podman and firecracker, the files and
// links flake-pilot keeps, its error texts and exit codes, in the old and the new list style.
import { lstat, mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildEosImage } from '../src';
import { createTestbedDevice, type TestbedDeviceInfo } from './create-device';
import { run, writeFleetKey } from './test-helpers';

let work: string;
let modern: TestbedDeviceInfo;
let legacy: TestbedDeviceInfo;
const UNAVAILABLE = 'registry.example.org/suse-apps/missing';

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'testbed-flake-ctl-'));
  const image = await buildEosImage({
    outPath: path.join(work, 'EOS.raw'),
    version: '1.0.0',
    sizes: { root: 1, uefi: 1, spare: 1 },
  });
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  const common = {
    image: image.path,
    updateServer: { host: '127.0.0.1', sshPort: 1, user: 'ec2-user' },
    fleetKeyPath: key.privatePath,
    name: 'EOS.x86_64-AB',
    unavailablePulls: [UNAVAILABLE, 'https://example.org/missing.tar.xz'],
  };
  modern = await createTestbedDevice({
    ...common,
    dir: path.join(work, 'modern'),
    flakeListStyle: 'formats',
  });
  legacy = await createTestbedDevice({
    ...common,
    dir: path.join(work, 'legacy'),
    flakeListStyle: 'legacy',
  });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function flakeCtl(device: TestbedDeviceInfo, ...args: string[]) {
  return run(device.paths.flakeCtl, args);
}

describe('flake-ctl stand-in', () => {
  it('podman register writes the flake yaml, the .d dir and the link to podman-pilot', async () => {
    const app = path.join(modern.paths.flakesBin, 'lynx');
    const result = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'suse-apps/lynx',
      '--app',
      app,
      '--target',
      '/usr/bin/lynx',
      '--base',
      'basesystem',
      '--opt',
      '\\--rm',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(
      /^\[\S+Z INFO {2}flake_ctl::app\] Registering application: .*\/lynx\n$/,
    );
    expect(await readlink(app)).toBe(modern.paths.podmanPilot);
    expect((await lstat(path.join(modern.paths.flakesDir, 'lynx.d'))).isDirectory()).toBe(true);
    const yaml = await readFile(path.join(modern.paths.flakesDir, 'lynx.yaml'), 'utf8');
    expect(
      yaml.startsWith(
        '---\ninclude:\n  tar: ~\n  path: ~\ncontainer:\n  name: suse-apps/lynx\n  target_app_path: /usr/bin/lynx\n',
      ),
    ).toBe(true);
    expect(yaml).toContain(
      '\n  base_container: basesystem\n  check_host_dependencies: false\n  layers: ~\n  runtime:\n',
    );
    expect(yaml).toContain('\n    podman:\n      - "--rm"\nvm: ~\n');
    expect(parseYaml(yaml)).toMatchObject({
      container: { host_app_path: app, runtime: { resume: false, attach: false } },
      vm: null,
    });
  }, 30_000);

  it('refuses to register an existing app without --force, and replaces it with --force', async () => {
    const app = path.join(modern.paths.flakesBin, 'lynx');
    const again = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'other',
      '--app',
      app,
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(`ERROR flake_ctl::app\\] App path ${app} already exists\\n$`),
    );
    const forced = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'other',
      '--app',
      app,
      '--force',
    );
    expect(forced.code).toBe(0);
    expect(
      parseYaml(await readFile(path.join(modern.paths.flakesDir, 'lynx.yaml'), 'utf8')),
    ).toMatchObject({ container: { name: 'other' } });
  }, 30_000);

  it('wants option values that start with "-" escaped, as clap does', async () => {
    const app = path.join(modern.paths.flakesBin, 'escaped');
    const raw = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'c',
      '--app',
      app,
      '--opt',
      '-ti',
    );
    expect(raw.code).toBe(2);
    expect(raw.stderr).toMatch(
      /^error: The argument '--opt <OPT>' requires a value but none was supplied/,
    );
    const escaped = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'c',
      '--app',
      app,
      '--opt',
      '\\-ti',
    );
    expect(escaped.code).toBe(0);
    expect(await readFile(path.join(modern.paths.flakesDir, 'escaped.yaml'), 'utf8')).toContain(
      '    podman:\n      - "-ti"\n',
    );
    expect((await flakeCtl(modern, 'podman', 'remove', '--app', app)).code).toBe(0);
  }, 30_000);

  it('rejects relative app paths and layers without a base, leaving nothing behind', async () => {
    const relative = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'c',
      '--app',
      'bin/x',
    );
    expect(relative.code).toBe(1);
    expect(relative.stderr).toContain(
      'Application "bin/x" must be specified with an absolute path',
    );
    const app = path.join(modern.paths.flakesBin, 'layered');
    const layers = await flakeCtl(
      modern,
      'podman',
      'register',
      '--container',
      'c',
      '--app',
      app,
      '--layer',
      'l1',
    );
    expect(layers.code).toBe(1);
    expect(layers.stderr).toContain('Layer(s) specified without a base');
    await expect(lstat(app)).rejects.toThrow();
    await expect(lstat(path.join(modern.paths.flakesDir, 'layered.yaml'))).rejects.toThrow();
  }, 30_000);

  it('firecracker pull + register needs the pulled VM; remove --vm purges its apps and image', async () => {
    const app = path.join(modern.paths.flakesBin, 'mybash');
    const early = await flakeCtl(
      modern,
      'firecracker',
      'register',
      '--vm',
      'leap',
      '--app',
      app,
      '--target',
      '/bin/bash',
    );
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('No rootfs image found:');
    await expect(lstat(app)).rejects.toThrow();

    const failed = await flakeCtl(
      modern,
      'firecracker',
      'pull',
      '--name',
      'leap',
      '--kis-image',
      'https://example.org/missing.tar.xz',
    );
    expect(failed.code).toBe(1);
    const pulled = await flakeCtl(
      modern,
      'firecracker',
      'pull',
      '--name',
      'leap',
      '--kis-image',
      'https://example.org/leap.tar.xz',
    );
    expect(pulled.code).toBe(0);
    const registered = await flakeCtl(
      modern,
      'firecracker',
      'register',
      '--vm',
      'leap',
      '--app',
      app,
      '--target',
      '/bin/bash',
      '--overlay-size',
      '20GiB',
      '--no-net',
    );
    expect(registered.code).toBe(0);
    expect(await readlink(app)).toBe(modern.paths.firecrackerPilot);
    const yaml = await readFile(path.join(modern.paths.flakesDir, 'mybash.yaml'), 'utf8');
    expect(yaml).toContain('\ncontainer: ~\nvm:\n  name: leap\n  target_app_path: /bin/bash\n');
    expect(yaml).toContain('      overlay_size: 20GiB\n');
    expect(yaml).not.toContain('ip=dhcp');
    expect(parseYaml(yaml)).toMatchObject({
      vm: { runtime: { firecracker: { mem_size_mib: 4096, vcpu_count: 2 } } },
    });

    // The wrong engine's remove refuses the link.
    const wrong = await flakeCtl(modern, 'podman', 'remove', '--app', app);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`Symlink not pointing to ${modern.paths.podmanPilot}: ${app}`);
    const purged = await flakeCtl(modern, 'firecracker', 'remove', '--vm', 'leap');
    expect(purged.code).toBe(0);
    await expect(lstat(app)).rejects.toThrow();
    await expect(lstat(path.join(modern.paths.firecrackerImages, 'leap'))).rejects.toThrow();
  }, 30_000);

  it('podman pull records the image, and fails like podman (exit 125) for an unavailable one', async () => {
    const ok = await flakeCtl(
      modern,
      'podman',
      'pull',
      '--uri',
      'registry.example.org/suse-apps/lynx',
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await readFile(modern.paths.podmanStore, 'utf8')).toContain(
      '"uri": "registry.example.org/suse-apps/lynx"',
    );
    const missing = await flakeCtl(modern, 'podman', 'pull', '--uri', UNAVAILABLE);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain(`Error: initializing source docker://${UNAVAILABLE}:`);
    expect(missing.stderr).toContain('Failed, error message(s) reported');
  }, 30_000);

  it('list --format json|table|csv (flake-pilot >= 3.1.39)', async () => {
    const json = await flakeCtl(modern, 'list', '--format', 'json');
    expect(json.code).toBe(0);
    const lynx = path.join(modern.paths.flakesBin, 'lynx');
    expect(JSON.parse(json.stdout)).toEqual([
      {
        name: 'lynx',
        engine: 'podman',
        target: lynx,
        host_app_path: lynx,
        config: path.join(modern.paths.flakesDir, 'lynx.yaml'),
      },
    ]);
    expect(json.stdout).toBe(`${JSON.stringify(JSON.parse(json.stdout), null, 2)}\n`);
    const table = await flakeCtl(modern, 'list');
    const lines = table.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `Flake applications registered in ${modern.paths.flakesDir}`,
      '',
      expect.stringMatching(/^NAME {2}ENGINE {2}TARGET APP PATH +HOST APP PATH +CONFIG$/),
    ]);
    expect(lines[3]).toMatch(/^---- {2}------ {2}-+ {2}-+ {2}-+$/);
    expect(lines[4]).toMatch(/^lynx {2}podman {2}\S+ +\S+ +\S+lynx\.yaml$/);
    const csv = await flakeCtl(modern, 'list', '--format', 'csv');
    expect(csv.stdout).toBe(
      `lynx,podman,${lynx},${lynx},${path.join(modern.paths.flakesDir, 'lynx.yaml')}\n`,
    );
    const bad = await flakeCtl(modern, 'list', '--format', 'xml');
    expect(bad.code).toBe(2);
  }, 30_000);

  it('list in the old style prints "- name" lines and knows no --format', async () => {
    const empty = await flakeCtl(legacy, 'list');
    expect(empty).toMatchObject({ code: 0, stdout: 'No application(s) registered\n' });
    for (const name of ['zypper', 'lynx']) {
      const app = path.join(legacy.paths.flakesBin, name);
      expect(
        (
          await flakeCtl(
            legacy,
            'podman',
            'register',
            '--container',
            `suse-apps/${name}`,
            '--app',
            app,
          )
        ).code,
      ).toBe(0);
    }
    const listed = await flakeCtl(legacy, 'list');
    expect(listed.stdout).toBe('- lynx\n- zypper\n');
    expect(listed.stderr).toContain('INFO  flake_ctl] Registered applications:');
    const format = await flakeCtl(legacy, 'list', '--format', 'json');
    expect(format.code).toBe(2);
    expect(format.stderr).toMatch(/^error: Found argument '--format' which wasn't expected/);
  }, 30_000);

  it('remove of an unknown app fails; remove --container removes its apps', async () => {
    const unknown = await flakeCtl(
      legacy,
      'podman',
      'remove',
      '--app',
      path.join(legacy.paths.flakesBin, 'nope'),
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      `No app config file found: ${path.join(legacy.paths.flakesDir, 'nope.yaml')}, consider --force`,
    );
    const byApp = await flakeCtl(
      legacy,
      'podman',
      'remove',
      '--app',
      path.join(legacy.paths.flakesBin, 'zypper'),
    );
    expect(byApp.code).toBe(0);
    const byContainer = await flakeCtl(legacy, 'podman', 'remove', '--container', 'suse-apps/lynx');
    expect(byContainer.code).toBe(0);
    expect((await flakeCtl(legacy, 'list')).stdout).toBe('No application(s) registered\n');
    const neither = await flakeCtl(legacy, 'podman', 'remove');
    expect(neither.code).toBe(2);
  }, 30_000);
});
