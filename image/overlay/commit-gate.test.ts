// The commit gate script, run for real by /bin/sh against a temp directory that stands in for
// /proc/cmdline, the flakes dir, the storage mount and the root device (a file), with recording
// stand-ins for systemctl, reboot and mountpoint on PATH and for the agent's --health. The content
// check (`--verify-slot`) is the real agent (apps/agent, run from source) where a test says so.
// Plus the unit files (systemd-analyze verify, when this machine has it) and the shipped
// configuration files.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '@eos-fleet/shared/agent-config';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
// The agent's reader of the report this gate writes: the two halves of content_mismatch meet here.
import { contentMismatchOf, parseGateReport } from '../../apps/agent/src/gate-report';

const agentMain = new URL('../../apps/agent/src/main.ts', import.meta.url).pathname;

const overlay = import.meta.dirname;
const gateScript = join(overlay, 'usr/libexec/eos-fleet/commit-gate');
const unitDir = join(overlay, 'usr/lib/systemd/system');
const root = mkdtempSync(join(tmpdir(), 'eos-commit-gate-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const NORMAL_CMDLINE = 'BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=aaaa-1 console=ttyS0,115200 quiet\n';
const KEXEC_CMDLINE =
  'BOOT_IMAGE=/boot/vmlinuz root=PARTUUID=bbbb-2 console=ttyS0,115200 quiet COMMIT_UPDATE\n';

interface Device {
  dir: string;
  flakes: string;
  /** The stand-in for the running root device (root=PARTUUID=bbbb-2). */
  rootDevice: string;
  /** What the stand-in agent answers to --health: exit 0, 1 (not yet) or 2 (broken). */
  setHealth(health: 'healthy' | 'unhealthy' | 'broken'): void;
  /**
   * --verify-slot: `nothing` (the stand-in says no apply is journaled, exit 0) or `real` (the real
   * agent reads the journal in the device's state dir and hashes rootDevice).
   */
  setVerify(verify: 'nothing' | 'real'): void;
  /** Journals an apply as the agent does before os-update --apply kexecs. */
  journalApply(image: Buffer): void;
  run(settings?: Record<string, string>): {
    status: number | null;
    stderr: string;
    calls: string[];
    report: string;
  };
}

let count = 0;
function device(cmdline: string): Device {
  const dir = join(root, `device-${++count}`);
  const bin = join(dir, 'bin');
  const flakes = join(dir, 'flakes');
  const state = join(dir, 'state');
  for (const path of [
    bin,
    flakes,
    state,
    join(dir, 'proc'),
    join(dir, 'usr/bin'),
    join(dir, 'storage'),
  ])
    mkdirSync(path, { recursive: true });
  writeFileSync(join(dir, 'proc/cmdline'), cmdline);
  writeFileSync(join(dir, 'proc/boot_id'), '0b1d7d0e-5a5e-4e0e-9a4c-000000000001\n');
  writeFileSync(join(state, 'health'), 'healthy');
  writeFileSync(join(state, 'verify'), 'nothing');
  const rootDevice = join(dir, 'root-device');
  const agentState = join(dir, 'storage/eos-fleet');
  // A real agent config: the real agent's --verify-slot reads it.
  writeFileSync(
    join(dir, 'agent.yml'),
    stringify({
      server: { url: 'ws://127.0.0.1:1/agent/v1' },
      stateDir: agentState,
      paths: {
        rootDevice,
        cmdline: join(dir, 'proc/cmdline'),
        bootId: join(dir, 'proc/boot_id'),
        commitGateReport: join(dir, 'storage/eos-fleet-gate/last-result'),
      },
    }),
  );
  writeFileSync(join(state, 'active'), 'yes');
  writeFileSync(join(state, 'restarts'), '0');
  const calls = join(dir, 'calls.log');
  // Stand-ins for system binaries: each records its argv, then behaves as the state files say.
  const record = `printf '%s %s\\n' "$(basename "$0")" "$*" >>'${calls}'`;
  const fakes: Record<string, string> = {
    'eos-fleet-agent': `case " $* " in
  *" --verify-slot "*)
    if [ "$(cat '${state}/verify')" = real ]; then exec '${process.execPath}' --import tsx '${agentMain}' "$@"; fi
    echo 'no apply from the fleet is waiting for this boot: nothing to verify'; exit 0 ;;
esac
case $(cat '${state}/health') in
  healthy) echo healthy; exit 0 ;;
  unhealthy) echo 'unhealthy: the agent has not reached the server in this boot' >&2; exit 1 ;;
  *) echo 'eos-fleet-agent: /usr/bin/node: not found' >&2; exit 127 ;;
esac`,
    systemctl: `case $1 in
  is-active) [ "$(cat '${state}/active')" = yes ] ;;
  show) cat '${state}/restarts' ;;
  *) exit 0 ;;
esac`,
    reboot: 'exit 0',
    sync: 'exit 0',
    'os-update': 'exit 0',
    mountpoint: `[ ! -e '${state}/not-mounted' ]`,
  };
  for (const [name, body] of Object.entries(fakes)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${record}\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  // The pilots flake apps link to.
  for (const pilot of ['podman-pilot', 'firecracker-pilot']) {
    writeFileSync(join(dir, 'usr/bin', pilot), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, 'usr/bin', pilot), 0o755);
  }
  return {
    dir,
    flakes,
    rootDevice,
    setHealth: (health) => writeFileSync(join(state, 'health'), health),
    setVerify: (verify) => writeFileSync(join(state, 'verify'), verify),
    journalApply(image) {
      mkdirSync(agentState, { recursive: true });
      // The agent's journal format (apps/agent/src/journal.ts); the real agent reads it back, so a
      // change of format fails these tests rather than passing them.
      const entry = {
        id: 'apply-1',
        kind: 'apply',
        params: {},
        receivedAt: new Date().toISOString(),
        state: 'awaiting_reboot',
        reboot: {
          expectedRootPrefixHash: createHash('sha1')
            .update(image.subarray(0, 10 * 1024 * 1024))
            .digest('hex'),
          expectedRootSha256: createHash('sha256').update(image).digest('hex'),
          expectedRootBytes: image.length,
          previousSlot: 'p.lxreadonly',
          previousBootId: '0b1d7d0e-5a5e-4e0e-9a4c-000000000000',
        },
        confirmed: false,
      };
      writeFileSync(
        join(agentState, 'journal.json'),
        JSON.stringify({ version: 1, entries: [entry] }),
      );
    },
    run(settings = {}) {
      const conf = join(dir, 'commit-gate.conf');
      const all: Record<string, string> = {
        CMDLINE: join(dir, 'proc/cmdline'),
        BOOT_ID_FILE: join(dir, 'proc/boot_id'),
        FLAKES_DIR: flakes,
        STORAGE_DIR: join(dir, 'storage'),
        REPORT_DIR: join(dir, 'storage/eos-fleet-gate'),
        AGENT_CONFIG: join(dir, 'agent.yml'),
        HEALTH_TIMEOUT: '2',
        ...settings,
      };
      writeFileSync(
        conf,
        Object.entries(all)
          .map(([key, value]) => `${key}='${value}'\n`)
          .join(''),
      );
      rmSync(calls, { force: true });
      const result = spawnSync('/bin/sh', [gateScript], {
        env: { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, EOS_FLEET_GATE_CONF: conf },
        encoding: 'utf8',
        timeout: 30_000,
      });
      const reportPath = join(all.REPORT_DIR ?? '', 'last-result');
      return {
        status: result.status,
        stderr: result.stderr,
        calls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [],
        report: existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '',
      };
    },
  };
}

function addFlake(
  dev: Device,
  app: string,
  target: string | null,
  engine: 'container' | 'vm' = 'container',
): void {
  const appPath = join(dev.flakes, 'bin', app);
  mkdirSync(join(dev.flakes, 'bin'), { recursive: true });
  if (target !== null) symlinkSync(target, appPath);
  // flake-pilot's file shape (serde_yaml: `---`, `~` for none), trimmed to what matters here.
  writeFileSync(
    join(dev.flakes, `${app}.yaml`),
    `---\ninclude:\n  tar: ~\n  path: ~\n${engine}:\n  name: suse-apps/${app}\n  target_app_path: /usr/bin/${app}\n  host_app_path: ${appPath}\n  runtime:\n    runas: root\n`,
  );
}

const rebooted = (calls: string[]) => calls.includes('systemctl --no-block reboot');

describe('commit gate script', () => {
  it('does nothing on a normal boot (no COMMIT_UPDATE): no agent, no reboot, exit 0', () => {
    const dev = device(NORMAL_CMDLINE);
    dev.setHealth('broken');
    const result = dev.run();
    expect(result.status).toBe(0);
    expect(result.calls).toEqual([]);
    expect(result.stderr).toContain('not an update boot');
    expect(result.report).toBe('');
  });

  it('lets the commit proceed when the agent reached the gateway and the flakes are intact', () => {
    const dev = device(KEXEC_CMDLINE);
    addFlake(dev, 'lynx', join(dev.dir, 'usr/bin/podman-pilot'));
    addFlake(dev, 'mybash', join(dev.dir, 'usr/bin/firecracker-pilot'), 'vm');
    const result = dev.run({ HEALTH_TIMEOUT: '120' });
    expect(result.status).toBe(0);
    expect(result.calls).toContain(
      `eos-fleet-agent --config ${join(dev.dir, 'agent.yml')} --health --wait 120`,
    );
    expect(rebooted(result.calls)).toBe(false);
    expect(result.calls.some((call) => call.startsWith('os-update'))).toBe(false);
    expect(result.stderr).toContain('2 flake(s)');
    expect(result.report).toMatch(/^result=commit\n/);
    expect(result.report).toContain('boot_id=0b1d7d0e-5a5e-4e0e-9a4c-000000000001');
  });

  it('blocks the commit and reboots (never os-update) when the agent does not become healthy in the window', () => {
    const dev = device(KEXEC_CMDLINE);
    dev.setHealth('unhealthy');
    const result = dev.run();
    expect(result.status).toBe(1);
    expect(result.calls).toContain(
      `eos-fleet-agent --config ${join(dev.dir, 'agent.yml')} --health --wait 2`,
    );
    expect(rebooted(result.calls)).toBe(true);
    expect(result.calls.some((call) => call.startsWith('os-update'))).toBe(false);
    expect(result.stderr).toContain(
      'agent not healthy within 2s: unhealthy: the agent has not reached the server',
    );
    expect(result.report).toMatch(/^result=rollback\nreason=agent not healthy/);
  });

  it('falls back to reboot -f only when systemctl cannot take the reboot', () => {
    const dev = device(KEXEC_CMDLINE);
    dev.setHealth('unhealthy');
    writeFileSync(
      join(dev.dir, 'bin/systemctl'),
      `#!/bin/sh\nprintf '%s %s\\n' systemctl "$*" >>'${join(dev.dir, 'calls.log')}'\nexit 1\n`,
    );
    const result = dev.run();
    expect(result.status).toBe(1);
    expect(result.calls).toEqual(
      expect.arrayContaining(['systemctl --no-block reboot', 'reboot -f']),
    );
  });

  it('blocks the commit when a flake app points at a pilot the new slot no longer has', () => {
    const dev = device(KEXEC_CMDLINE);
    addFlake(dev, 'lynx', join(dev.dir, 'usr/bin/podman-pilot'));
    addFlake(dev, 'leap', join(dev.dir, 'usr/bin/no-such-pilot'), 'vm');
    const result = dev.run();
    expect(result.status).toBe(1);
    expect(rebooted(result.calls)).toBe(true);
    expect(result.stderr).toContain(
      `leap: ${join(dev.flakes, 'bin/leap')} -> ${join(dev.dir, 'usr/bin/no-such-pilot')} does not exist`,
    );
    expect(result.stderr).not.toContain('lynx:');
    // Workloads are checked before health: no point waiting for the agent on a slot that cannot commit.
    expect(result.calls.some((call) => call.includes('--health'))).toBe(false);
  });

  it('blocks the commit when a flake app is missing or its file names no app', () => {
    const dev = device(KEXEC_CMDLINE);
    addFlake(dev, 'gone', null);
    writeFileSync(join(dev.flakes, 'odd.yaml'), '---\ncontainer:\n  name: odd\n');
    const result = dev.run();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`gone: ${join(dev.flakes, 'bin/gone')} is not a symlink`);
    expect(result.stderr).toContain('odd: no host_app_path');
  });

  it('reads quoted app paths, and CHECK_WORKLOADS=no skips the flakes', () => {
    const dev = device(KEXEC_CMDLINE);
    mkdirSync(join(dev.flakes, 'bin'));
    symlinkSync(join(dev.dir, 'usr/bin/podman-pilot'), join(dev.flakes, 'bin/yes'));
    writeFileSync(
      join(dev.flakes, 'yes.yaml'),
      `---\ncontainer:\n  name: y\n  host_app_path: "${join(dev.flakes, 'bin/yes')}"\n`,
    );
    expect(dev.run().status).toBe(0);
    addFlake(dev, 'gone', null);
    expect(dev.run().status).toBe(1);
    expect(dev.run({ CHECK_WORKLOADS: 'no' }).status).toBe(0);
  });

  it('blocks the commit when the storage area is not mounted', () => {
    const dev = device(KEXEC_CMDLINE);
    writeFileSync(join(dev.dir, 'state/not-mounted'), '');
    const result = dev.run();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${join(dev.dir, 'storage')} is not mounted`);
    expect(rebooted(result.calls)).toBe(true);
  });

  it('blocks at once when the agent itself is broken on the new slot (no node, bad config)', () => {
    const dev = device(KEXEC_CMDLINE);
    dev.setHealth('broken');
    const result = dev.run({ HEALTH_TIMEOUT: '60' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('node: not found');
  });

  it('ON_FAILURE=stay blocks the commit without rebooting', () => {
    const dev = device(KEXEC_CMDLINE);
    dev.setHealth('unhealthy');
    const result = dev.run({ ON_FAILURE: 'stay' });
    expect(result.status).toBe(1);
    expect(result.calls.some((call) => call.includes('reboot'))).toBe(false);
  });

  describe('content check (VERIFY_CONTENT, the real agent --verify-slot)', () => {
    const MiB = 1024 * 1024;
    const image = randomBytes(3 * MiB);
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    /** A slot the old image occupied before: what is left where the new stream did not reach. */
    const oldBytes = randomBytes(4 * MiB);

    function gated(rootContent: Buffer | null): Device {
      const dev = device(KEXEC_CMDLINE);
      dev.setVerify('real');
      dev.journalApply(image);
      if (rootContent) writeFileSync(dev.rootDevice, rootContent);
      return dev;
    }

    it('commits a slot that holds the whole image, checking content before the agent health', () => {
      // The partition is larger than the image: only the image's length counts.
      const dev = gated(Buffer.concat([image, oldBytes.subarray(image.length)]));
      const result = dev.run();
      expect(result.stderr).toContain('content: apply apply-1: ');
      expect(result.status).toBe(0);
      const verify = result.calls.findIndex((call) => call.includes('--verify-slot'));
      const health = result.calls.findIndex((call) => call.includes('--health'));
      expect(verify).toBeGreaterThanOrEqual(0);
      expect(health).toBeGreaterThan(verify);
      expect(result.calls).toContain(
        `eos-fleet-agent --config ${join(dev.dir, 'agent.yml')} --verify-slot`,
      );
      expect(result.report).toMatch(
        /^result=commit\nreason=storage mounted, content verified, workloads and agent healthy\n/,
      );
      expect(rebooted(result.calls)).toBe(false);
    }, 30_000);

    // EOS's apply has no pipefail: wherever the stream is cut, dd exits 0 and the slot is booted.
    for (const [where, cut] of [
      ['at the start', 0],
      ['in the middle', 1.5 * MiB],
      ['in the last MiB', image.length - 1000],
    ] as const) {
      it(`does not commit a slot whose stream was cut ${where}, and says content_mismatch`, () => {
        const slot = Buffer.concat([image.subarray(0, cut), oldBytes.subarray(cut)]);
        const dev = gated(slot);
        const result = dev.run();
        expect(result.status).toBe(1);
        expect(rebooted(result.calls)).toBe(true);
        expect(result.calls.some((call) => call.startsWith('os-update'))).toBe(false);
        expect(result.calls.some((call) => call.includes('--health'))).toBe(false);
        const expected = `content_mismatch: apply apply-1: sha256 of the first ${image.length} bytes of ${dev.rootDevice} is ${sha256(slot.subarray(0, image.length))}, expected ${sha256(image)}`;
        expect(result.report).toContain(`result=rollback\nreason=${expected}\n`);
        // What the agent on the old slot makes of that report.
        expect(contentMismatchOf(parseGateReport(result.report), 'apply-1')).toBe(
          expected.slice('content_mismatch: '.length),
        );
      }, 30_000);
    }

    it('fails closed when the root device cannot be read', () => {
      const dev = gated(null);
      const result = dev.run();
      expect(result.status).toBe(1);
      expect(rebooted(result.calls)).toBe(true);
      expect(result.report).toMatch(
        /^result=rollback\nreason=content_mismatch: cannot verify the slot \(--verify-slot exit 4\): apply apply-1: cannot read /,
      );
    }, 30_000);

    it('lets an update started by hand through: no apply journaled, nothing to compare with', () => {
      const dev = device(KEXEC_CMDLINE);
      dev.setVerify('real');
      writeFileSync(dev.rootDevice, oldBytes);
      const result = dev.run();
      expect(result.status).toBe(0);
      expect(result.stderr).toContain('nothing to verify');
    }, 30_000);

    it('VERIFY_CONTENT=no skips it', () => {
      const dev = gated(oldBytes);
      const result = dev.run({ VERIFY_CONTENT: 'no' });
      expect(result.status).toBe(0);
      expect(result.calls.some((call) => call.includes('--verify-slot'))).toBe(false);
      expect(result.report).toContain('content not verified: VERIFY_CONTENT=no');
    });
  });

  describe('REQUIRE_GATEWAY=no (closed networks)', () => {
    const local = {
      REQUIRE_GATEWAY: 'no',
      SETTLE_SECONDS: '1',
      POLL_SECONDS: '1',
      HEALTH_TIMEOUT: '6',
    };

    it('commits when the agent runs steadily although it cannot reach the gateway', () => {
      const dev = device(KEXEC_CMDLINE);
      dev.setHealth('unhealthy');
      const result = dev.run(local);
      expect(result.status).toBe(0);
      expect(result.calls).toEqual(
        expect.arrayContaining(['systemctl is-active --quiet eos-fleet-agent.service']),
      );
      expect(result.stderr).toContain('REQUIRE_GATEWAY=no accepts that');
      expect(rebooted(result.calls)).toBe(false);
    });

    it('still commits at once when the gateway is reached', () => {
      const dev = device(KEXEC_CMDLINE);
      const result = dev.run(local);
      expect(result.status).toBe(0);
      expect(result.calls.filter((call) => call.startsWith('systemctl'))).toEqual([]);
    });

    it('rolls back an agent that keeps restarting (crash loop on the new slot)', () => {
      const dev = device(KEXEC_CMDLINE);
      dev.setHealth('unhealthy');
      writeFileSync(join(dev.dir, 'state/restarts'), '3');
      const result = dev.run({ ...local, HEALTH_TIMEOUT: '2' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('agent not running steadily within 2s');
      expect(rebooted(result.calls)).toBe(true);
    });
  });
});

describe('unit files', () => {
  const units = ['eos-fleet-agent.service', 'eos-fleet-commit-gate.service'];

  it('pass systemd-analyze verify in a root with EOS update_commit.service (when this machine has systemd-analyze)', () => {
    const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (analyze.error) {
      console.warn(
        'systemd-analyze not found: unit files not verified (install systemd to verify them)',
      );
      return;
    }
    // A root holding this machine's units, EOS's update_commit.service as EOS ships it, our
    // overlay, and stand-ins for the binaries the units name.
    const sysroot = join(root, 'sysroot');
    mkdirSync(join(sysroot, 'usr/lib/systemd/system'), { recursive: true });
    // cp -a: masked units are symlinks to /dev/null, which cpSync refuses to copy.
    const systemUnits = ['/usr/lib/systemd/system', '/lib/systemd/system'].find((dir) =>
      existsSync(dir),
    );
    if (systemUnits)
      execFileSync('cp', ['-a', `${systemUnits}/.`, join(sysroot, 'usr/lib/systemd/system')]);
    cpSync(join(overlay, 'usr'), join(sysroot, 'usr'), { recursive: true });
    writeFileSync(
      join(sysroot, 'usr/lib/systemd/system/update_commit.service'),
      '[Unit]\nDescription=Commit OS Update\n\n[Service]\nType=oneshot\nExecStart=/usr/sbin/os-update --commit --reboot\n\n[Install]\nWantedBy=multi-user.target\n',
    );
    for (const path of ['usr/sbin/os-update', 'usr/bin/node', 'usr/bin/mountpoint', 'bin/sh']) {
      mkdirSync(join(sysroot, path, '..'), { recursive: true });
      writeFileSync(join(sysroot, path), '#!/bin/sh\n');
      chmodSync(join(sysroot, path), 0o755);
    }
    const result = spawnSync(
      'systemd-analyze',
      [
        'verify',
        `--root=${sysroot}`,
        ...[...units, 'update_commit.service'].map((unit) => `usr/lib/systemd/system/${unit}`),
      ],
      { cwd: sysroot, encoding: 'utf8' },
    );
    // Warnings (unknown keys, bad ordering) only go to stderr: none is allowed.
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('chain update_commit after the gate, and the gate after the agent', () => {
    const dropIn = readFileSync(
      join(unitDir, 'update_commit.service.d/eos-fleet-gate.conf'),
      'utf8',
    );
    expect(dropIn).toMatch(/^Requires=eos-fleet-commit-gate\.service$/m);
    expect(dropIn).toMatch(/^After=eos-fleet-commit-gate\.service$/m);
    const gate = readFileSync(join(unitDir, 'eos-fleet-commit-gate.service'), 'utf8');
    expect(gate).toMatch(/^Before=update_commit\.service$/m);
    expect(gate).toMatch(/^After=eos-fleet-agent\.service /m);
    expect(gate).toMatch(/^ConditionKernelCommandLine=COMMIT_UPDATE$/m);
    expect(gate).toMatch(/^FailureAction=reboot$/m);
    const agent = readFileSync(join(unitDir, 'eos-fleet-agent.service'), 'utf8');
    expect(agent).toMatch(
      /^ExecStart=\/usr\/bin\/node \/usr\/lib\/eos-fleet\/eos-fleet-agent\.mjs --config \/etc\/eos-fleet\/agent\.yml$/m,
    );
    expect(agent).toMatch(/^Restart=always$/m);
    // Stopping the unit ends the agent's tools too (they run in process groups of their own).
    expect(agent).toMatch(/^KillMode=control-group$/m);
  });
});

describe('configuration files', () => {
  it('agent.yml is a valid agent config with the EOS paths', () => {
    const config = agentConfigSchema.parse(
      parse(readFileSync(join(overlay, 'etc/eos-fleet/agent.yml'), 'utf8')),
    );
    expect(config.stateDir).toBe('/var/lib/containers/storage/eos-fleet');
    expect(config.paths).toMatchObject({
      osUpdate: '/usr/sbin/os-update',
      flakeCtl: '/usr/bin/flake-ctl',
      flakesDir: '/usr/share/flakes',
    });
  });

  it('commit-gate.conf sets only settings the gate reads, and sh can source it', () => {
    const conf = join(overlay, 'etc/eos-fleet/commit-gate.conf');
    const names = readFileSync(conf, 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => line.split('=')[0]);
    const script = readFileSync(gateScript, 'utf8');
    for (const name of names) expect(script, name).toContain(`: "\${${name}:=`);
    expect(
      execFileSync(
        '/bin/sh',
        ['-c', `set -eu; . '${conf}'; echo "$REQUIRE_GATEWAY $HEALTH_TIMEOUT"`],
        { encoding: 'utf8' },
      ),
    ).toBe('yes 300\n');
  });

  it('the overlay holds no agent bundle', () => {
    expect(readdirSync(join(overlay, 'usr/lib/eos-fleet'))).toEqual(['README.md']);
  });
});
