// What the device page reads, against real PostgreSQL and the real command lifecycle: the A/B slot
// panel (active slot from the inventory, the other one inferred from the history, honestly), an
// apply's transfer (percent, rate from the downloading phase start, time left), each state change
// with its time, and the device's own audit entries as sentences.
import { generateKeyPairSync } from 'node:crypto';
import { ed25519RawPublicKeyBase64 } from '@eos-fleet/shared/protocol/ed25519';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import {
  recordCommandProgress,
  recordCommandResult,
  takeCommandsToSend,
} from '../commands/command-lifecycle';
import { createCommand, listDeviceCommands } from '../commands/commands';
import { createTestApp } from '../../testing/test-app';
import { eventually } from '../../testing/eventually';
import { listDeviceAudit } from './device-audit';
import { getDevice, publicKeyFingerprint } from './manage-device';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const V1 = '1'.repeat(40);
const V2 = '2'.repeat(40);
const MiB = 1024 * 1024;
const ROOT_BYTES = 1000 * MiB;

describe('the device page', () => {
  let app: TestApp;
  let ctx: ServiceContext;

  beforeAll(async () => {
    app = await createTestApp();
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
  });
  afterAll(async () => {
    await app.close();
  });

  async function device(name: string, profile = 'AB') {
    const { publicKey } = generateKeyPairSync('ed25519');
    return app.db.device.create({
      data: {
        name,
        publicKey: ed25519RawPublicKeyBase64(publicKey),
        status: 'accepted',
        rootPrefixHash: V1,
        activeSlot: 'p.lxreadonly',
        slotSize: BigInt(1200 * MiB),
        imageName: 'EOS.x86_64-AB',
        profile,
      },
    });
  }

  async function startApply(deviceId: string, to: string) {
    const command = await createCommand(ctx, {
      deviceId,
      kind: 'apply',
      params: {
        expectedRootPrefixHash: to,
        expectedRootSha256: 'a'.repeat(64),
        expectedRootBytes: ROOT_BYTES,
      },
    });
    await takeCommandsToSend(app.db, deviceId);
    await recordCommandProgress(app.db, deviceId, {
      type: 'progress',
      commandId: command.id,
      phase: 'downloading',
      bytesWritten: 0,
    });
    return command.id;
  }

  const progress = (deviceId: string, commandId: string, bytesWritten: number) =>
    recordCommandProgress(app.db, deviceId, {
      type: 'progress',
      commandId,
      phase: 'downloading',
      bytesWritten,
    });

  const finish = (deviceId: string, commandId: string, outcome: Record<string, unknown>) =>
    recordCommandResult(app.db, deviceId, {
      type: 'result',
      commandId,
      kind: 'apply',
      status: 'succeeded',
      finishedAt: new Date().toISOString(),
      ...outcome,
    });

  it('shows identity: a fingerprint of the public key, and a Static device has one slot', async () => {
    const d = await device('static-one', 'Static');
    const view = await getDevice(ctx, { deviceId: d.id });
    expect(view.publicKeyFingerprint).toBe(publicKeyFingerprint(d.publicKey));
    expect(view.publicKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(view.slots.map((slot) => slot.slot)).toEqual(['p.lxreadonly']);
  });

  it('knows the active slot from the inventory and says the other is unknown before any apply', async () => {
    const d = await device('fresh');
    const { slots } = await getDevice(ctx, { deviceId: d.id });
    expect(slots).toEqual([
      expect.objectContaining({
        slot: 'p.lxreadonly',
        active: true,
        rootPrefixHash: V1,
        knowledge: 'running',
        version: 'unknown build',
      }),
      expect.objectContaining({
        slot: 'p.lxrootclone1',
        active: false,
        rootPrefixHash: null,
        knowledge: 'unknown',
        version: null,
        evidence: expect.stringContaining('no apply or rollback'),
      }),
    ]);
  });

  it("follows an apply: the write's percent, rate and time left, then each slot's content", async () => {
    const d = await device('updating');
    const commandId = await startApply(d.id, V2);

    // the rate counts from the downloading state change: report until time has passed since it
    const page = await eventually(
      async () => {
        await progress(d.id, commandId, 250 * MiB);
        return listDeviceCommands(ctx, { deviceId: d.id });
      },
      (list) => (list.items[0]?.transfer?.bytesPerSecond ?? 0) > 0,
    );
    const apply = page.items[0];
    expect(apply?.state).toBe('downloading');
    expect(apply?.stateChanges.map((change) => change.state)).toEqual([
      'queued',
      'delivered',
      'downloading',
    ]);
    const transfer = apply?.transfer;
    expect(transfer?.percent).toBeCloseTo(25, 5);
    expect(transfer?.totalBytes).toBe(ROOT_BYTES);
    expect(transfer?.startedAt).toEqual(apply?.stateChanges[2]?.at);
    const seconds =
      ((transfer?.reportedAt.getTime() ?? 0) - (transfer?.startedAt?.getTime() ?? 0)) / 1000;
    expect(transfer?.bytesPerSecond).toBeCloseTo((250 * MiB) / seconds, 0);
    expect(transfer?.secondsLeft).toBeCloseTo((750 * MiB) / (transfer?.bytesPerSecond ?? 1), 3);

    // while it writes, the inactive slot is being overwritten
    const during = await getDevice(ctx, { deviceId: d.id });
    expect(during.slots[1]).toMatchObject({ knowledge: 'overwritten', rootPrefixHash: null });

    await finish(d.id, commandId, {
      data: { rootPrefixHash: V2, activeSlot: 'p.lxrootclone1', previousSlot: 'p.lxreadonly' },
    });
    // the agent's next inventory
    await app.db.device.update({
      where: { id: d.id },
      data: { activeSlot: 'p.lxrootclone1', rootPrefixHash: V2 },
    });
    const done = (await listDeviceCommands(ctx, { deviceId: d.id })).items[0];
    expect(done?.transfer).toBeNull();
    expect(done?.stateChanges.at(-1)?.state).toBe('succeeded');

    const after = await getDevice(ctx, { deviceId: d.id });
    expect(after.slots).toEqual([
      expect.objectContaining({
        slot: 'p.lxreadonly',
        active: false,
        rootPrefixHash: V1,
        knowledge: 'history',
        evidence: expect.stringContaining('ran there before the apply'),
      }),
      expect.objectContaining({
        slot: 'p.lxrootclone1',
        active: true,
        rootPrefixHash: V2,
        knowledge: 'running',
      }),
    ]);

    // a later apply that fails after it began writing leaves the inactive slot unknown
    const failing = await startApply(d.id, V1);
    await finish(d.id, failing, {
      status: 'failed',
      error: { code: 'apply_failed', message: 'the stream broke' },
    });
    const broken = await getDevice(ctx, { deviceId: d.id });
    expect(broken.slots[0]).toMatchObject({
      slot: 'p.lxreadonly',
      knowledge: 'overwritten',
      rootPrefixHash: null,
      evidence: expect.stringContaining('half-written'),
    });
  });

  it("lists this device's audit entries only, as sentences, a page at a time", async () => {
    const mine = await device('audited');
    const other = await device('someone-else');
    for (const kind of ['check', 'inventory.refresh', 'rollback'] as const)
      await createCommand(ctx, { deviceId: mine.id, kind, params: {} });
    await createCommand(ctx, { deviceId: other.id, kind: 'check', params: {} });

    const first = await listDeviceAudit(ctx, { deviceId: mine.id, limit: 2 });
    expect(first.events.map((event) => event.sentence)).toEqual([
      'the system sent rollback to device audited',
      'the system sent inventory.refresh to device audited',
    ]);
    expect(first.nextCursor).not.toBeNull();
    const second = await listDeviceAudit(ctx, {
      deviceId: mine.id,
      limit: 2,
      cursor: first.nextCursor ?? undefined,
    });
    expect(second.events.map((event) => event.sentence)).toEqual([
      'the system sent check to device audited',
    ]);
    expect(second.nextCursor).toBeNull();
  });

  it('devices.audit needs a session; every role may read it', async () => {
    const d = await device('permissions');
    await expect(app.callerFor(null).devices.audit({ deviceId: d.id })).rejects.toThrow();
    const viewer = await app.addOperator('viewer');
    const page = await app.callerFor(viewer).devices.audit({ deviceId: d.id });
    expect(page.events).toEqual([]);
    await expect(app.callerFor(null).devices.audit({ deviceId: 'not-a-uuid' })).rejects.toThrow();
  });
});
