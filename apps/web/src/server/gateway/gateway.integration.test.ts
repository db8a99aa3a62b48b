// The gateway against real PostgreSQL, real WebSockets and agents with real Ed25519 keys.
import {
  PROTOCOL_VERSION,
  CLOSE_CODES,
  INVALID_FRAME_BUDGET,
} from '@eos-fleet/shared/protocol/index';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { acceptDevice, decommissionDevice, rejectDevice } from '../services/devices/manage-device';
import { createEnrollmentToken } from '../services/enrollment/enrollment-tokens';
import {
  authenticate,
  connect,
  enroll,
  newIdentity,
  sampleInventory,
  signChallenge,
} from './testing/simulated-agent';
import { eventually } from '../testing/eventually';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

describe('device gateway /agent/v1', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let manualToken: string;
  let autoToken: string;

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 300, handshakeTimeoutMs: 1_000 });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    manualToken = (await createEnrollmentToken(ctx, { name: 'manual', labels: { site: 'lab' } }))
      .token;
    autoToken = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  it('enrols a device as pending with the token labels; acceptance opens its session on the same socket', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, manualToken);
    expect((await connection.next('pending')).deviceId).toBe(identity.deviceId);
    const device = await app.db.device.findUniqueOrThrow({ where: { id: identity.deviceId } });
    expect(device).toMatchObject({
      status: 'pending',
      labels: { site: 'lab' },
      publicKey: identity.publicKey,
      imageName: 'EOS.x86_64-AB',
    });
    const token = await app.db.enrollmentToken.findFirstOrThrow({ where: { name: 'manual' } });
    expect(token.uses).toBe(1);

    await acceptDevice(ctx, { deviceId: identity.deviceId });
    const welcome = await connection.next('welcome');
    expect(welcome).toMatchObject({
      deviceId: identity.deviceId,
      status: 'accepted',
      heartbeatIntervalMs: 300,
    });
    const actions = (
      await app.db.auditEvent.findMany({
        where: { targetId: identity.deviceId },
        orderBy: { id: 'asc' },
      })
    ).map((e) => e.action);
    expect(actions).toEqual(['device.enrolled', 'device.accepted']);
    connection.close();

    // later connections sign the nonce; the device stays accepted
    const again = await authenticate(http.baseUrl, identity);
    await again.next('welcome');
    again.close();
  });

  it('refuses a rejected device, on its open socket and on every reconnect', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, manualToken);
    await connection.next('pending');
    await rejectDevice(ctx, { deviceId: identity.deviceId });
    expect(await connection.next('rejected')).toMatchObject({ reason: 'rejected' });
    expect((await connection.closed).code).toBe(CLOSE_CODES.rejected);
    const retry = await authenticate(http.baseUrl, identity);
    expect(await retry.next('rejected')).toMatchObject({ reason: 'rejected' });
    expect((await retry.closed).code).toBe(CLOSE_CODES.rejected);
  });

  it('refuses unknown, revoked and used-up tokens with 4004, and counts no use', async () => {
    const unknown = await enroll(http.baseUrl, newIdentity(), 'eft_not-a-real-token');
    expect(await unknown.next('rejected')).toMatchObject({ reason: 'enrollment_refused' });
    expect((await unknown.closed).code).toBe(CLOSE_CODES.enrollmentRefused);

    const single = await createEnrollmentToken(ctx, {
      name: 'single',
      maxUses: 1,
      autoAccept: true,
    });
    const first = await enroll(http.baseUrl, newIdentity(), single.token);
    await first.next('welcome');
    const second = await enroll(http.baseUrl, newIdentity(), single.token);
    expect(await second.next('rejected')).toMatchObject({
      reason: 'enrollment_refused',
      message: expect.stringContaining('used up'),
    });
    expect(
      (await app.db.enrollmentToken.findUniqueOrThrow({ where: { id: single.enrollmentToken.id } }))
        .uses,
    ).toBe(1);
    first.close();
  });

  it('refuses a bad signature and a replayed one with 4001', async () => {
    const identity = newIdentity();
    (await enroll(http.baseUrl, identity, autoToken)).close();

    const forged = await connect(http.baseUrl);
    forged.send({
      type: 'auth',
      protocolVersion: PROTOCOL_VERSION,
      deviceId: identity.deviceId,
      signature: signChallenge(newIdentity(), 'auth', forged.nonce),
      agentVersion: 'x',
    });
    expect((await forged.closed).code).toBe(CLOSE_CODES.authFailed);

    // a signature captured on one connection is worthless on the next (fresh nonce)
    const captured = await connect(http.baseUrl);
    const signature = signChallenge(identity, 'auth', captured.nonce);
    captured.close();
    const replay = await connect(http.baseUrl);
    replay.send({
      type: 'auth',
      protocolVersion: PROTOCOL_VERSION,
      deviceId: identity.deviceId,
      signature,
      agentVersion: 'x',
    });
    expect((await replay.closed).code).toBe(CLOSE_CODES.authFailed);

    // an enroll signature cannot serve as an auth signature on the same nonce either
    const wrongPurpose = await connect(http.baseUrl);
    wrongPurpose.send({
      type: 'auth',
      protocolVersion: PROTOCOL_VERSION,
      deviceId: identity.deviceId,
      signature: signChallenge(identity, 'enroll', wrongPurpose.nonce),
      agentVersion: 'x',
    });
    expect((await wrongPurpose.closed).code).toBe(CLOSE_CODES.authFailed);
  });

  it('delivers a command while online, re-sends it after a reconnect until acked, and records progress and result once', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome');
    const command = await createCommand(ctx, {
      deviceId: identity.deviceId,
      kind: 'check',
      params: {},
    });
    const frame = await connection.next('command');
    expect(frame).toMatchObject({ id: command.id, kind: 'check', params: {} });
    connection.close(); // lost before the ack

    const second = await authenticate(http.baseUrl, identity);
    await second.next('welcome');
    expect((await second.next('command')).id).toBe(command.id);
    second.send({ type: 'ack', commandId: command.id });
    second.send({ type: 'progress', commandId: command.id, phase: 'checking' });
    const result = {
      type: 'result',
      commandId: command.id,
      kind: 'check',
      status: 'succeeded',
      data: {
        currentRootPrefixHash: 'a'.repeat(40),
        updateRootPrefixHash: 'b'.repeat(40),
        updateAvailable: true,
      },
      output: 'Current OS: ...',
      finishedAt: new Date().toISOString(),
    };
    second.send(result);
    second.send(result); // a re-delivered id answered again: no second outcome
    const done = await eventually(
      () =>
        app.db.command.findUniqueOrThrow({ where: { id: command.id }, include: { events: true } }),
      (row) => row.state === 'succeeded',
    );
    expect(done.sendCount).toBe(2);
    expect(done.ackedAt).not.toBeNull();
    expect(done.events.map((event) => event.state).filter(Boolean)).toEqual([
      'queued',
      'delivered',
      'succeeded',
    ]);
    second.close();

    // acked: a reconnect does not send it again
    const third = await authenticate(http.baseUrl, identity);
    await third.next('welcome');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(third.frames.filter((f) => f.type === 'command')).toHaveLength(0);
    third.close();
  });

  it('keeps inventory and presence current in batches', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome');
    connection.send({
      type: 'inventory',
      inventory: sampleInventory({
        rootPrefixHash: 'c'.repeat(40),
        activeSlot: 'p.lxrootclone1',
        flakes: [
          {
            engine: 'podman',
            name: 'lynx',
            appPath: '/usr/share/flakes/bin/lynx',
            target: '/usr/bin/lynx',
            container: 'suse-apps/lynx',
            base: 'basesystem',
          },
        ],
      }),
    });
    const device = await eventually(
      () =>
        app.db.device.findUniqueOrThrow({
          where: { id: identity.deviceId },
          include: { presence: true },
        }),
      (row) => row.rootPrefixHash === 'c'.repeat(40) && row.presence?.online === true,
    );
    expect(device.activeSlot).toBe('p.lxrootclone1');
    expect(device.flakes).toEqual([expect.objectContaining({ name: 'lynx' })]);
    connection.close();
    await eventually(
      () => app.db.devicePresence.findUniqueOrThrow({ where: { deviceId: identity.deviceId } }),
      (row) => !row.online,
    );
  });

  it('closes a decommissioned device within 5 s and voids its queued commands', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome');
    const started = Date.now();
    await decommissionDevice(ctx, { deviceId: identity.deviceId });
    expect(await connection.next('rejected')).toMatchObject({ reason: 'decommissioned' });
    expect((await connection.closed).code).toBe(CLOSE_CODES.rejected);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(
      createCommand(ctx, { deviceId: identity.deviceId, kind: 'check' }),
    ).rejects.toThrow(/decommissioned/);
  });

  it('answers malformed frames with typed errors, closes past the budget, and keeps serving others', async () => {
    const bystander = newIdentity();
    const healthy = await enroll(http.baseUrl, bystander, autoToken);
    await healthy.next('welcome');

    const identity = newIdentity();
    const noisy = await enroll(http.baseUrl, identity, autoToken);
    await noisy.next('welcome');
    noisy.sendRaw('{not json');
    expect(await noisy.next('error')).toMatchObject({
      code: 'invalid_frame',
      message: 'frame is not valid JSON',
    });
    noisy.send({ type: 'ack' });
    expect(await noisy.next('error')).toMatchObject({
      code: 'invalid_frame',
      message: expect.stringContaining('commandId'),
    });
    noisy.send({
      type: 'result',
      commandId: '00000000-0000-4000-8000-000000000000',
      kind: 'check',
      status: 'succeeded',
      finishedAt: new Date().toISOString(),
    });
    expect(await noisy.next('error')).toMatchObject({
      code: 'invalid_params',
      commandId: '00000000-0000-4000-8000-000000000000',
    });
    for (let i = 0; i < INVALID_FRAME_BUDGET; i++) noisy.sendRaw(Buffer.from([0xff, 0x00]));
    expect((await noisy.closed).code).toBe(CLOSE_CODES.tooManyInvalidFrames);

    const command = await createCommand(ctx, {
      deviceId: bystander.deviceId,
      kind: 'inventory.refresh',
    });
    expect((await healthy.next('command')).id).toBe(command.id);
    healthy.close();
  });

  it('refuses frames before authentication and closes a silent handshake', async () => {
    const early = await connect(http.baseUrl);
    early.send({ type: 'inventory', inventory: sampleInventory() });
    expect(await early.next('error')).toMatchObject({ code: 'unauthorized' });
    expect((await early.closed).code).toBe(CLOSE_CODES.handshakeTimeout);
  });

  it('refuses a frame larger than the protocol allows', async () => {
    const big = await connect(http.baseUrl);
    big.sendRaw('x'.repeat(300 * 1024));
    expect((await big.closed).code).toBe(1009);
  });

  it('terminates a connection that stops answering pings within two heartbeats', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome');
    // a half-open peer: the socket stays, pongs stop
    (
      connection.ws as unknown as { _receiver: { removeAllListeners(event: string): void } }
    )._receiver.removeAllListeners('ping');
    connection.ws.pong = () => undefined;
    const started = Date.now();
    await connection.closed;
    expect(Date.now() - started).toBeLessThan(3 * 300 + 200);
  });

  it('times a command out after its deadline', async () => {
    const identity = newIdentity();
    const connection = await enroll(http.baseUrl, identity, autoToken);
    await connection.next('welcome');
    const command = await createCommand(ctx, {
      deviceId: identity.deviceId,
      kind: 'check',
    });
    // the deadline counts from delivery: move it into the past once delivered
    await connection.next('command');
    await app.db.command.update({
      where: { id: command.id },
      data: { deadlineAt: new Date(Date.now() - 1000) },
    });
    const row = await eventually(
      () => app.db.command.findUniqueOrThrow({ where: { id: command.id } }),
      (c) => c.state === 'timed_out',
    );
    expect(row.errorCode).toBe('timed_out');
    connection.close();
  });
});
