// One device's bad report fails alone (issue 7, item 5): a NUL in an inventory is refused at the
// schema as a typed invalid_frame for that device, and a row PostgreSQL refuses inside a batched
// write (injected past the schema) is dropped alone while every other device keeps its presence
// and inventory. Real PostgreSQL, real WebSockets, simulated agents.
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION } from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { listDevices } from '../services/devices/list-devices';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { capturedLogger } from './testing/captured-logger';
import {
  enroll,
  newIdentity,
  sampleInventory,
  signChallenge,
  connect,
  type Connection,
} from './testing/simulated-agent';
import { eventually } from '../testing/eventually';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

describe('one device bad report hurts nobody else', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let manualToken: string;
  let autoToken: string;
  const log = capturedLogger();
  const open: Connection[] = [];

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 300, logger: log.logger });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    manualToken = (await createEnrollmentToken(ctx, { name: 'manual' })).token;
    autoToken = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
  });
  afterAll(async () => {
    for (const connection of open) connection.close();
    await http.close();
    await app.close();
  });

  async function online(token: string, state: 'welcome' | 'pending') {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, token);
    await connection.next(state, 30_000);
    open.push(connection);
    return { identity, connection };
  }

  it('refuses a NUL in the inventory of a pending and of an accepted device with invalid_frame, and in enrolment facts', async () => {
    const pending = await online(manualToken, 'pending');
    pending.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ osRelease: { name: 'SUSE\u0000EOS' } }),
    });
    expect(await pending.connection.next('error', 30_000)).toMatchObject({
      code: 'invalid_frame',
      message: expect.stringContaining('NUL'),
    });

    const accepted = await online(autoToken, 'welcome');
    accepted.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ arch: 'x86\u0000_64', rootPrefixHash: 'd'.repeat(40) }),
    });
    expect(await accepted.connection.next('error', 30_000)).toMatchObject({
      code: 'invalid_frame',
    });
    // a lone surrogate cannot be stored either
    accepted.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ kernelRelease: '6.4\uD800' }),
    });
    expect(await accepted.connection.next('error', 30_000)).toMatchObject({
      code: 'invalid_frame',
    });

    const stranger = newIdentity();
    const enrolling = await connect(http.baseUrl);
    enrolling.send({
      type: 'enroll',
      protocolVersion: PROTOCOL_VERSION,
      deviceId: stranger.deviceId,
      enrollmentToken: manualToken,
      publicKey: stranger.publicKey,
      signature: signChallenge(stranger, 'enroll', enrolling.nonce),
      agentVersion: 'simulated',
      facts: sampleInventory({ imageName: 'EOS\u0000' }),
    });
    expect(await enrolling.next('error', 30_000)).toMatchObject({ code: 'invalid_frame' });
    enrolling.close();
    expect(await app.db.device.findUnique({ where: { id: stranger.deviceId } })).toBeNull();

    // both sockets stay up, and a good report of the same device still lands
    accepted.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ rootPrefixHash: 'e'.repeat(40) }),
    });
    await eventually(
      () => app.db.device.findUniqueOrThrow({ where: { id: accepted.identity.deviceId } }),
      (row) => row.rootPrefixHash === 'e'.repeat(40),
    );
  });

  it('drops only the row PostgreSQL refuses inside a batch: five other devices stay online and keep their reports', async () => {
    const poisoned = await online(autoToken, 'welcome');
    const pending = await online(manualToken, 'pending');
    // past the schema, straight into this process's batch: what a missed check would let through
    http.gateway.reports.inventory(
      poisoned.identity.deviceId,
      sampleInventory({ arch: 'x86\u0000_64', rootPrefixHash: 'f'.repeat(40) }),
    );
    http.gateway.reports.inventory(
      pending.identity.deviceId,
      sampleInventory({ osRelease: { name: 'SUSE\u0000EOS' } }),
    );
    // a presence row PostgreSQL refuses (not a uuid)
    http.gateway.reports.seen('not-a-device-id');

    const bystanders = await Promise.all(
      Array.from({ length: 5 }, () => online(autoToken, 'welcome')),
    );
    bystanders.forEach(({ connection }, index) =>
      connection.send({
        type: 'inventory',
        inventory: sampleInventory({ rootPrefixHash: String(index).repeat(40) }),
      }),
    );
    const ids = bystanders.map(({ identity }) => identity.deviceId);
    await eventually(
      () => app.db.device.findMany({ where: { id: { in: ids } }, include: { presence: true } }),
      (rows) =>
        rows.length === 5 &&
        rows.every(
          (row) =>
            row.presence?.online === true &&
            row.rootPrefixHash === ids.indexOf(row.id).toString().repeat(40),
        ),
    );
    const listed = await listDevices(ctx, { limit: 500 });
    for (const id of [...ids, poisoned.identity.deviceId, pending.identity.deviceId])
      expect(listed.find((device) => device.id === id)?.online).toBe(true);

    // the refused rows are dropped, not retried forever, and said so in the log (rate-limited)
    expect(http.gateway.stats().refusedReports).toBeGreaterThanOrEqual(3);
    const poisonedRow = await app.db.device.findUniqueOrThrow({
      where: { id: poisoned.identity.deviceId },
    });
    expect(poisonedRow.rootPrefixHash).not.toBe('f'.repeat(40));
    const refusals = log.lines.filter((line) => line.msg.startsWith('PostgreSQL refused'));
    expect(refusals.map((line) => line.deviceId)).toEqual(
      expect.arrayContaining([poisoned.identity.deviceId, pending.identity.deviceId]),
    );
    expect(refusals.every((line) => !JSON.stringify(line).includes('\\u0000'))).toBe(true);

    // the fleet keeps working: a command reaches a bystander, and the poisoned device itself
    const first = bystanders[0];
    if (!first) throw new Error('no bystander');
    const command = await createCommand(ctx, { deviceId: first.identity.deviceId, kind: 'check' });
    expect((await first.connection.next('command', 30_000)).id).toBe(command.id);
    const own = await createCommand(ctx, { deviceId: poisoned.identity.deviceId, kind: 'check' });
    expect((await poisoned.connection.next('command', 30_000)).id).toBe(own.id);
  });

  it('keeps reports written after many refused rows in one batch (bisection stays bounded)', async () => {
    const good = await online(autoToken, 'welcome');
    const before = http.gateway.stats().statements;
    for (let i = 0; i < 50; i++)
      http.gateway.reports.inventory(
        randomUUID(),
        sampleInventory({ arch: i % 10 === 0 ? 'bad\u0000' : 'x86_64' }),
      );
    good.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ rootPrefixHash: '9'.repeat(40) }),
    });
    await eventually(
      () => app.db.device.findUniqueOrThrow({ where: { id: good.identity.deviceId } }),
      (row) => row.rootPrefixHash === '9'.repeat(40),
    );
    await http.gateway.flush();
    // 5 bad rows among ~51: a few dozen statements, not one per row per flush forever
    expect(http.gateway.stats().statements - before).toBeLessThan(80);
    await http.gateway.flush();
    const settled = http.gateway.stats().statements;
    await http.gateway.flush();
    expect(http.gateway.stats().statements - settled).toBeLessThanOrEqual(2);
  });
});
