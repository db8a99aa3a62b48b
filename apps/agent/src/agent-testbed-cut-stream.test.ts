// Cut streams end to end (EOS hazard 6, issue 7 item 3). EOS's apply runs
// `read_stream_system | update` under `set -e` without pipefail: a stream cut short still leaves
// dd exiting 0, and os-update kexecs into the half-written slot, which `--commit` would commit.
// Here the bundled agent drives EOS's own os-update on an image/testbed device against the real
// update server (apps/update-server) over the real ssh client, and the device's network (its ssh
// wrapper, image/testbed/network.ts: fault `cutStream`) drops a `sudo cat` stream after N bytes.
// Whatever the cut, the device must end on the old image, uncommitted, and the agent must say
// why; an uncut apply through the same path is committed (so these tests can fail).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { rootPrefixHash } from '@eos-fleet/shared';
import { type ResultFrame } from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startUpdateServer, type RunningUpdateServer } from '../../update-server/src/update-server';
import { buildEosImage, type BuiltEosImage } from '../../../image/src';
import { createTestbedDevice, testbedAgentPaths } from '../../../image/testbed/create-device';
import { writeFileAtomic } from '../../../image/testbed/device-layout';
import { setTestbedFaults, type CutStreamFault } from '../../../image/testbed/device-state';
import {
  bootTestbedDevice,
  type RunningTestbedDevice,
} from '../../../image/testbed/testbed-device';
import { writeFleetKey } from '../../../image/testbed/test-helpers';
import { TestGateway } from './testing/test-gateway';

const MiB = 1024 * 1024;
const ROOT_MIB = 24;
const ROOT_BYTES = ROOT_MIB * MiB;
/** The streams of an agent's apply: 1 its own `--check`, 2 `--apply`'s check, 3 `--apply`'s write. */
const WRITE_STREAM = 3;
const agentDir = new URL('..', import.meta.url).pathname;
let work: string;
let server: RunningUpdateServer;
let device: RunningTestbedDevice;
let gateway: TestGateway;
const cleanups: (() => Promise<void>)[] = [];
let v1: BuiltEosImage;
let v2: BuiltEosImage;
let v3: BuiltEosImage;
let v2Root: Buffer;
let v3Root: Buffer;
let deviceId: string;
let espAtStart: string;
/** Per run: what was cut, how it ended, how long it took (printed at the end for RELIABILITY.md). */
const figures: { run: string; outcome: string; seconds: number }[] = [];

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'agent-cut-stream-'));
  await promisify(execFile)(process.execPath, ['build.mjs'], { cwd: agentDir });
  const sizes = { root: ROOT_MIB, uefi: 2, spare: 1 };
  [v1, v2, v3] = await Promise.all([
    buildEosImage({ outPath: path.join(work, 'v1.raw'), version: '1.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'v2.raw'), version: '2.0.0', sizes }),
    buildEosImage({ outPath: path.join(work, 'v3.raw'), version: '3.0.0', sizes }),
  ]);
  [v2Root, v3Root] = await Promise.all([rootOf(v2), rootOf(v3)]);
  const key = await writeFleetKey(path.join(work, 'id_fleet'));
  await writeFile(
    path.join(work, 'authorized_keys'),
    `command="/usr/bin/os-update-restricted.sh" ${key.authorizedKey}\n`,
  );
  await writeFile(
    path.join(work, 'server-os-update.yml'),
    '---\nupdate:\n' +
      `  - image: ${pathToFileURL(v2.path).href}\n    name: EOS.x86_64-AB.raw\n` +
      `  - image: ${pathToFileURL(v3.path).href}\n    name: EOS.x86_64-AB-v3.raw\n`,
  );
  server = await startUpdateServer({
    osUpdateYml: path.join(work, 'server-os-update.yml'),
    publishDir: path.join(work, 'os-images'),
    stateDir: path.join(work, 'server-state'),
    fetchOnStart: false,
    catalogToken: 'cut-stream-token',
    http: { host: '127.0.0.1', port: 0 },
    ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
    logLevel: 'silent',
  });
  cleanups.push(() => server.stop());
  await server.fetchNow();
  gateway = await TestGateway.start();
  cleanups.push(() => gateway.close());

  const dir = path.join(work, 'device');
  const configFile = path.join(work, 'agent.yml');
  await writeFile(
    configFile,
    stringify({
      server: { url: gateway.url, enrollmentToken: 'testbed-token' },
      ...testbedAgentPaths(dir),
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, firstConnectJitterMs: 0 },
      inventoryIntervalMs: 1000,
    }),
  );
  await createTestbedDevice({
    dir,
    image: v1.path,
    updateServer: { host: '127.0.0.1', sshPort: server.sshPort, user: 'ec2-user' },
    fleetKeyPath: key.privatePath,
    name: 'EOS.x86_64-AB',
    services: [
      {
        name: 'eos-fleet-agent',
        command: [
          process.execPath,
          path.join(agentDir, 'dist', 'eos-fleet-agent.mjs'),
          '--config',
          configFile,
        ],
      },
    ],
  });
  device = await bootTestbedDevice(dir);
  cleanups.push(() => device.shutdown());
  espAtStart = await readFile(device.paths.earlybootCfg, 'utf8');
  const enroll = await gateway.waitFor(() => gateway.framesOf('enroll')[0], 30_000);
  deviceId = enroll.deviceId;
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  if (figures.length > 0) {
    console.log(
      `cut streams (${ROOT_MIB} MiB root, EOS os-update, real agent and update server):\n` +
        figures
          .map((f) => `  ${f.run.padEnd(54)} ${f.outcome.padEnd(28)} ${f.seconds.toFixed(1)} s`)
          .join('\n'),
    );
  }
  if (process.env.KEEP) console.log(`kept ${work}`);
  else await rm(work, { recursive: true, force: true });
});

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function rootOf(image: BuiltEosImage): Promise<Buffer> {
  const file = await open(image.path, 'r');
  try {
    const root = Buffer.alloc(image.root.size);
    await file.read(root, 0, root.length, image.root.offset);
    return root;
  } finally {
    await file.close();
  }
}

