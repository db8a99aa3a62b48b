// The commit gate on a testbed device: on a COMMIT_UPDATE boot the services start, the overlay's
// real commit-gate script runs with this device's conf, and os-update --commit --reboot (EOS's own)
// runs only when the gate passed. A fake AGENT answers --health (the real agent is tested elsewhere).
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEosImage, type BuiltEosImage } from '../src';
import { loadKexecImage, requestBoot } from './boot-control';
import { createTestbedDevice, testbedAgentPaths } from './create-device';
import { grubCmdline, readDeviceConfig, writeFileAtomic } from './device-layout';
import { bootTestbedDevice, type RunningTestbedDevice } from './testbed-device';
import { writeFleetKey } from './test-helpers';

let work: string;
let dir: string;
let device: RunningTestbedDevice;
let v2: BuiltEosImage;

// Healthy once the test says so (a file); exit 1 = "not yet", as the agent's --health.
// --verify-slot answers as the agent does with no apply journaled (an update started by hand);
// the real content check runs in apps/agent/src/agent-testbed-cut-stream.test.ts.
const FAKE_AGENT = `#!/bin/sh
echo "fake agent $*" >>"$EOS_TESTBED_DIR/testbed/fake-agent.calls"
case " $* " in *" --verify-slot "*) echo "no apply of the fleet is journaled: nothing to compare"; exit 0 ;; esac
if [ -e "$EOS_TESTBED_DIR/testbed/healthy" ]; then echo "healthy: connected to the gateway in this boot"; exit 0; fi
echo "not connected to the gateway in this boot"
exit 1
`;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'testbed-gate-'));
  const sizes = { root: 12, uefi: 2, spare: 1 };
  const [v1, built] = await Promise.all([
    buildEosImage({ outPath: path.join(work, 'v1.raw'), version: '1.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'v2.raw'), version: '2.0.0', sizes }),
  ]);
  v2 = built;
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  const fakeAgent = path.join(work, 'fake-agent');
  await writeFile(fakeAgent, FAKE_AGENT);
  await chmod(fakeAgent, 0o755);
  dir = path.join(work, 'device');
  await createTestbedDevice({
    dir,
    image: v1.path,
    updateServer: { host: '127.0.0.1', sshPort: 1, user: 'ec2-user' },
    fleetKeyPath: key.privatePath,
    name: 'EOS.x86_64-AB',
    services: [
      {
        name: 'eos-fleet-agent',
        command: ['/bin/sh', '-c', 'exec sleep 600', '--config', '/dev/null'],
      },
    ],
    gate: { agent: [fakeAgent], healthTimeoutSeconds: 2, settleSeconds: 1, pollSeconds: 1 },
  });
  device = await bootTestbedDevice(dir);
}, 60_000);

afterAll(async () => {
  await (device as RunningTestbedDevice | undefined)?.shutdown();
  if (!process.env.KEEP) await rm(work, { recursive: true, force: true });
});

/** What os-update --apply leaves behind: v2 in slot B and a kexec into it with COMMIT_UPDATE. */
async function kexecIntoSlotB(): Promise<number> {
  const { slots } = await readDeviceConfig(dir);
  await pipeline(
    createReadStream(v2.path, { start: v2.root.offset, end: v2.root.offset + v2.root.size - 1 }),
    createWriteStream(device.paths.slotFile('p.lxrootclone1'), { flags: 'r+' }),
  );
  await loadKexecImage(dir, {
    kernel: '/mnt/boot/vmlinuz',
    initrd: '/mnt/boot/initrd',
    cmdline: `${grubCmdline(slots['p.lxrootclone1'].partuuid)} COMMIT_UPDATE`,
  });
  const { bootCount } = await device.status();
  await requestBoot(dir, 'kexec');
  return bootCount;
}

async function gateResult(): Promise<string> {
  // Where the agent of the next boot looks (testbedAgentPaths) is where the gate wrote its verdict.
  return readFile(testbedAgentPaths(dir).paths.commitGateReport, 'utf8');
}

// The gate is ours, not EOS's: it runs whichever os-update the device has (EOS's when found).
describe('commit gate on a testbed device', () => {
  it('a new slot whose agent never becomes healthy is not committed: the old slot comes back', async () => {
    const before = await kexecIntoSlotB();
    const after = await device.waitForBoot(before + 2, { timeoutMs: 60_000 });
    const log = (await device.bootLog()).slice(-2);
    expect(log[0]).toMatchObject({ kind: 'kexec', slot: 'p.lxrootclone1' });
    expect(log[1]).toMatchObject({ kind: 'reboot', slot: 'p.lxreadonly' });
    expect(after).toMatchObject({
      phase: 'running',
      currentSlot: 'p.lxreadonly',
      bootSelection: 'p.lxreadonly',
      commitPending: false,
    });
    expect(await gateResult()).toMatch(
      /^result=rollback\nreason=agent not healthy within 2s: not connected to the gateway in this boot\n/,
    );
    // The gate asked the agent of that boot, with the agent service's config.
    expect(await readFile(path.join(dir, 'testbed', 'fake-agent.calls'), 'utf8')).toContain(
      'fake agent --config /dev/null --health --wait 2',
    );
    expect(
      await readFile(path.join(device.paths.logs, 'eos-fleet-commit-gate.log'), 'utf8'),
    ).toContain('NOT committing this slot');
  }, 90_000);

  it('a healthy one is committed by EOS os-update --commit --reboot: two boots into the new slot', async () => {
    await writeFile(path.join(dir, 'testbed', 'healthy'), '');
    const before = await kexecIntoSlotB();
    const after = await device.waitForBoot(before + 2, { timeoutMs: 60_000 });
    const log = (await device.bootLog()).slice(-2);
    expect(log[0]).toMatchObject({ kind: 'kexec', slot: 'p.lxrootclone1' });
    expect(log[1]).toMatchObject({ kind: 'reboot', slot: 'p.lxrootclone1' });
    expect(after).toMatchObject({
      phase: 'running',
      currentSlot: 'p.lxrootclone1',
      bootSelection: 'p.lxrootclone1',
      commitPending: false,
    });
    expect(await gateResult()).toMatch(/^result=commit\n/);
  }, 90_000);

  it('REQUIRE_GATEWAY=no: an agent running steadily (systemctl is-active, NRestarts 0) is enough', async () => {
    await rm(path.join(dir, 'testbed', 'healthy'));
    // Back to slot A first (EOS's rollback), then the same update again.
    const config = JSON.parse(await readFile(device.paths.config, 'utf8')) as {
      gate: Record<string, unknown>;
    };
    config.gate = { ...config.gate, requireGateway: false, healthTimeoutSeconds: 20 };
    await writeFileAtomic(device.paths.config, `${JSON.stringify(config, null, 2)}\n`);
    await requestBoot(dir, 'power-cycle');
    const { bootCount } = await device.status();
    await device.waitForBoot(bootCount + 1);
    const before = await kexecIntoSlotB();
    const after = await device.waitForBoot(before + 2, { timeoutMs: 60_000 });
    expect(after).toMatchObject({
      phase: 'running',
      currentSlot: 'p.lxrootclone1',
      bootSelection: 'p.lxrootclone1',
    });
    expect(
      await readFile(path.join(device.paths.logs, 'eos-fleet-commit-gate.log'), 'utf8'),
    ).toContain('running without restarts for 1s');
  }, 90_000);
});
