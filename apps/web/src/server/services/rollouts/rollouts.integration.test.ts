// Staged rollouts end to end on a real PostgreSQL, the real gateway and the pg-boss scheduler:
// simulated agents (real Ed25519 keys, real WebSockets) answer the applies they are sent as the
// real agent does: ack, report the new image in their inventory, then the result.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../testing/test-app';
import { eventually } from '../../testing/eventually';
import { SYSTEM_ACTOR, type ServiceContext } from '../context';
import { createEnrollmentToken } from '../enrollment/enrollment-tokens';
import { startJobRunner } from '../../jobs/job-runner';
import {
  enroll,
  newIdentity,
  sampleInventory,
  type Connection,
} from '../../gateway/testing/simulated-agent';
import { tickRollout } from './rollout-scheduler';
import pino from 'pino';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Behaviour = 'succeed' | 'fail' | 'silent' | 'rollback' | 'lose-workloads';

const OLD = 'a'.repeat(40);
const MiB = 1024 * 1024;

// each case waits on real sockets and the job runner: room for a busy machine
describe('staged rollouts', { timeout: 150_000 }, () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let ctx: ServiceContext;
  let token: string;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;
  const agents: { close(): void }[] = [];

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ heartbeatMs: 1_000 });
    ctx = { db: app.db, actor: SYSTEM_ACTOR };
    token = (await createEnrollmentToken(ctx, { name: 'auto', autoAccept: true })).token;
    operator = await app.addOperator('operator');
    const server = await app.db.updateServer.create({
      data: { name: 'edge', sshTarget: 'fleet@127.0.0.1', httpUrl: 'http://127.0.0.1:1' },
    });
    await app.db.image.create({ data: { updateServerId: server.id, name: 'EOS.x86_64-AB' } });
  });
  afterAll(async () => {
    for (const agent of agents) agent.close();
    await http?.jobs.stop();
    await http?.close();
    await app?.close();
  });

  /** a new version of the image (each test its own, so rollouts do not meet) */
  async function newVersion(rootBytes = 8 * MiB) {
    const image = await app.db.image.findFirstOrThrow({ where: { name: 'EOS.x86_64-AB' } });
    return app.db.imageVersion.create({
      data: {
        imageId: image.id,
        rootPrefixHash: randomBytes(20).toString('hex'),
        imageSha1: randomBytes(20).toString('hex'),
        rootSha256: randomBytes(32).toString('hex'),
        rootPartitionSize: BigInt(rootBytes),
        label: `v-${randomBytes(2).toString('hex')}`,
      },
    });
  }

  /** An enrolled, online device whose agent answers applies as `behaviour` says. */
  async function device(
    labels: Record<string, string>,
    behaviour: Behaviour | (() => Behaviour | Promise<Behaviour>) = 'succeed',
    inventory: Parameters<typeof sampleInventory>[0] = {},
  ) {
    const identity = newIdentity();
    const facts = sampleInventory({ rootPrefixHash: OLD, ...inventory });
    const connection: Connection = await enroll(http.baseUrl, identity, token, facts);
    await connection.next('welcome');
    await app.db.device.update({ where: { id: identity.deviceId }, data: { labels } });
    await eventually(
      () => app.db.devicePresence.findUnique({ where: { deviceId: identity.deviceId } }),
      (p) => p?.online === true,
    );
    let stopped = false;
    const answered = new Set<string>();
    void (async () => {
      while (!stopped) {
        const frame = await connection.next('command', 60_000).catch(() => null);
        if (!frame || stopped) return;
        if (answered.has(frame.id)) continue;
        answered.add(frame.id);
        connection.send({ type: 'ack', commandId: frame.id });
        const now = typeof behaviour === 'function' ? await behaviour() : behaviour;
        if (now === 'silent') continue;
        const target =
          frame.kind === 'apply'
            ? (frame.params as { expectedRootPrefixHash: string }).expectedRootPrefixHash
            : OLD;
        if (now === 'succeed' || now === 'lose-workloads') {
          connection.send({
            type: 'inventory',
            inventory: {
              ...facts,
              rootPrefixHash: target,
              ...(now === 'lose-workloads' ? { flakes: [] } : {}),
              collectedAt: new Date().toISOString(),
            },
          });
          await eventually(
            () => app.db.device.findUniqueOrThrow({ where: { id: identity.deviceId } }),
            (d) => d.rootPrefixHash === target,
          );
        }
        connection.send({
          type: 'result',
          commandId: frame.id,
          kind: frame.kind,
          status: now === 'succeed' || now === 'lose-workloads' ? 'succeeded' : 'failed',
          ...(now === 'succeed' || now === 'lose-workloads'
            ? { data: { rootPrefixHash: target } }
            : {
                error: {
                  code: now === 'rollback' ? 'rolled_back' : 'apply_failed',
                  message: now === 'rollback' ? 'booted the old slot' : 'os-update failed',
                },
              }),
          finishedAt: new Date().toISOString(),
        });
      }
    })();
    const agent = {
      id: identity.deviceId,
      connection,
      close() {
        stopped = true;
        connection.close();
      },
    };
    agents.push(agent);
    return agent;
  }

  const caller = () => app.callerFor(operator);
  /** the rollout with its devices (a rollout here has a handful: one page holds them) */
  const rolloutOf = async (rolloutId: string) => {
    const [rollout, devices] = await Promise.all([
      caller().rollouts.get({ rolloutId }),
      caller().rollouts.devices({ rolloutId, pageSize: 200 }),
    ]);
    return { ...rollout, devices: devices.rows };
  };
  const applies = (rolloutId: string) =>
    app.db.command.findMany({ where: { rolloutId, kind: 'apply' } });

  it('a three-batch rollout completes; each device gets one apply; counts are honest', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    for (let i = 0; i < 5; i++) await device({ site, canary: i === 0 ? 'yes' : 'no' });
    const input = {
      name: 'three batches',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [
        { count: 1, selector: { labels: { canary: 'yes' } }, soakSeconds: 1 },
        { percent: 40 },
        { percent: 100 },
      ],
      failureThresholdPercent: 50,
    };
    const preview = await caller().rollouts.preview(input);
    expect(preview.batches.map((b) => b.devices)).toEqual([1, 2, 2]);
    expect(preview.preflightFailures).toEqual([]);
    const { id } = await caller().rollouts.create(input);
    const done = await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
      60_000,
    );
    expect(done.batches.map((b) => [b.state, b.succeeded, b.failed, b.total])).toEqual([
      ['succeeded', 1, 0, 1],
      ['succeeded', 2, 0, 2],
      ['succeeded', 2, 0, 2],
    ]);
    const sent = await applies(id);
    expect(sent).toHaveLength(5);
    expect(new Set(sent.map((c) => c.deviceId)).size).toBe(5);
    // every apply is pinned to the rollout's content
    for (const command of sent)
      expect(command.params).toMatchObject({
        expectedRootPrefixHash: version.rootPrefixHash,
        expectedRootSha256: version.rootSha256,
      });
    // the canary soaked before batch 2 started
    const canary = done.devices.find((d) => d.batch === 1);
    expect(canary?.state).toBe('succeeded');
    const audit = await app.db.auditEvent.findMany({
      where: { targetId: id },
      orderBy: { createdAt: 'asc' },
    });
    expect(audit.map((a) => a.action)).toEqual([
      'rollout.created',
      'rollout.started',
      'rollout.completed',
    ]);
  });

  it('a failing canary batch pauses the rollout by threshold; nothing else is sent', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    await device({ site, canary: 'yes' }, 'fail');
    for (let i = 0; i < 3; i++) await device({ site, canary: 'no' });
    const { id } = await caller().rollouts.create({
      name: 'bad canary',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ count: 1, selector: { labels: { canary: 'yes' } } }, { percent: 100 }],
      failureThresholdCount: 1,
    });
    const paused = await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'paused',
    );
    expect(paused.stateReason).toMatch(/failure threshold reached: 1 of 1/);
    expect(paused.batches[0]).toMatchObject({ failed: 1, succeeded: 0 });
    expect(paused.batches[1]).toMatchObject({ waiting: 3, inFlight: 0 });
    expect(paused.devices.find((d) => d.batch === 1)?.reason).toMatch(/os-update failed/);
    expect(paused.devices.find((d) => d.batch === 2)?.reason).toMatch(/paused/);
    expect(await applies(id)).toHaveLength(1);
  });

  it('a device that never returns after the apply is failed by its deadline', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    const dark = await device({ site }, 'silent');
    const { id } = await caller().rollouts.create({
      name: 'goes dark',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
    });
    const [command] = await eventually(
      () => applies(id),
      (list) => list.length === 1 && list[0]?.state !== 'queued',
    );
    // the agent activated and went dark: the device drops, its result deadline passes
    dark.close();
    await app.db.command.update({
      where: { id: command?.id },
      data: { deadlineAt: new Date(Date.now() - 1000) },
    });
    const after = await eventually(
      () => rolloutOf(id),
      (r) => r.devices[0]?.state === 'timed_out',
    );
    expect(after.devices[0]?.category).toBe('failed');
    expect(after.devices[0]?.reason).toMatch(/deadline/);
    expect(after.thresholds.failed).toBe(1);
  });

  it('a failed apply is retried after its backoff, and the device then succeeds', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    let calls = 0;
    await device({ site }, () => (++calls === 1 ? 'fail' : 'succeed'));
    const { id } = await caller().rollouts.create({
      name: 'retried',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
      maxRetries: 1,
      retryBackoffSeconds: 1,
      failureThresholdCount: 1,
    });
    const done = await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
    );
    expect(done.devices[0]).toMatchObject({ state: 'succeeded', attempts: 2 });
    const sent = await applies(id);
    expect(sent.map((c) => c.state).sort()).toEqual(['failed', 'succeeded']);
    expect(done.events.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/retry 1 of 1 at/)]),
    );
  });

  it('a manual gate holds the next batch until approved', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    for (let i = 0; i < 2; i++) await device({ site });
    const { id } = await caller().rollouts.create({
      name: 'gated',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ count: 1 }, { count: 1, gate: 'manual' }],
    });
    const waiting = await eventually(
      () => rolloutOf(id),
      (r) => r.batches[1]?.state === 'awaiting_approval',
    );
    expect(waiting.batches[0]?.state).toBe('succeeded');
    expect(await applies(id)).toHaveLength(1);
    await caller().rollouts.approveNextBatch({ rolloutId: id });
    await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
    );
    expect(await applies(id)).toHaveLength(2);
    expect(
      (await app.db.auditEvent.findMany({ where: { targetId: id } })).map((a) => a.action),
    ).toContain('rollout.batch_approved');
  });

  it('a maintenance window in a non-UTC time zone holds applies until it opens', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    await device({ site });
    // an opening 12 hours from now, Tokyo time, one minute long: closed now
    const tokyoHour =
      (Number(
        new Date().toLocaleString('en-US', {
          timeZone: 'Asia/Tokyo',
          hour: 'numeric',
          hour12: false,
        }),
      ) +
        12) %
      24;
    const input = {
      name: 'windowed',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
      maintenanceWindow: {
        cron: `0 ${tokyoHour} * * *`,
        timezone: 'Asia/Tokyo',
        durationMinutes: 1,
      },
    };
    const preview = await caller().rollouts.preview(input);
    expect(preview.windowOpen).toBe(false);
    const opening = new Date(preview.nextWindowOpening ?? 0);
    expect(
      Number(
        opening.toLocaleString('en-US', { timeZone: 'Asia/Tokyo', hour: 'numeric', hour12: false }),
      ) % 24,
    ).toBe(tokyoHour);
    const { id } = await caller().rollouts.create(input);
    const held = await eventually(
      () => rolloutOf(id),
      (r) => /outside the maintenance window/.test(r.devices[0]?.reason ?? ''),
    );
    expect(held.devices[0]?.category).toBe('waiting');
    expect(await applies(id)).toHaveLength(0);
    // the window opens (now, for a minute in every hour of Tokyo): the apply goes
    await app.db.rollout.update({
      where: { id },
      data: {
        maintenanceWindow: { cron: '* * * * *', timezone: 'Asia/Tokyo', durationMinutes: 60 },
      },
    });
    await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
    );
    expect(await applies(id)).toHaveLength(1);
  });

  it('a disruption budget of 1 per site never has two devices of a site applying', async () => {
    const version = await newVersion();
    const tag = randomBytes(2).toString('hex');
    // the first two applies to arrive (one per site) stay silent, every later one succeeds:
    // decided on arrival, so a delivery that comes late cannot turn a silent device into a success
    let silentLeft = 2;
    const answer = (): Behaviour => (silentLeft-- > 0 ? 'silent' : 'succeed');
    const fleet = [];
    for (const s of ['north', 'north', 'south', 'south'])
      fleet.push(await device({ group: tag, site: `${s}-${tag}` }, answer));
    const { id } = await caller().rollouts.create({
      name: 'budgeted',
      imageVersionId: version.id,
      target: { labels: { group: tag } },
      batches: [{ percent: 100 }],
      disruptionBudget: { label: 'site', max: 1 },
    });
    const first = await eventually(
      () => applies(id),
      (list) => list.length === 2,
    );
    const siteOf = async (deviceId: string) =>
      (
        (await app.db.device.findUniqueOrThrow({ where: { id: deviceId } })).labels as Record<
          string,
          string
        >
      ).site;
    expect(new Set(await Promise.all(first.map((c) => siteOf(c.deviceId)))).size).toBe(2);
    const held = await eventually(
      () => rolloutOf(id),
      (r) => r.devices.filter((d) => /disruption budget/.test(d.reason)).length === 2,
    );
    expect(
      held.devices.filter((d) => d.state === 'applying'),
      JSON.stringify(held.devices),
    ).toHaveLength(2);
    // the silent ones fail by deadline (freeing their budget); the next ones succeed. The deadline
    // moves only once both were delivered (hand-off sets a deadline of its own)
    await eventually(
      () => applies(id),
      (list) =>
        list.length === 2 && list.every((c) => c.state === 'delivered' && c.ackedAt !== null),
    );
    for (const command of first)
      await app.db.command.update({
        where: { id: command.id },
        data: { deadlineAt: new Date(Date.now() - 1000) },
      });
    const done = await eventually(
      () => rolloutOf(id),
      (r) => r.devices.filter((d) => d.state === 'succeeded').length === 2,
    );
    expect(
      done.devices.filter((d) => d.state === 'timed_out'),
      JSON.stringify(done.devices),
    ).toHaveLength(2);
    expect(await applies(id)).toHaveLength(4);
    void fleet;
  });

  it('the update server replacing the image mid-rollout: the rest are held, never sent other bytes', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    await device({ site });
    for (let i = 0; i < 2; i++) await device({ site });
    const { id } = await caller().rollouts.create({
      name: 'replaced',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ count: 1 }, { percent: 100, gate: 'manual' }],
    });
    await eventually(
      () => rolloutOf(id),
      (r) => r.batches[1]?.state === 'awaiting_approval',
    );
    // the server now publishes other content under the same name and prefix hash
    await app.db.imageVersion.update({
      where: { id: version.id },
      data: { rootSha256: randomBytes(32).toString('hex') },
    });
    await caller().rollouts.approveNextBatch({ rolloutId: id });
    const held = await eventually(
      () => rolloutOf(id),
      (r) =>
        r.devices.filter((d) => /held: .*no longer offers the pinned content/.test(d.reason))
          .length === 2,
    );
    expect(held.batches[1]).toMatchObject({ waiting: 2, inFlight: 0, failed: 0 });
    const sent = await applies(id);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.params).toMatchObject({ expectedRootSha256: version.rootSha256 });
    await caller().rollouts.abort({ rolloutId: id });
  });

  it('preflight excludes a device whose slot is too small, with the reason', async () => {
    const version = await newVersion(32 * MiB);
    const site = `s-${randomBytes(2).toString('hex')}`;
    const big = await device({ site }, 'succeed', { slotSizeBytes: 64 * MiB });
    const small = await device({ site }, 'succeed', { slotSizeBytes: 16 * MiB });
    const input = {
      name: 'slots',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
    };
    const preview = await caller().rollouts.preview(input);
    expect(preview.preflightFailures).toEqual([
      expect.objectContaining({
        deviceId: small.id,
        reason: expect.stringMatching(/does not fit the slot/),
      }),
    ]);
    const { id } = await caller().rollouts.create(input);
    const done = await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
    );
    expect(done.devices.find((d) => d.deviceId === small.id)).toMatchObject({
      state: 'skipped',
      category: 'cannot_converge',
    });
    expect((await applies(id)).map((c) => c.deviceId)).toEqual([big.id]);
    const trace = await caller().rollouts.trace({ deviceId: small.id, rolloutId: id });
    expect(trace.rollouts[0]?.steps.join('; ')).toMatch(/cannot converge: .*does not fit/);
  });

  it('two ticks at once, and a restarted scheduler, send no apply twice and lose nothing', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    for (let i = 0; i < 4; i++) await device({ site });
    // stop the scheduler of this process: ticks below are ours
    await http.jobs.stop();
    const { id } = await caller().rollouts.create({
      name: 'racing',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ count: 2 }, { percent: 100 }],
    });
    const outcomes = await Promise.all([
      tickRollout(app.db, id),
      tickRollout(app.db, id),
      tickRollout(app.db, id),
    ]);
    expect(outcomes.reduce((sum, o) => sum + o.sent, 0)).toBe(2);
    // a second process's scheduler starts (the "restart"): it finishes the rollout
    const second = await startJobRunner({
      db: app.db,
      databaseUrl: app.url,
      logger: pino({ level: 'silent' }),
      sweepMs: 200,
      rolloutTickMs: 500,
    });
    const third = await startJobRunner({
      db: app.db,
      databaseUrl: app.url,
      logger: pino({ level: 'silent' }),
      sweepMs: 200,
      rolloutTickMs: 500,
    });
    try {
      await eventually(
        () => rolloutOf(id),
        (r) => r.state === 'completed',
        120_000,
      );
      const sent = await applies(id);
      expect(sent).toHaveLength(4);
      expect(new Set(sent.map((c) => c.deviceId)).size).toBe(4);
    } finally {
      await third.stop();
      // keep one scheduler for the tests after this one
      http.jobs = second;
    }
  });

  it('device events drive the scheduler: a rollout completes with no periodic tick', async () => {
    await http.jobs.stop();
    const eventsOnly = await startJobRunner({
      db: app.db,
      databaseUrl: app.url,
      logger: pino({ level: 'silent' }),
      sweepMs: 200,
      rolloutTickMs: 3_600_000,
    });
    try {
      const version = await newVersion();
      const site = `s-${randomBytes(2).toString('hex')}`;
      for (let i = 0; i < 3; i++) await device({ site });
      const { id } = await caller().rollouts.create({
        name: 'event driven',
        imageVersionId: version.id,
        target: { labels: { site } },
        batches: [{ count: 1 }, { percent: 100 }],
      });
      const done = await eventually(
        () => rolloutOf(id),
        (r) => r.state === 'completed',
      );
      expect(done.batches.map((b) => b.succeeded)).toEqual([1, 2]);
    } finally {
      await eventsOnly.stop();
      http.jobs = await startJobRunner({
        db: app.db,
        databaseUrl: app.url,
        logger: pino({ level: 'silent' }),
        sweepMs: 200,
        rolloutTickMs: 500,
      });
    }
  });

  it('dynamic mode picks up a device enrolled later', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    await device({ site });
    const held = await device({ site }, 'silent');
    const { id } = await caller().rollouts.create({
      name: 'dynamic',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
      dynamic: true,
    });
    await eventually(
      () => applies(id),
      (list) => list.length === 2,
    );
    const late = await device({ site });
    await eventually(
      () => rolloutOf(id),
      (r) => r.devices.find((d) => d.deviceId === late.id)?.state === 'succeeded',
    );
    expect(
      (await app.db.rolloutEvent.findMany({ where: { rolloutId: id } })).map((e) => e.message),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/joined the target/)]));
    await caller().rollouts.abort({ rolloutId: id });
    void held;
  });

  it('revert sends the succeeded devices rollback (os-update --rollback)', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    await device({ site, role: 'back' });
    // applies, then fails its rollback: the revert's outcome is shown, not just that it was sent
    let commands = 0;
    await device({ site, role: 'stuck' }, () => (commands++ === 0 ? 'succeed' : 'fail'));
    const { id } = await caller().rollouts.create({
      name: 'reverted',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
    });
    await eventually(
      () => rolloutOf(id),
      (r) => r.state === 'completed',
    );
    const { devices } = await caller().rollouts.revert({ rolloutId: id });
    expect(devices).toBe(2);
    const rollbacks = await eventually(
      () => app.db.command.findMany({ where: { rolloutId: id, kind: 'rollback' } }),
      (list) =>
        list.length === 2 && list.every((c) => c.state === 'succeeded' || c.state === 'failed'),
    );
    expect(rollbacks.map((c) => c.state).sort()).toEqual(['failed', 'succeeded']);
    const after = await rolloutOf(id);
    expect(after.devices.every((d) => d.state === 'reverted')).toBe(true);
    const reasons = new Map(
      await Promise.all(
        after.devices.map(
          async (d) =>
            [
              labelsOfDevice(await app.db.device.findUniqueOrThrow({ where: { id: d.deviceId } })),
              d.reason,
            ] as const,
        ),
      ),
    );
    expect(reasons.get('back')).toBe('back on its previous slot (rollback succeeded)');
    expect(reasons.get('stuck')).toMatch(/^revert failed: os-update failed; it may still run/);
    expect(
      (await app.db.auditEvent.findMany({ where: { targetId: id } })).map((a) => a.action),
    ).toContain('rollout.reverted');
  });

  const labelsOfDevice = (d: { labels: unknown }) => (d.labels as Record<string, string>).role;
  const members = (rolloutId: string) =>
    app.db.rolloutDevice.findMany({ where: { rolloutId }, orderBy: { deviceId: 'asc' } });
  const webFlake = {
    engine: 'podman' as const,
    name: 'web',
    appPath: '/usr/share/flakes/bin/web',
    target: null,
    container: 'registry.local/web',
    base: null,
  };

  it('a device back on the new version without its workloads fails; so does one losing them in soak', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    const lost = await device({ site, role: 'lost' }, 'lose-workloads', { flakes: [webFlake] });
    const soaker = await device({ site, role: 'soaker' }, 'succeed', { flakes: [webFlake] });
    const { id } = await caller().rollouts.create({
      name: 'workloads',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100, soakSeconds: 600 }],
    });
    const first = await eventually(
      () => members(id),
      (list) =>
        list.find((m) => m.deviceId === lost.id)?.state === 'failed' &&
        list.find((m) => m.deviceId === soaker.id)?.state === 'soaking',
      60_000,
    );
    expect(first.find((m) => m.deviceId === lost.id)?.lastError).toBe(
      'came back without its workloads: web',
    );
    expect(first.find((m) => m.deviceId === soaker.id)?.workloadsBefore).toEqual(['web']);
    // during its soak the workload disappears from the soaking device's inventory
    soaker.connection.send({
      type: 'inventory',
      inventory: sampleInventory({ rootPrefixHash: version.rootPrefixHash, flakes: [] }),
    });
    const after = await eventually(
      () => members(id),
      (list) => list.find((m) => m.deviceId === soaker.id)?.state === 'failed',
      60_000,
    );
    expect(after.find((m) => m.deviceId === soaker.id)?.lastError).toBe(
      'lost its workloads during soak: web',
    );
  });

  it('the failure threshold with action abort fails the rollout and reverts the devices that succeeded', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    const canary = await device({ site, canary: 'yes' });
    for (let i = 0; i < 2; i++) await device({ site, canary: 'no' }, 'fail');
    const { id } = await caller().rollouts.create({
      name: 'fails and reverts',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ count: 1, selector: { labels: { canary: 'yes' } } }, { percent: 100 }],
      failureThresholdCount: 1,
      failureAction: 'abort',
      rollbackOnAbort: true,
    });
    const failed = await eventually(
      () => app.db.rollout.findUniqueOrThrow({ where: { id } }),
      (r) => r.state === 'failed',
      60_000,
    );
    expect(failed.stateReason).toMatch(/^failure threshold reached: [12] of [23] devices failed/);
    const rollback = await eventually(
      () => app.db.command.findFirst({ where: { rolloutId: id, kind: 'rollback' } }),
      (c) => c?.state === 'succeeded',
    );
    expect(rollback?.deviceId).toBe(canary.id);
    expect((await members(id)).find((m) => m.deviceId === canary.id)?.state).toBe('reverted');
    const actions = (await app.db.auditEvent.findMany({ where: { targetId: id } })).map(
      (a) => a.action,
    );
    expect(actions).toEqual(expect.arrayContaining(['rollout.failed', 'rollout.reverted']));
    expect(actions).not.toContain('rollout.aborted');
  });

  it('abort cancels applies not yet delivered, and follows the one in flight to its outcome', async () => {
    const version = await newVersion();
    const site = `s-${randomBytes(2).toString('hex')}`;
    let release: (value: Behaviour) => void = () => undefined;
    const gate = new Promise<Behaviour>((resolve) => (release = resolve));
    const busy = await device({ site }, () => gate);
    // online by its presence, but no agent connected here to deliver to: its apply stays queued
    const template = await app.db.device.findUniqueOrThrow({ where: { id: busy.id } });
    const idle = await app.db.device.create({
      data: {
        name: `unreached-${site}`,
        publicKey: randomBytes(16).toString('hex'),
        status: 'accepted',
        labels: { site },
        facts: template.facts ?? {},
        rootPrefixHash: OLD,
        arch: template.arch,
        profile: template.profile,
        slotSize: template.slotSize,
        imageName: template.imageName,
        presence: { create: { online: true, lastSeenAt: new Date() } },
      },
    });
    const { id } = await caller().rollouts.create({
      name: 'aborted mid-apply',
      imageVersionId: version.id,
      target: { labels: { site } },
      batches: [{ percent: 100 }],
    });
    await eventually(
      () => applies(id),
      (list) =>
        list.length === 2 &&
        list.find((c) => c.deviceId === busy.id)?.state !== 'queued' &&
        list.find((c) => c.deviceId === idle.id)?.state === 'queued',
    );
    await caller().rollouts.abort({ rolloutId: id });
    const cancelled = await applies(id);
    expect(cancelled.find((c) => c.deviceId === idle.id)?.state).toBe('cancelled');
    expect((await members(id)).find((m) => m.deviceId === idle.id)).toMatchObject({
      state: 'skipped',
      skipReason: 'the rollout was aborted before its apply was sent',
    });
    // the device that had started finishes; the stopped rollout still records its outcome
    release('succeed');
    const settled = await eventually(
      () => members(id),
      (list) => list.find((m) => m.deviceId === busy.id)?.state === 'succeeded',
      60_000,
    );
    expect(settled.find((m) => m.deviceId === busy.id)?.state).toBe('succeeded');
    expect((await app.db.rollout.findUniqueOrThrow({ where: { id } })).state).toBe('aborted');
  });

  it('the per-server cap holds across rollouts, and a device going offline frees its slot at once', async () => {
    // a server of its own, so no other test's applies count
    const server = await app.db.updateServer.create({
      data: {
        name: 'edge-capped',
        sshTarget: 'fleet@127.0.0.2',
        httpUrl: 'http://127.0.0.1:1',
        maxConcurrentApplies: 1,
      },
    });
    const image = await app.db.image.create({
      data: { updateServerId: server.id, name: 'EOS.x86_64-AB' },
    });
    const versionOn = () =>
      app.db.imageVersion.create({
        data: {
          imageId: image.id,
          rootPrefixHash: randomBytes(20).toString('hex'),
          imageSha1: randomBytes(20).toString('hex'),
          rootSha256: randomBytes(32).toString('hex'),
          rootPartitionSize: BigInt(8 * MiB),
        },
      });
    const site = `s-${randomBytes(2).toString('hex')}`;
    const capped = { updateServer: 'fleet@127.0.0.2' };
    const first = await device({ site, group: 'one' }, 'silent', capped);
    const second = await device({ site, group: 'two' }, 'silent', capped);
    const ids: string[] = [];
    for (const group of ['one', 'two'])
      ids.push(
        (
          await caller().rollouts.create({
            name: `cap ${group}`,
            imageVersionId: (await versionOn()).id,
            target: { labels: { site, group } },
            batches: [{ percent: 100 }],
          })
        ).id,
      );
    const inFlight = () =>
      app.db.command.findMany({
        where: { rolloutId: { in: ids }, kind: 'apply', state: { notIn: ['cancelled'] } },
      });
    const sent = await eventually(inFlight, (list) => list.length >= 1);
    // both rollouts tick again, and neither takes a second slot
    for (const rolloutId of ids) await tickRollout(app.db, rolloutId);
    expect(await inFlight()).toHaveLength(1);
    const holder = sent[0]?.deviceId === first.id ? first : second;
    const other = holder === first ? second : first;
    const held = await eventually(
      () => app.db.rolloutDevice.findFirst({ where: { deviceId: other.id } }),
      (m) => m?.skipReason === 'edge-capped is at its cap of 1 concurrent applies',
    );
    expect(held?.state).toBe('scheduled');
    // the holder goes dark: its slot is free at once, the other rollout's device gets it
    holder.close();
    const next = await eventually(inFlight, (list) => list.some((c) => c.deviceId === other.id));
    expect(next).toHaveLength(2);
    for (const rolloutId of ids) await caller().rollouts.abort({ rolloutId });
  });

  it('refuses a blocked version, and a viewer cannot create', async () => {
    const version = await newVersion();
    await app.db.imageVersion.update({ where: { id: version.id }, data: { blocked: true } });
    const input = {
      name: 'blocked',
      imageVersionId: version.id,
      target: { labels: { site: 'none' } },
      batches: [{ percent: 100 }],
    };
    await expect(caller().rollouts.create(input)).rejects.toThrow(/blocked/);
    const viewer = await app.addOperator('viewer');
    await expect(app.callerFor(viewer).rollouts.create(input)).rejects.toThrow();
  });
});
