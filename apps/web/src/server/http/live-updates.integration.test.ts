// Live updates end to end, with real processes, real PostgreSQL and a real HTTP client reading
// the server-sent-event stream of live.changes: a change made in one process reaches a browser of
// another through NOTIFY; a thousand device reports are a few NOTIFYs and a few messages; the
// stream is refused without a session, capped per session, kept alive by pings, and forgotten on
// disconnect; after a restart of the server a client opens it again and hears changes.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../services/api-tokens/manage-api-tokens';
import { SYSTEM_ACTOR, type ServiceContext } from '../services/context';
import { createCommand } from '../services/commands/commands';
import { flushInventories } from '../services/devices/device-reports';
import { MAX_PER_PRINCIPAL } from '../services/events/change-hub';
import { startChangePublisher } from '../services/events/change-notices';
import { acceptDevice } from '../services/devices/manage-device';
import { eventually } from '../testing/eventually';
import { openSseStream, type SseStream } from '../testing/sse-stream';
import { createTestApp } from '../testing/test-app';
import { sampleInventory } from '../gateway/testing/simulated-agent';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(HERE, '../../../../../node_modules/.bin/tsx');
const STREAM = '/api/trpc/live.changes';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
type Server = Awaited<ReturnType<TestApp['listen']>>;

async function pendingDevice(app: TestApp, name = `device-${randomUUID().slice(0, 8)}`) {
  return app.db.device.create({
    data: { name, publicKey: randomBytes(32).toString('base64') },
  });
}

/** `eventually` reads asynchronously; these values are at hand */
const now =
  <T>(read: () => T) =>
  () =>
    Promise.resolve(read());

const heard = (stream: SseStream, topic: string) =>
  stream.batches().some((topics) => topics.includes(topic));

