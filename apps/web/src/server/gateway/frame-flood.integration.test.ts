// An accepted device that floods (issue 7, item 5): 2,000 frames of each kind from one simulated
// agent cost a bounded number of log lines and database rows, the frames over budget are dropped
// and the connection is closed, and another device's commands still go through. Real PostgreSQL,
// real WebSockets, the server's real pino logger captured in memory.
import { randomUUID } from 'node:crypto';
import { CLOSE_CODES, PROGRESS_PHASES } from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import { FRAME_BUDGETS } from './frame-budget';
import { capturedLogger } from './testing/captured-logger';
import { enroll, newIdentity, sampleInventory, type Connection } from './testing/simulated-agent';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

const FLOOD = 2_000;
/** What one flood may cost the log: a handful of lines, a few KiB (it was 8 MiB). */
const MAX_LINES = 30;
const MAX_LOG_BYTES = 32 * 1024;

describe('frame floods from one accepted device', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let autoToken: string;
  let bystander: { deviceId: string; connection: Connection };
  const log = capturedLogger();

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 500, logger: log.logger });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    autoToken = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome', 30_000);
    bystander = { deviceId: identity.deviceId, connection };
  });
  afterAll(async () => {
    bystander.connection.close();
    await http.close();
    await app.close();
  });

  async function flooder() {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome', 30_000);
    return { deviceId: identity.deviceId, connection };
  }

  async function deliveredCommand(device: { deviceId: string; connection: Connection }) {
    const command = await createCommand(ctx, { deviceId: device.deviceId, kind: 'check' });
    expect((await device.connection.next('command', 30_000)).id).toBe(command.id);
    return command.id;
  }

  /** Sends the flood, waits for the close, and checks what it cost everyone else. */
  async function flood(
    device: { deviceId: string; connection: Connection },
    frame: (i: number) => Record<string, unknown>,
    expectedClose: number,
  ) {
    const linesBefore = log.lines.length;
    const bytesBefore = log.bytes();
    for (let i = 0; i < FLOOD; i++) device.connection.send(frame(i));
    expect((await device.connection.closed).code).toBe(expectedClose);
    await http.gateway.flush();
    const lines = log.lines.slice(linesBefore);
    expect(lines.length).toBeLessThanOrEqual(MAX_LINES);
    expect(log.bytes() - bytesBefore).toBeLessThan(MAX_LOG_BYTES);
    // short lines, no stack traces, one line a minute about the dropped frames
    expect(lines.filter((line) => line.err !== undefined)).toEqual([]);
    expect(
      lines.filter((line) => line.msg === 'frames over budget dropped').length,
    ).toBeLessThanOrEqual(1);

    const command = await createCommand(ctx, {
      deviceId: bystander.deviceId,
      kind: 'inventory.refresh',
    });
    expect((await bystander.connection.next('command', 30_000)).id).toBe(command.id);
    bystander.connection.send({ type: 'ack', commandId: command.id });
    return lines;
  }

  it('error frames: logged at most a few times a minute, summarised, then closed with 4029', async () => {
    const device = await flooder();
    const lines = await flood(
      device,
      (i) => ({ type: 'error', code: 'invalid_frame', message: `complaint ${i} `.repeat(100) }),
      CLOSE_CODES.tryAgainLater,
    );
    const complaints = lines.filter((line) => line.msg.startsWith('the agent reported an error'));
    expect(complaints.length).toBeGreaterThan(0);
    expect(complaints.length).toBeLessThanOrEqual(10);
    expect(complaints.at(-1)?.note).toMatch(/kept back/);
  });

  it('acks with ids that are not this server’s: counted as invalid frames, one short line each, closed with 4008', async () => {
    const device = await flooder();
    const lines = await flood(
      device,
      () => ({ type: 'ack', commandId: 'not-a-uuid' }),
      CLOSE_CODES.tooManyInvalidFrames,
    );
    expect(lines.filter((line) => line.deviceId === device.deviceId).length).toBeLessThanOrEqual(
      10,
    );
    const errors = device.connection.frames.filter((frame) => frame.type === 'error');
    expect(errors[0]).toMatchObject({ code: 'invalid_params', commandId: 'not-a-uuid' });
    expect(errors.length).toBeLessThanOrEqual(10);
  });

  it('acks for well-formed unknown command ids: counted as invalid frames, closed with 4008', async () => {
    const device = await flooder();
    await flood(
      device,
      () => ({ type: 'ack', commandId: randomUUID() }),
      CLOSE_CODES.tooManyInvalidFrames,
    );
  });

  it('acks for a real command: over budget dropped, closed with 4029; the ack is recorded once', async () => {
    const device = await flooder();
    const commandId = await deliveredCommand(device);
    await flood(device, () => ({ type: 'ack', commandId }), CLOSE_CODES.tryAgainLater);
    const command = await app.db.command.findUniqueOrThrow({ where: { id: commandId } });
    expect(command.ackedAt).not.toBeNull();
  });

  it('progress frames switching phase: a bounded number of event rows, closed with 4029', async () => {
    const device = await flooder();
    const commandId = await deliveredCommand(device);
    await flood(
      device,
      (i) => ({
        type: 'progress',
        commandId,
        phase: PROGRESS_PHASES[i % PROGRESS_PHASES.length],
        message: 'x'.repeat(1000),
      }),
      CLOSE_CODES.tryAgainLater,
    );
    const events = await app.db.commandEvent.count({ where: { commandId } });
    // the burst plus a few refilled tokens and the queued/delivered events; it was one per frame
    expect(events).toBeLessThanOrEqual(FRAME_BUDGETS.progress.burst + 20);
  });

  it('results for a real command: one outcome, closed with 4029', async () => {
    const device = await flooder();
    const commandId = await deliveredCommand(device);
    await flood(
      device,
      () => ({
        type: 'result',
        commandId,
        kind: 'check',
        status: 'failed',
        error: { code: 'check_failed', message: 'no hashes' },
        output: 'y'.repeat(4000),
        finishedAt: new Date().toISOString(),
      }),
      CLOSE_CODES.tryAgainLater,
    );
    const command = await app.db.command.findUniqueOrThrow({
      where: { id: commandId },
      include: { events: true },
    });
    expect(command.state).toBe('failed');
    expect(command.events.length).toBeLessThanOrEqual(5);
  });

  it('inventories: a bounded number reach the batch, closed with 4029', async () => {
    const device = await flooder();
    const before = http.gateway.stats().statements;
    await flood(
      device,
      (i) => ({
        type: 'inventory',
        inventory: sampleInventory({ rootPrefixHash: (i % 10).toString().repeat(40) }),
      }),
      CLOSE_CODES.tryAgainLater,
    );
    expect(http.gateway.stats().statements - before).toBeLessThan(100);
    const row = await app.db.device.findUniqueOrThrow({ where: { id: device.deviceId } });
    expect(row.rootPrefixHash).toMatch(/^(\d)\1{39}$/);
  });
});