/** An apply of v2 (EOS.x86_64-AB), or of v3 (EOS.x86_64-AB-v3). */
function applyParams(image: 'v2' | 'v3' = 'v2') {
  const [built, root] = image === 'v2' ? [v2, v2Root] : [v3, v3Root];
  return {
    ...(image === 'v3' ? { imageName: 'EOS.x86_64-AB-v3' } : {}),
    expectedRootPrefixHash: built.rootPrefixHash,
    expectedRootSha256: sha256(root),
    expectedRootBytes: root.length,
    deadline: new Date(Date.now() + 600_000).toISOString(),
  };
}

const resultOf = (commandId: string) => () =>
  gateway.framesOf('result').find((r: ResultFrame) => r.commandId === commandId);

async function slotB(): Promise<Buffer> {
  return readFile(device.paths.slotFile('p.lxrootclone1'));
}

/** Sends an apply of v2 with `cut` in place, waits for its result; the boots it went through. */
async function applyWith(
  commandId: string,
  run: string,
  cut: CutStreamFault | undefined,
  image: 'v2' | 'v3' = 'v2',
) {
  await gateway.waitFor(() => gateway.connected(deviceId), 30_000);
  await setTestbedFaults(device.paths.root, cut ? { cutStream: cut } : {});
  const bootsBefore = (await device.bootLog()).length;
  const started = Date.now();
  gateway.command(deviceId, commandId, 'apply', applyParams(image));
  const result = await gateway.waitFor(resultOf(commandId), 150_000);
  const seconds = (Date.now() - started) / 1000;
  figures.push({
    run,
    outcome: result.error ? `${result.status} ${result.error.code}` : result.status,
    seconds,
  });
  const boots = (await device.bootLog()).slice(bootsBefore);
  await setTestbedFaults(device.paths.root, {});
  return { result, boots };
}

/** On the old image: slot A booted and selected, v1's root prefix hash, the ESP as flashed. */
async function expectOldImage(): Promise<void> {
  expect(await device.status()).toMatchObject({
    phase: 'running',
    currentSlot: 'p.lxreadonly',
    bootSelection: 'p.lxreadonly',
    commitPending: false,
  });
  expect(await rootPrefixHash({ path: device.paths.rootDevice })).toBe(v1.rootPrefixHash);
  expect(await readFile(device.paths.earlybootCfg, 'utf8')).toBe(espAtStart);
}

/**
 * A cut of the write stream: EOS writes the part that came, kexecs into it, the commit gate's
 * --verify-slot refuses it, the reboot brings slot A back, and the agent there answers
 * content_mismatch from the gate's report.
 */
async function expectWriteCutRefused(commandId: string, bytes: number, run: string) {
  const { result, boots } = await applyWith(commandId, run, { nth: WRITE_STREAM, bytes });
  expect(result, JSON.stringify(result)).toMatchObject({
    status: 'failed',
    error: { code: 'content_mismatch' },
    data: {
      activeSlot: 'p.lxreadonly',
      previousSlot: 'p.lxreadonly',
      rootPrefixHash: v1.rootPrefixHash,
    },
  });
  // EOS really did write the short stream and boot it: kexec into B, then back to A.
  expect(boots.map((boot) => [boot.kind, boot.slot])).toEqual([
    ['kexec', 'p.lxrootclone1'],
    ['reboot', 'p.lxreadonly'],
  ]);
  const written = await slotB();
  expect(sha256(written.subarray(0, bytes))).toBe(sha256(v2Root.subarray(0, bytes)));
  expect(sha256(written)).not.toBe(sha256(v2Root));
  expect(await readFile(device.paths.gateReport, 'utf8')).toMatch(
    new RegExp(`^result=rollback\\nreason=content_mismatch: .*apply ${commandId}:`),
  );
  expect(await readFile(device.paths.networkLog, 'utf8')).toContain(
    `stream ${WRITE_STREAM} (sudo cat /srv/www/fleet/os-images/EOS.x86_64-AB.raw.dev): cut after ${bytes} bytes`,
  );
  await expectOldImage();
}