describe('live updates over server-sent events (real server, real PostgreSQL)', () => {
  let app: TestApp;
  let server: Server;
  let cookie: string;
  const streams: SseStream[] = [];

  async function open(headers: Record<string, string> = { cookie }, base = server.baseUrl) {
    const stream = await openSseStream(`${base}${STREAM}`, headers);
    streams.push(stream);
    return stream;
  }
  const connected = (stream: SseStream) =>
    eventually(
      now(() => stream.events.some((event) => event.event === 'connected')),
      Boolean,
    );

  beforeAll(async () => {
    app = await createTestApp();
    server = await app.listen();
    const operator = await app.addOperator('viewer');
    const response = await fetch(`${server.baseUrl}/api/auth/sign-in/email`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: new URL(server.baseUrl).origin },
      body: JSON.stringify({ email: operator.email, password: operator.password }),
    });
    expect(response.status).toBe(200);
    const line = response.headers
      .getSetCookie()
      .find((value) => value.startsWith('better-auth.session_token='));
    if (!line) throw new Error('no session cookie');
    cookie = line.split(';')[0] ?? '';
  });
  afterAll(async () => {
    for (const stream of streams) stream.close();
    await server.close();
    await app.close();
  });

  it('refuses a stream without a session, in words, and keeps no subscriber', async () => {
    const stream = await open({});
    // tRPC answers a refused stream with its error as the one event, and ends it
    await eventually(
      now(() => stream.ended),
      Boolean,
    );
    const refusal = stream.events.find((event) => event.event === 'serialized-error')?.data;
    expect(refusal).toContain('UNAUTHORIZED');
    expect(refusal).toContain('Sign in first.');
    expect(stream.batches()).toEqual([]);
    expect(server.changes.size).toBe(0);
  });

  it('streams without buffering: the first event arrives while the response is open', async () => {
    const stream = await open();
    expect(stream.status).toBe(200);
    expect(stream.contentType).toBe('text/event-stream');
    await connected(stream);
    expect(stream.ended).toBe(false);
    expect(server.changes.size).toBe(1);
    stream.close();
    await eventually(
      now(() => server.changes.size),
      (size) => size === 0,
    );
  });

  it('tells a subscriber about an accepted device and a command, by topic', async () => {
    const stream = await open();
    await connected(stream);
    const device = await pendingDevice(app);
    const ctx: ServiceContext = { db: app.db, actor: SYSTEM_ACTOR };
    await acceptDevice(ctx, { deviceId: device.id });
    await eventually(
      now(() => stream.batches()),
      () =>
        heard(stream, `device:${device.id}`) && heard(stream, 'devices') && heard(stream, 'audit'),
    );
    await createCommand(ctx, { deviceId: device.id, kind: 'inventory.refresh' });
    await eventually(
      now(() => stream.batches()),
      () => heard(stream, `commands:${device.id}`),
    );
    stream.close();
  });

  it('coalesces: 1,000 device reports are a few NOTIFYs and a few messages', async () => {
    const devices = await Promise.all(Array.from({ length: 40 }, () => pendingDevice(app)));
    const stream = await open();
    await connected(stream);
    await server.publisher.flush(); // nothing of the earlier tests left to send
    const notifiesBefore = server.publisher.sent;
    const started = Date.now();
    for (let report = 0; report < 1_000; report++) {
      const device = devices[report % devices.length];
      if (!device) throw new Error('no device');
      await flushInventories(app.db, [{ deviceId: device.id, inventory: sampleInventory() }]);
    }
    const seconds = (Date.now() - started) / 1000;
    await eventually(
      now(() => stream.batches()),
      () => devices.every((device) => heard(stream, `device:${device.id}`)),
    );
    const notifies = server.publisher.sent - notifiesBefore;
    const messages = stream.batches().length;
    // one NOTIFY per flush (300 ms) and one message per fan-out (250 ms), whatever the changes
    const flushes = Math.ceil((seconds * 1000) / 300) + 3;
    console.log(
      `1000 reports in ${seconds.toFixed(1)} s: ${notifies} NOTIFYs, ${messages} stream messages`,
    );
    expect(notifies).toBeGreaterThan(0);
    expect(notifies).toBeLessThanOrEqual(flushes);
    expect(messages).toBeLessThanOrEqual(flushes + 2);
    expect(messages).toBeLessThan(1_000 / 10); // against one per report, whatever the machine's speed
    stream.close();
  });

  it('collapses a flush too long for one NOTIFY into a wildcard topic', async () => {
    const devices = await Promise.all(Array.from({ length: 250 }, () => pendingDevice(app)));
    const stream = await open();
    await connected(stream);
    // 250 device topics (about 11 KB) in one flush: more than PostgreSQL takes in a payload
    await flushInventories(
      app.db,
      devices.map((device) => ({ deviceId: device.id, inventory: sampleInventory() })),
    );
    await eventually(
      now(() => stream.batches()),
      () => heard(stream, 'device:*'),
    );
    expect(heard(stream, 'devices')).toBe(true);
    stream.close();
  });

  it('keeps a quiet stream alive with pings (proxies cut idle connections)', async () => {
    const stream = await open();
    await connected(stream);
    await eventually(
      now(() => stream.events.filter((event) => event.event === 'ping').length),
      (pings) => pings >= 1,
      40_000,
    );
    expect(stream.ended).toBe(false);
    stream.close();
  }, 60_000);

  it('says `*` to its streams when its own LISTEN connection was lost (notices were missed)', async () => {
    const stream = await open();
    await connected(stream);
    await app.db.$queryRaw`
      select pg_terminate_backend(pid)::text from pg_stat_activity
      where datname = current_database() and query ilike 'listen %' and pid <> pg_backend_pid()`;
    await eventually(
      now(() => stream.batches()),
      () => heard(stream, '*'),
    );
    // and it hears changes again afterwards
    const device = await pendingDevice(app);
    await acceptDevice({ db: app.db, actor: SYSTEM_ACTOR }, { deviceId: device.id });
    await eventually(
      now(() => stream.batches()),
      () => heard(stream, `device:${device.id}`),
    );
    stream.close();
  });

  it('a stream cut by a server restart is opened again and hears changes', async () => {
    const stream = await open();
    await connected(stream);
    const port = Number(new URL(server.baseUrl).port);
    await server.close();
    await eventually(
      now(() => stream.ended),
      Boolean,
    );
    server = await app.listen({ port });
    const again = await open();
    await connected(again);
    const device = await pendingDevice(app);
    await acceptDevice({ db: app.db, actor: SYSTEM_ACTOR }, { deviceId: device.id });
    await eventually(
      now(() => again.batches()),
      () => heard(again, `device:${device.id}`),
    );
    again.close();
  });

  it(`caps the streams of one session at ${MAX_PER_PRINCIPAL}, and forgets every one on disconnect`, async () => {
    const opened = [];
    for (let index = 0; index < MAX_PER_PRINCIPAL; index++) opened.push(await open());
    for (const stream of opened) expect(stream.status).toBe(200);
    const refused = await open();
    await eventually(
      now(() => refused.ended),
      Boolean,
    );
    const refusal = refused.events.find((event) => event.event === 'serialized-error')?.data;
    expect(refusal).toContain('TOO_MANY_REQUESTS');
    expect(refusal).toContain(`At most ${MAX_PER_PRINCIPAL} live-update streams`);
    expect(server.changes.size).toBe(MAX_PER_PRINCIPAL);
    for (const stream of opened) stream.close();
    await eventually(
      now(() => server.changes.size),
      (size) => size === 0,
    );
    // and the session may open streams again
    const again = await open();
    expect(again.status).toBe(200);
    again.close();
    await eventually(
      now(() => server.changes.size),
      (size) => size === 0,
    );
  });
});

describe('live updates across processes (a second web process, LISTEN/NOTIFY)', () => {
  let app: TestApp;
  let child: ChildProcess;
  let otherUrl: string;

  beforeAll(async () => {
    app = await createTestApp();
    child = spawn(TSX, [path.join(HERE, '../gateway/testing/gateway-process.ts'), app.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    otherUrl = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const port = output.match(/LISTENING (\d+)/)?.[1];
        if (port) resolve(`http://127.0.0.1:${port}`);
      });
      child.once('exit', (code) => reject(new Error(`web process exited with ${code}`)));
    });
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await app.close();
  });

  it('a device accepted in this process reaches a stream served by the other', async () => {
    const admin = await app.addOperator('admin');
    const { token } = await createApiToken(
      { db: app.db, actor: { type: 'operator', id: admin.id, label: admin.email, role: 'admin' } },
      { name: 'live stream', role: 'viewer', expiresInDays: 1 },
    );
    const stream = await openSseStream(`${otherUrl}${STREAM}`, {
      authorization: `Bearer ${token}`,
    });
    try {
      expect(stream.status).toBe(200);
      await eventually(
        now(() => stream.events.some((event) => event.event === 'connected')),
        Boolean,
      );
      // this process publishes its own notices (as every web process does)
      const publisher = startChangePublisher(
        app.db,
        (await import('pino')).default({ level: 'silent' }),
      );
      try {
        const device = await pendingDevice(app);
        await acceptDevice({ db: app.db, actor: SYSTEM_ACTOR }, { deviceId: device.id });
        await eventually(
          now(() => stream.batches()),
          () => heard(stream, `device:${device.id}`),
        );
      } finally {
        await publisher.stop();
      }
    } finally {
      stream.close();
    }
  });
});
