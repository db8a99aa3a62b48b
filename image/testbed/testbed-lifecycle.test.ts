// A testbed device without an update server: layout from a real image, boots, services, power
// cycle and reboot, /run as tmpfs, fleet --getkey, os-update's offline modes.
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEosImage, locateEosReference, readRootFacts } from '../src';
import { createTestbedDevice, testbedAgentPaths } from './create-device';
import { bootTestbedDevice, type RunningTestbedDevice } from './testbed-device';
import { describeWithEos, run, writeFleetKey } from './test-helpers';

let work: string;
let keyPath: string;
let imagePath: string;
let device: RunningTestbedDevice;
let dir: string;

// Like the agent's tools, the service's child leads a session (and process group) of its own:
// "pid boot-id child-pid" per start.
const SERVICE =
  'setsid sleep 600 & echo "$$ $(cat "$EOS_TESTBED_DIR/proc/sys/kernel/random/boot_id") $!" >> "$EOS_TESTBED_DIR/run/agent.pids"; exec sleep 600';

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'testbed-lifecycle-'));
  const image = await buildEosImage({
    outPath: path.join(work, 'EOS.raw'),
    version: '1.0.0',
    sizes: { root: 12, uefi: 2, spare: 1 },
  });
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  keyPath = key.privatePath;
  imagePath = image.path;
  dir = path.join(work, 'device');
  await createTestbedDevice({
    dir,
    image: image.path,
    // Nothing listens there: this file does not reach an update server.
    updateServer: { host: '127.0.0.1', sshPort: 1, user: 'ec2-user' },
    fleetKeyPath: key.privatePath,
    name: 'EOS.x86_64-AB',
    services: [{ name: 'agent', command: ['/bin/sh', '-c', SERVICE] }],
  });
  device = await bootTestbedDevice(dir);
}, 60_000);

afterAll(async () => {
  // Set up may have failed before the device booted.
  await (device as RunningTestbedDevice | undefined)?.shutdown();
  await rm(work, { recursive: true, force: true });
});