describe('an apply whose stream is cut short (EOS os-update has no pipefail)', () => {
  it('cut at the start of the write stream (4 MiB, before the 10 MiB prefix): not committed', async () => {
    await expectWriteCutRefused('cut-start', 4 * MiB + 4097, 'write stream cut at 4 MiB + 4097');
  }, 180_000);

  it('every stream cut at 4 MiB (the check sees a short stream): nothing is written', async () => {
    const before = sha256(await slotB());
    const { result, boots } = await applyWith('cut-every', 'every stream cut at 4 MiB + 4097', {
      bytes: 4 * MiB + 4097,
    });
    expect(result, JSON.stringify(result)).toMatchObject({
      status: 'failed',
      error: { code: 'image_mismatch' },
    });
    expect(boots).toEqual([]);
    expect(sha256(await slotB())).toBe(before);
    await expectOldImage();
  }, 180_000);

  it('cut in the middle of the write stream (12 MiB): not committed', async () => {
    await expectWriteCutRefused('cut-middle', 12 * MiB + 513, 'write stream cut at 12 MiB + 513');
  }, 180_000);

  it('cut within the last MiB of the write stream: not committed', async () => {
    await expectWriteCutRefused(
      'cut-last-mib',
      ROOT_BYTES - 100_000,
      `write stream cut 100000 bytes before its end`,
    );
  }, 180_000);

  it('the same apply uncut is committed: two boots into slot B, the new hash', async () => {
    const { result, boots } = await applyWith('uncut', 'uncut', undefined);
    expect(result, JSON.stringify(result)).toMatchObject({
      status: 'succeeded',
      data: {
        rootPrefixHash: v2.rootPrefixHash,
        activeSlot: 'p.lxrootclone1',
        previousSlot: 'p.lxreadonly',
      },
    });
    expect(boots.map((boot) => [boot.kind, boot.slot])).toEqual([
      ['kexec', 'p.lxrootclone1'],
      ['reboot', 'p.lxrootclone1'],
    ]);
    expect(await device.status()).toMatchObject({
      currentSlot: 'p.lxrootclone1',
      bootSelection: 'p.lxrootclone1',
      commitPending: false,
    });
    expect(await rootPrefixHash({ path: device.paths.rootDevice })).toBe(v2.rootPrefixHash);
    expect(sha256(await slotB())).toBe(sha256(v2Root));
  }, 180_000);

  // The control: the same cut on a device without the commit gate is EOS's hazard as it is.
  it('without the commit gate EOS commits a slot cut in its last MiB, and its prefix hash looks right', async () => {
    const config = JSON.parse(await readFile(device.paths.config, 'utf8')) as {
      gate: Record<string, unknown>;
    };
    config.gate = { ...config.gate, enabled: false };
    await writeFileAtomic(device.paths.config, `${JSON.stringify(config, null, 2)}\n`);
    const slotA = device.paths.slotFile('p.lxreadonly');
    const { result, boots } = await applyWith(
      'cut-no-gate',
      'no gate: write stream cut 100000 bytes before its end',
      { nth: WRITE_STREAM, bytes: ROOT_BYTES - 100_000 },
      'v3',
    );
    // Slot A held v1: it now holds v3 but for its last 100000 bytes, committed and booted.
    expect(boots.map((boot) => [boot.kind, boot.slot])).toEqual([
      ['kexec', 'p.lxreadonly'],
      ['reboot', 'p.lxreadonly'],
    ]);
    expect(await device.status()).toMatchObject({
      currentSlot: 'p.lxreadonly',
      bootSelection: 'p.lxreadonly',
      commitPending: false,
    });
    const written = await readFile(slotA);
    expect(sha256(written)).not.toBe(sha256(v3Root));
    expect(await rootPrefixHash({ path: slotA })).toBe(v3.rootPrefixHash);
    // The prefix hash is all the agent can compare after the commit: it cannot tell.
    expect(result, JSON.stringify(result)).toMatchObject({
      status: 'succeeded',
      data: { rootPrefixHash: v3.rootPrefixHash, activeSlot: 'p.lxreadonly' },
    });
  }, 180_000);
});
