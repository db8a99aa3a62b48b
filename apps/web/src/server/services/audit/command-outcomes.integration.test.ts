// Command outcomes join the audit trail with their terminal transition, against real PostgreSQL
// and a simulated agent over the real gateway: succeeded / failed / rolled_back / cancelled by
// the device (actor: the device), timed_out by the sweep (actor: the system), and a late result.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import { expireOverdueCommands } from '../commands/command-lifecycle';
import { createCommand } from '../commands/commands';
import { createEnrollmentToken } from '../enrollment/enrollment-tokens';
import { createTestApp } from '../../testing/test-app';
import { enroll, newIdentity, sendResultUntilStored } from '../../gateway/testing/simulated-agent';
import { auditSentence } from './audit-sentence';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

function result(commandId: string, kind: string, overrides: Record<string, unknown> = {}) {
  return {
    type: 'result' as const,
    commandId,
    kind,
    status: 'succeeded' as const,
    finishedAt: new Date().toISOString(),
    ...overrides,
  };
}

describe('command outcomes in the audit log', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let token: string;

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 1_000 });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    token = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  async function onlineDevice() {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, token);
    await connection.next('welcome');
    const device = await app.db.device.findUniqueOrThrow({ where: { id: identity.deviceId } });
    return { deviceId: identity.deviceId, name: device.name, connection };
  }

  const outcomesOf = (deviceId: string) =>
    app.db.auditEvent.findMany({
      where: { targetId: deviceId, action: { notIn: ['command.created', 'device.enrolled'] } },
      orderBy: { id: 'asc' },
    });

  it('each result the device reports is one audit event by the device, in words', async () => {
    const { deviceId, name, connection } = await onlineDevice();
    const cases = [
      { kind: 'check', frame: {}, action: 'command.succeeded', says: 'reported check succeeded' },
      {
        kind: 'check',
        frame: {
          status: 'failed',
          error: { code: 'check_failed', message: 'os-update printed no hashes' },
        },
        action: 'command.failed',
        says: 'reported check failed (check_failed)',
      },
      {
        kind: 'rollback',
        frame: { status: 'failed', error: { code: 'rolled_back', message: 'fell back' } },
        action: 'command.rolled_back',
        says: 'reported rollback rolled back',
      },
      {
        kind: 'check',
        frame: { status: 'failed', error: { code: 'cancelled', message: 'not started' } },
        action: 'command.cancelled',
        says: 'reported check cancelled before it started',
      },
    ] as const;
    for (const one of cases) {
      const command = await createCommand(ctx, { deviceId, kind: one.kind });
      await connection.next('command');
      await sendResultUntilStored(connection, result(command.id, one.kind, one.frame));
      const events = (await outcomesOf(deviceId)).filter(
        (event) => (event.data as { commandId?: string } | null)?.commandId === command.id,
      );
      expect(events).toHaveLength(1);
      const [event] = events;
      expect(event).toMatchObject({
        action: one.action,
        actorType: 'device',
        actorId: deviceId,
        actorLabel: name,
        targetType: 'device',
      });
      expect(event?.data).toMatchObject({ commandId: command.id, kind: one.kind, device: name });
      if (!event) throw new Error('no event');
      expect(auditSentence({ ...event, data: event.data as Record<string, unknown> })).toBe(
        `device ${name} ${one.says}`,
      );
      // a re-sent result changes nothing: no second audit event
      await sendResultUntilStored(connection, result(command.id, one.kind, one.frame));
    }
    expect(await outcomesOf(deviceId)).toHaveLength(cases.length);
    connection.close();
  });

  it('the sweep audits timed_out as the system; a late result is audited as what really happened', async () => {
    const { deviceId, name, connection } = await onlineDevice();
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    await app.db.command.update({
      where: { id: command.id },
      data: { deadlineAt: new Date(Date.now() - 1) },
    });
    // two sweeps racing: one transition, one audit event
    await Promise.all([expireOverdueCommands(app.db), expireOverdueCommands(app.db)]);
    const timedOut = await outcomesOf(deviceId);
    expect(timedOut).toHaveLength(1);
    expect(timedOut[0]).toMatchObject({
      action: 'command.timed_out',
      actorType: 'system',
      data: { commandId: command.id, kind: 'check', device: name, errorCode: 'timed_out' },
    });

    await sendResultUntilStored(connection, result(command.id, 'check'));
    const after = await outcomesOf(deviceId);
    expect(after.map((event) => event.action)).toEqual(['command.timed_out', 'command.succeeded']);
    expect(after[1]?.data).toMatchObject({ from: 'timed_out' });
    const late = after[1];
    if (!late) throw new Error('no event');
    expect(auditSentence({ ...late, data: late.data as Record<string, unknown> })).toBe(
      `device ${name} reported check succeeded after its deadline`,
    );
    connection.close();
  });

  it('a command never delivered times out as "never delivered"', async () => {
    const { deviceId, name, connection } = await onlineDevice();
    connection.close();
    await connection.closed; // offline: the command stays queued
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    expect((await app.db.command.findUniqueOrThrow({ where: { id: command.id } })).state).toBe(
      'queued',
    );
    await app.db.command.update({
      where: { id: command.id },
      data: { deadlineAt: new Date(Date.now() - 1) },
    });
    await expireOverdueCommands(app.db);
    const [event] = await outcomesOf(deviceId);
    expect(event).toMatchObject({
      action: 'command.timed_out',
      data: { errorCode: 'not_delivered' },
    });
    if (!event) throw new Error('no event');
    expect(auditSentence({ ...event, data: event.data as Record<string, unknown> })).toBe(
      `check on device ${name} timed out: never delivered`,
    );
  });
});
