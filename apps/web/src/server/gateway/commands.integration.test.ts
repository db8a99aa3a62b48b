// The truth about commands, against real PostgreSQL and real WebSockets: cancel that does not
// lie, late acks and results recorded, result_stored, deadlines from delivery, one transition
// per race, coalesced progress, paged history.
import { COMMAND_TIMEOUTS, commandResultDeadlineMs } from '@eos-fleet/shared/command-timeouts';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import {
  MAX_DEVICE_NOTES,
  cancelOrRequestCancel,
  expireOverdueCommands,
  recordCommandResult,
  takeCommandsToSend,
} from '../services/commands/command-lifecycle';
import { cancelCommand, createCommand } from '../services/commands/commands';
import { decommissionDevice } from '../services/devices/manage-device';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { eventually } from '../testing/eventually';
import { FRAME_BUDGETS } from './frame-budget';
import { createTestApp } from '../testing/test-app';
import {
  authenticate,
  enroll,
  newIdentity,
  sendResultUntilStored,
  type Connection,
} from './testing/simulated-agent';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const HASH_A = 'a'.repeat(40);
const HASH_B = 'b'.repeat(40);
const SHA256 = 'c'.repeat(64);

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

describe('command lifecycle through the gateway', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let token: string;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 1_000 });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    token = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
    operator = await app.addOperator('operator');
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  async function onlineDevice(): Promise<{ deviceId: string; connection: Connection }> {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, token);
    await connection.next('welcome');
    return { deviceId: identity.deviceId, connection };
  }

  const history = (commandId: string) =>
    app.db.commandEvent.findMany({ where: { commandId }, orderBy: { id: 'asc' } });

  it('a delivered, unacked rollback that is cancelled and then runs anyway: history says it ran', async () => {
    const { deviceId, connection } = await onlineDevice();
    const caller = app.callerFor(operator);
    const command = await caller.devices.sendCommand({ deviceId, kind: 'rollback', params: {} });
    expect((await connection.next('command')).id).toBe(command.id);

    // the operator cancels before the ack arrived: the device has it, so only a request
    const cancel = await caller.devices.cancelCommand({ commandId: command.id });
    expect(cancel.outcome).toBe('cancel_requested');
    expect(await connection.next('cancel')).toEqual({ type: 'cancel', commandId: command.id });
    const requested = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    expect(requested.state).toBe('delivered');
    expect(requested.cancelRequestedAt).not.toBeNull();

    // ... but it had started: the late ack and the real result arrive
    connection.send({ type: 'ack', commandId: command.id });
    await sendResultUntilStored(
      connection,
      result(command.id, 'rollback', {
        data: { activeSlot: 'p.lxrootclone1', previousSlot: 'p.lxreadonly' },
      }),
    );
    const done = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    expect(done.state).toBe('succeeded');
    expect(done.ackedAt).not.toBeNull();
    const events = await history(command.id);
    expect(events.map((e) => e.state)).toEqual(['queued', 'delivered', null, 'succeeded']);
    expect(events[2]?.message).toMatch(/cancel requested by operator/);
    expect(events[3]?.message).toMatch(/cancel came too late/);
    const audit = await app.db.auditEvent.findMany({
      where: { action: { startsWith: 'command.' }, targetId: deviceId },
      orderBy: { id: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'command.created',
      'command.cancel_requested',
      'command.succeeded',
    ]);
    connection.close();
  });

  it('a delivered command the agent had not started ends cancelled when the agent says so', async () => {
    const { deviceId, connection } = await onlineDevice();
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    connection.send({ type: 'ack', commandId: command.id });
    expect((await cancelCommand(ctx, { commandId: command.id })).outcome).toBe('cancel_requested');
    // asking twice changes nothing
    expect((await cancelCommand(ctx, { commandId: command.id })).outcome).toBe('already_requested');
    await connection.next('cancel');
    await sendResultUntilStored(
      connection,
      result(command.id, 'check', {
        status: 'failed',
        error: { code: 'cancelled', message: 'cancelled before it started' },
      }),
    );
    const done = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    expect(done).toMatchObject({ state: 'cancelled', errorCode: 'cancelled' });
    expect((await history(command.id)).map((e) => e.state)).toEqual([
      'queued',
      'delivered',
      null,
      'cancelled',
    ]);
    connection.close();
  });

  it('cancels outright what was never sent, and never sends it; a cancel requested offline goes out on reconnect', async () => {
    const identity = newIdentity();
    const first = await enroll(http.baseUrl, identity, token);
    await first.next('welcome');
    first.close();
    await first.closed;
    const deviceId = identity.deviceId;
    const queued = await createCommand(ctx, { deviceId, kind: 'check' });
    expect((await cancelCommand(ctx, { commandId: queued.id })).outcome).toBe('cancelled');
    await expect(cancelCommand(ctx, { commandId: queued.id })).rejects.toThrow(/cancelled already/);
    const audit = await app.db.auditEvent.findFirstOrThrow({
      where: { action: 'command.cancelled', targetId: deviceId },
    });
    expect(audit.data).toMatchObject({ commandId: queued.id });

    const again = await authenticate(http.baseUrl, identity);
    await again.next('welcome');
    const sent = await createCommand(ctx, { deviceId, kind: 'inventory.refresh' });
    expect((await again.next('command')).id).toBe(sent.id); // the cancelled one never went out
    expect(again.frames.filter((f) => f.type === 'command')).toHaveLength(1);
    again.close();
    await again.closed;
    expect((await cancelCommand(ctx, { commandId: sent.id })).outcome).toBe('cancel_requested');

    const third = await authenticate(http.baseUrl, identity);
    await third.next('welcome');
    expect((await third.next('command')).id).toBe(sent.id);
    expect(await third.next('cancel')).toEqual({ type: 'cancel', commandId: sent.id });
    third.close();
  });

  it('a cancel racing a delivery: either it was never sent and is cancelled, or it was sent and the cancel is a request', async () => {
    const identity = newIdentity();
    const first = await enroll(http.baseUrl, identity, token);
    await first.next('welcome');
    first.close();
    await first.closed;
    const outcomes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const command = await createCommand(ctx, { deviceId: identity.deviceId, kind: 'check' });
      const [sent, cancel] = await Promise.all([
        takeCommandsToSend(app.db, identity.deviceId),
        cancelCommand(ctx, { commandId: command.id }),
      ]);
      const wasSent = sent.some((delivery) => delivery.id === command.id);
      expect(cancel.outcome).toBe(wasSent ? 'cancel_requested' : 'cancelled');
      const row = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
      expect(row.state).toBe(wasSent ? 'delivered' : 'cancelled');
      outcomes.add(cancel.outcome);
      // settle it so the next round starts alone
      if (wasSent)
        await recordCommandResult(app.db, identity.deviceId, {
          type: 'result',
          commandId: command.id,
          kind: 'check',
          status: 'failed',
          error: { code: 'cancelled', message: 'not started' },
          finishedAt: new Date().toISOString(),
        });
    }
    console.info(`cancel vs delivery race outcomes seen: ${[...outcomes].join(', ')}`);
  });

  it('a cancel requested while the LISTEN connection was down is sent on resync', async () => {
    const { deviceId, connection } = await onlineDevice();
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    // the request without its notification, as if the event was lost
    await app.db.$transaction((tx) => cancelOrRequestCancel(tx, command.id, 'operator'));
    http.gateway.resync();
    expect(await connection.next('cancel')).toEqual({ type: 'cancel', commandId: command.id });
    connection.close();
  });

  it('a result after the deadline is recorded and tells what really happened; a duplicate is stored once', async () => {
    const { deviceId, connection } = await onlineDevice();
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    const delivered = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    // the deadline counts from delivery, from the one timeout table
    expect(delivered.deadlineAt.getTime() - (delivered.deliveredAt?.getTime() ?? 0)).toBe(
      commandResultDeadlineMs('check'),
    );
    await app.db.command.update({
      where: { id: command.id },
      data: { deadlineAt: new Date(Date.now() - 1) },
    });
    // two sweeps at once (two processes): one transition, one event
    const swept = await Promise.all([expireOverdueCommands(app.db), expireOverdueCommands(app.db)]);
    const timedOut = await eventually(
      () => app.db.command.findUniqueOrThrow({ where: { id: command.id } }),
      (row) => row.state === 'timed_out',
    );
    expect(timedOut.errorCode).toBe('timed_out');
    expect(swept.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);
    expect((await history(command.id)).filter((e) => e.state === 'timed_out')).toHaveLength(1);

    connection.send({ type: 'ack', commandId: command.id });
    const late = result(command.id, 'check', {
      data: { currentRootPrefixHash: HASH_A, updateRootPrefixHash: HASH_B, updateAvailable: true },
      output: 'Current OS: ...',
    });
    await sendResultUntilStored(connection, late);
    expect((await sendResultUntilStored(connection, late)).attempts).toBe(1); // duplicate: stored again
    const done = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    expect(done).toMatchObject({ state: 'succeeded', errorCode: null });
    const events = await history(command.id);
    expect(events.map((e) => e.state)).toEqual([
      'queued',
      'delivered',
      'timed_out',
      null, // the late ack
      'succeeded',
    ]);
    expect(events[3]?.message).toMatch(/acknowledged it after it was timed_out/);
    expect(events[4]?.message).toMatch(/after the deadline/);

    // a different second result is kept as an event; the first outcome stands
    await sendResultUntilStored(
      connection,
      result(command.id, 'check', {
        status: 'failed',
        error: { code: 'check_failed', message: 'x' },
      }),
    );
    expect((await app.db.command.findUniqueOrThrow({ where: { id: command.id } })).state).toBe(
      'succeeded',
    );
    expect((await history(command.id)).at(-1)?.message).toMatch(/another result arrived/);
    connection.close();
  });

  it('an apply carries the whole-slot hash and a deadline from delivery; bad params are refused in words', async () => {
    const { deviceId, connection } = await onlineDevice();
    const caller = app.callerFor(operator);
    const bad = await caller.devices
      .sendCommand({
        deviceId,
        kind: 'apply',
        params: {
          expectedRootPrefixHash: HASH_B,
          expectedRootSha256: 'nope',
          expectedRootBytes: 1.5,
        },
      })
      .catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(TRPCError);
    expect((bad as TRPCError).code).toBe('BAD_REQUEST');
    expect((bad as TRPCError).message).toMatch(/expectedRootSha256.*sha256 hex digest/s);
    expect((bad as TRPCError).message).toMatch(/expectedRootBytes/s);
    await expect(
      caller.devices.sendCommand({
        deviceId,
        kind: 'apply',
        params: { expectedRootPrefixHash: HASH_B },
      }),
    ).rejects.toThrow(/expectedRootSha256/);

    const before = Date.now();
    const command = await caller.devices.sendCommand({
      deviceId,
      kind: 'apply',
      params: {
        expectedRootPrefixHash: HASH_B,
        expectedRootSha256: SHA256,
        expectedRootBytes: 16 * 1024 * 1024,
      },
    });
    const frame = await connection.next('command');
    expect(frame.id).toBe(command.id);
    const params = frame.params as Record<string, unknown>;
    expect(params).toMatchObject({
      expectedRootPrefixHash: HASH_B,
      expectedRootSha256: SHA256,
      expectedRootBytes: 16 * 1024 * 1024,
    });
    const deadline = Date.parse(String(params.deadline));
    expect(deadline).toBeGreaterThanOrEqual(before + COMMAND_TIMEOUTS.apply.toolMs);
    expect(deadline).toBeLessThan(Date.now() + COMMAND_TIMEOUTS.apply.toolMs + 1_000);
    connection.close();
  });

  // Within the gateway's progress budget (frame-flood.integration.test.ts floods past it).
  it('a burst of progress frames makes a bounded history and a small list response; output only in the detail', async () => {
    const { deviceId, connection } = await onlineDevice();
    const caller = app.callerFor(operator);
    const command = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    connection.send({ type: 'ack', commandId: command.id });
    const phases = ['preparing', 'checking', 'running'] as const;
    const burst = FRAME_BUDGETS.progress.burst;
    for (let i = 0; i < burst; i++)
      connection.send({
        type: 'progress',
        commandId: command.id,
        phase: phases[i % phases.length] ?? 'running',
        message: `step ${i} `.padEnd(2_000, 'x'),
      });
    await sendResultUntilStored(
      connection,
      result(command.id, 'check', { output: 'o'.repeat(60_000) }),
    );
    const events = await history(command.id);
    expect(events.length).toBeLessThanOrEqual(3 + MAX_DEVICE_NOTES);
    const row = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
    expect(row.progress).toMatchObject({
      message: expect.stringMatching(new RegExp(`^step ${burst - 1} `)),
    });

    // and many commands: a page is bounded in count and size, the next page follows by cursor
    for (let i = 0; i < 25; i++) await createCommand(ctx, { deviceId, kind: 'inventory.refresh' });
    const page = await caller.devices.commands({ deviceId });
    expect(page.items).toHaveLength(20);
    expect(page.nextCursor).not.toBeNull();
    const pageBytes = JSON.stringify(page).length;
    console.info(
      `${burst} progress frames: ${events.length} events; a page of 20 commands: ${pageBytes} bytes`,
    );
    expect(pageBytes).toBeLessThan(64 * 1024);
    const rest = await caller.devices.commands({ deviceId, cursor: page.nextCursor });
    expect(rest.items.map((c) => c.id)).toContain(command.id);
    expect(rest.nextCursor).toBeNull();
    expect(new Set([...page.items, ...rest.items].map((c) => c.id)).size).toBe(26);
    const summary = rest.items.find((c) => c.id === command.id);
    expect(summary).not.toHaveProperty('output');
    expect(summary?.eventCount).toBe(events.length);
    const detail = await caller.devices.command({ commandId: command.id });
    expect(detail.output).toHaveLength(60_000);
    expect(detail.events).toHaveLength(events.length);
    connection.close();
  });

  it('decommission cancels what the device still had, each with an event saying what it may have done', async () => {
    const { deviceId, connection } = await onlineDevice();
    const sent = await createCommand(ctx, { deviceId, kind: 'check' });
    await connection.next('command');
    connection.close();
    await connection.closed;
    const queued = await createCommand(ctx, { deviceId, kind: 'inventory.refresh' });
    await decommissionDevice(ctx, { deviceId });
    for (const [command, words] of [
      [sent, /may have run it/],
      [queued, /before delivery/],
    ] as const) {
      const row = await app.db.command.findUniqueOrThrow({ where: { id: command.id } });
      expect(row.state).toBe('cancelled');
      const last = (await history(command.id)).at(-1);
      expect(last).toMatchObject({ state: 'cancelled' });
      expect(last?.message).toMatch(words);
    }
    const audit = await app.db.auditEvent.findFirstOrThrow({
      where: { action: 'device.decommissioned', targetId: deviceId },
    });
    expect(audit.data).toMatchObject({ cancelledCommands: 2 });
  });
});
