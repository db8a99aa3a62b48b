// --verify-slot's decision against a temp-dir device: the slot files stand in for the root device.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from './clock';
import { Journal } from './journal';
import { StateStore } from './state-store';
import { sha256OfPrefix, verifySlot } from './slot-verification';
import { FakeDevice } from './testing/fake-device';

let device: FakeDevice;
const image = randomBytes(48 * 1024);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

beforeEach(async () => {
  device = await FakeDevice.create();
});

afterEach(async () => {
  await device.remove();
});

const config = () => device.config('ws://127.0.0.1:1/agent/v1');
/** The root device of the kexec boot, as the cmdline names it. */
const newRoot = () => device.path('disk/by-partuuid', device.partUuids['p.lxrootclone1']);

/** The journal as the agent leaves it before os-update --apply kexecs, then the kexec boot. */
async function journaledApply(
  reboot: { expectedRootSha256?: string; expectedRootBytes?: number } = {},
): Promise<Journal> {
  const journal = await Journal.load(new StateStore(config().stateDir));
  await new StateStore(config().stateDir).ensureDir();
  await journal.put({
    id: 'apply-9',
    kind: 'apply',
    params: {},
    receivedAt: new Date().toISOString(),
    state: 'awaiting_reboot',
    reboot: {
      expectedRootPrefixHash: 'a'.repeat(40),
      expectedRootSha256: sha256(image),
      expectedRootBytes: image.length,
      ...reboot,
      previousSlot: 'p.lxreadonly',
      previousBootId: device.bootId,
    },
    confirmed: false,
  });
  await device.boot('p.lxrootclone1', true);
  return journal;
}

describe('verify-slot', () => {
  it('matches a slot that holds the image (and ignores what follows it in the partition)', async () => {
    await device.writeSlot('p.lxrootclone1', Buffer.concat([image, randomBytes(16 * 1024)]));
    const verdict = await verifySlot(config(), await journaledApply(), systemClock);
    expect(verdict).toMatchObject({ kind: 'match' });
    expect(verdict.message).toMatch(
      new RegExp(
        `^apply apply-9: ${newRoot()} holds the expected image \\(sha256 ${sha256(image)} of 49152 bytes`,
      ),
    );
  });

  it('refuses a slot whose stream was cut short: part new image, part old bytes', async () => {
    const cut = Buffer.concat([image.subarray(0, 40 * 1024), randomBytes(24 * 1024)]);
    await device.writeSlot('p.lxrootclone1', cut);
    const verdict = await verifySlot(config(), await journaledApply(), systemClock);
    expect(verdict).toMatchObject({ kind: 'mismatch' });
    expect(verdict.message).toBe(
      `apply apply-9: sha256 of the first ${image.length} bytes of ${newRoot()} is ` +
        `${sha256(cut.subarray(0, image.length))}, expected ${sha256(image)}`,
    );
  });

  it('refuses a device shorter than the image', async () => {
    await device.writeSlot('p.lxrootclone1', image.subarray(0, 1000));
    const verdict = await verifySlot(config(), await journaledApply(), systemClock);
    expect(verdict).toMatchObject({
      kind: 'mismatch',
      message: expect.stringContaining('holds only 1000 bytes') as unknown,
    });
  });

  it('fails closed when the root device cannot be read', async () => {
    const journal = await journaledApply();
    for (const rootDevice of [device.path('no-such-device'), device.path('disk')]) {
      const verdict = await verifySlot(
        device.config('ws://127.0.0.1:1/agent/v1', { paths: { ...config().paths, rootDevice } }),
        journal,
        systemClock,
      );
      expect(verdict).toMatchObject({
        kind: 'error',
        message: expect.stringContaining(`apply apply-9: cannot read ${rootDevice}`) as unknown,
      });
    }
  });

  it('has nothing to verify without a journaled apply (an update started by hand) or without a whole-slot hash', async () => {
    const empty = await Journal.load(new StateStore(config().stateDir));
    expect(await verifySlot(config(), empty, systemClock)).toMatchObject({ kind: 'nothing' });
    const older = await journaledApply({
      expectedRootSha256: undefined,
      expectedRootBytes: undefined,
    });
    expect(await verifySlot(config(), older, systemClock)).toMatchObject({
      kind: 'nothing',
      message: expect.stringContaining('older agent') as unknown,
    });
  });

  it('does not pass in the boot that journaled the apply (no new slot booted yet)', async () => {
    const journal = await journaledApply();
    const entry = journal.get('apply-9');
    if (!entry?.reboot) throw new Error('no entry');
    await journal.update('apply-9', { reboot: { ...entry.reboot, previousBootId: device.bootId } });
    expect(await verifySlot(config(), journal, systemClock)).toMatchObject({ kind: 'error' });
  });

  it('hashes exactly the prefix asked for', async () => {
    const path = device.slotPath('p.lxreadonly');
    const bytes = await readFile(path);
    expect(await sha256OfPrefix(path, 1000)).toEqual({
      sha256: sha256(bytes.subarray(0, 1000)),
      bytesRead: 1000,
    });
  });
});