async function agentPids(): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(path.join(dir, 'run', 'agent.pids'), 'utf8').catch(() => '');
    if (text.trim() !== '' || Date.now() > deadline) return text.trim().split('\n').filter(Boolean);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Running (a zombie is dead, only not reaped yet by whoever inherited it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('testbed device without an update server', () => {
  it('is laid out from the image: slot A is p.lxreadonly, slot B empty and of the same size, the ESP boots A', async () => {
    const paths = device.paths;
    expect((await readRootFacts(paths.slotFile('p.lxreadonly')))?.version).toBe('1.0.0');
    expect((await stat(paths.slotFile('p.lxrootclone1'))).size).toBe(12 * 1024 * 1024);
    expect(await readRootFacts(paths.slotFile('p.lxrootclone1'))).toBeUndefined();
    expect((await stat(paths.espPartition)).size).toBe(2 * 1024 * 1024);
    const status = await device.status();
    expect(status).toMatchObject({
      phase: 'running',
      bootCount: 1,
      currentSlot: 'p.lxreadonly',
      bootSelection: 'p.lxreadonly',
      commitPending: false,
    });
    expect(status.cmdline).toMatch(
      /^BOOT_IMAGE=\/boot\/vmlinuz root=PARTUUID=[0-9a-f-]{36} console=ttyS0,115200 /,
    );
    expect(await readlink(paths.rootDevice)).toBe(paths.slotFile('p.lxreadonly'));
    expect(await readFile(path.join(paths.etc, 'os-release'), 'utf8')).toContain(
      'VERSION_ID="1.0.0"',
    );
    expect(await readFile(paths.osUpdateYml, 'utf8')).toBe(
      `---\nupdate:\n  pkey: ${paths.fleetKey}\n  server: ec2-user@127.0.0.1\n  name: EOS.x86_64-AB\n`,
    );
    expect(testbedAgentPaths(dir).paths.osUpdate).toBe(paths.osUpdate);
  });

  it('fleet --getkey writes the key to /run/id_fleet with mode 0600; /run is empty after the next boot', async () => {
    const result = await run(device.paths.fleet, ['--getkey']);
    expect(result).toMatchObject({ code: 0, stdout: '' });
    const key = await stat(device.paths.fleetKey);
    expect(key.mode & 0o777).toBe(0o600);
    expect(await readFile(device.paths.fleetKey, 'utf8')).toBe(
      await readFile(device.paths.fleetContainerKey, 'utf8'),
    );

    const [first = ''] = await agentPids();
    const before = await device.status();
    const after = await device.powerCycle();
    expect(after.bootCount).toBe(before.bootCount + 1);
    expect(after.bootId).not.toBe(before.bootId);
    await expect(stat(device.paths.fleetKey)).rejects.toThrow();
    // The service was SIGKILLed and started again in the new boot; so was the child it started in
    // a process group of its own: on hardware nothing lives through a power cycle.
    const [service, , child] = first.split(' ').map(Number);
    expect(child).toBeGreaterThan(0);
    expect(alive(child ?? 0)).toBe(false);
    expect(alive(service ?? 0)).toBe(false);
    const [second = ''] = await agentPids();
    expect(second.split(' ')[1]).toBe(after.bootId);
    expect(after.currentSlot).toBe('p.lxreadonly');
  }, 30_000);

  it('reboot stops the services and boots again from the ESP selection', async () => {
    const before = await device.status();
    const after = await device.reboot();
    expect(after).toMatchObject({
      bootCount: before.bootCount + 1,
      currentSlot: 'p.lxreadonly',
      phase: 'running',
    });
    const log = await device.bootLog();
    expect(log.map((boot) => boot.kind)).toEqual(['power-on', 'power-cycle', 'reboot']);
  }, 30_000);

  it('os-update prints its usage without a mode, and refuses short and unknown options like getopt', async () => {
    const usage = await run(device.paths.osUpdate, []);
    expect(usage.code).toBe(0);
    expect(usage.stdout.split('\n')[0]).toBe('os-update');
    expect(usage.stdout).toContain('  --rollback\n      Rollback to former OS\n');
    const unknown = await run(device.paths.osUpdate, ['--frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe("os-update: unrecognized option '--frobnicate'\n");
    const short = await run(device.paths.osUpdate, ['-c']);
    expect(short).toMatchObject({ code: 1, stderr: "os-update: invalid option -- 'c'\n" });
    const missing = await run(device.paths.osUpdate, ['--check', '--read']);
    expect(missing).toMatchObject({
      code: 1,
      stderr: "os-update: option '--read' requires an argument\n",
    });
  }, 30_000);

  it('os-update --commit without COMMIT_UPDATE on the command line does nothing', async () => {
    const selection = await readFile(device.paths.earlybootCfg, 'utf8');
    const result = await run(device.paths.osUpdate, ['--commit', '--reboot']);
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(await readFile(device.paths.earlybootCfg, 'utf8')).toBe(selection);
    expect((await device.status()).phase).toBe('running');
  }, 30_000);

  it('os-update --check exits 1 without output of its own when the server is unreachable', async () => {
    await run(device.paths.fleet, ['--getkey']);
    const result = await run(device.paths.osUpdate, ['--check']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/ssh: connect to host 127\.0\.0\.1 port 1: Connection refused/);
  }, 30_000);

  it('os-update --check names the missing setting only when /etc/os-update.yml is absent', async () => {
    const yml = await readFile(device.paths.osUpdateYml, 'utf8');
    await rm(device.paths.osUpdateYml);
    try {
      expect(await run(device.paths.osUpdate, ['--check'])).toMatchObject({
        code: 1,
        stdout: 'No image name provided, use --read\n',
      });
      expect(await run(device.paths.osUpdate, ['--check', '--read', 'EOS'])).toMatchObject({
        code: 1,
        stdout: 'No update server provided, use --server\n',
      });
      expect(
        await run(device.paths.osUpdate, ['--check', '--read', 'EOS', '--server', 'u@127.0.0.1']),
      ).toMatchObject({
        code: 1,
        stdout: 'No ssh pkey provided, use --pkey\n',
      });
    } finally {
      await writeFile(device.paths.osUpdateYml, yml);
    }
  }, 30_000);
});

describeWithEos("EOS's own os-update on a testbed device", () => {
  it('is what the device runs, each call in a mount namespace of its own: nothing reaches the host', async () => {
    const found = locateEosReference();
    expect(device.paths.osUpdate).toBeTruthy();
    expect(await readFile(device.paths.osUpdate, 'utf8')).toContain(
      'unshare --mount --propagation private',
    );
    expect(JSON.parse(await readFile(device.paths.config, 'utf8'))).toMatchObject({
      osUpdate: { kind: 'eos', script: 'missing' in found ? '' : found.osUpdate },
    });
    const hostCmdline = await readFile('/proc/cmdline', 'utf8');
    const hostMounts = await readFile('/proc/self/mountinfo', 'utf8');
    const hostYml = await stat('/etc/os-update.yml').then(
      () => true,
      () => false,
    );
    expect(await run(device.paths.osUpdate, ['--commit'])).toMatchObject({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(await readFile('/proc/cmdline', 'utf8')).toBe(hostCmdline);
    expect(await readFile('/proc/self/mountinfo', 'utf8')).toBe(hostMounts);
    expect(
      await stat('/etc/os-update.yml').then(
        () => true,
        () => false,
      ),
    ).toBe(hostYml);
  }, 30_000);

  it('--rollback to a never-written slot fails where EOS does, at its mount, and leaves the ESP alone', async () => {
    const selection = await readFile(device.paths.earlybootCfg, 'utf8');
    const result = await run(device.paths.osUpdate, ['--rollback', '--reboot']);
    expect(result.code).toBe(32);
    expect(result.stderr).toContain(
      `mount: /mnt: wrong fs type, bad option, bad superblock on ${device.paths.slotFile('p.lxrootclone1')}`,
    );
    expect(await readFile(device.paths.earlybootCfg, 'utf8')).toBe(selection);
    expect((await device.status()).phase).toBe('running');
  }, 30_000);
});

describe('the fallback stand-in', () => {
  it("a device asked to run the testbed's own os-update says so in its config and runs it", async () => {
    const standInDir = path.join(work, 'stand-in-device');
    const info = await createTestbedDevice({
      dir: standInDir,
      image: imagePath,
      updateServer: { host: '127.0.0.1', sshPort: 1, user: 'ec2-user' },
      fleetKeyPath: keyPath,
      name: 'EOS.x86_64-AB',
      osUpdate: 'stand-in',
    });
    expect(info.config.osUpdate).toEqual({
      kind: 'stand-in',
      reason: 'asked for (createTestbedDevice osUpdate: stand-in)',
    });
    expect(await readFile(info.paths.osUpdate, 'utf8')).toContain('device-command.mjs');
    const usage = await run(info.paths.osUpdate, []);
    expect(usage).toMatchObject({ code: 0 });
    expect(usage.stdout.split('\n')[0]).toBe('os-update');
  }, 30_000);
});

describe('the hardware stand-ins', () => {
  it('dd of=<slot> is GNU dd on a partition with an end: it neither truncates nor grows the slot file', async () => {
    const slotB = device.paths.slotFile('p.lxrootclone1');
    const size = (await stat(slotB)).size;
    const input = path.join(work, 'too-large.bin');
    await writeFile(input, Buffer.alloc(size + 3 * 4096, 0xab));
    const dd = path.join(device.paths.hardwareDir, 'dd');
    const tooLarge = await run('/bin/sh', [
      '-c',
      `exec "$0" of="$1" status=progress <"$2"`,
      dd,
      slotB,
      input,
    ]);
    expect(tooLarge.code).toBe(1);
    expect(tooLarge.stderr).toMatch(
      new RegExp(
        `^dd: writing to '${slotB}': File too large\n${size / 512 + 1}[+]0 records in\n${size / 512}[+]0 records out\n${size} bytes`,
        'm',
      ),
    );
    expect((await stat(slotB)).size).toBe(size);
    const head = Buffer.alloc(8);
    await writeFile(input, Buffer.from('short'));
    const short = await run('/bin/sh', ['-c', `exec "$0" of="$1" <"$2"`, dd, slotB, input]);
    expect(short.code).toBe(0);
    expect((await stat(slotB)).size).toBe(size);

    const handle = await open(slotB, 'r');
    await handle.read(head, 0, 8, 0);
    await handle.close();
    // A block device keeps what a short write did not reach.
    expect(head.toString('latin1')).toBe('short\xab\xab\xab');
  }, 30_000);
});
