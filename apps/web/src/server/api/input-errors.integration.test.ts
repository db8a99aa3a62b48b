// Bad API input is the caller's fault and is answered so (issue 7, item 5): NUL and out-of-range
// numbers are BAD_REQUEST (HTTP 400) in words, never a 500 carrying Prisma's text; an unexpected
// database failure is a 500 with an id that the server log carries with the details. LIKE
// wildcards in searches match themselves. tRPC callers and HTTP, real PostgreSQL.
import { randomUUID } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturedLogger } from '../gateway/testing/captured-logger';
import { createTestApp } from '../testing/test-app';
import { createCallerFactory, createTRPCRouter, publicProcedure } from './trpc';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

/** What a tRPC call failed with; what leaks from PostgreSQL or Prisma must not be in it. */
async function failure(call: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await call;
  } catch (error) {
    if (!(error instanceof TRPCError)) throw error;
    expect(error.message).not.toMatch(/prisma|invocation|postgres|\$executeRaw|0x00|SQL/i);
    return { code: error.code, message: error.message };
  }
  throw new Error('the call succeeded');
}

describe('API input errors answer 400 in words, never internals', () => {
  let app: TestApp;
  let http: Awaited<ReturnType<TestApp['listen']>>;
  let admin: Awaited<ReturnType<TestApp['addOperator']>>;
  let deviceId: string;
  const log = capturedLogger();

  beforeAll(async () => {
    app = await createTestApp();
    http = await app.listen({ logger: log.logger });
    admin = await app.addOperator('admin');
    deviceId = randomUUID();
    await app.db.device.create({
      data: { id: deviceId, name: 'lab-1', publicKey: randomUUID(), status: 'accepted' },
    });
    for (const name of ['50% off', '5000', 'a_b', 'axb', 'back\\slash', 'backslash'])
      await app.db.device.create({ data: { name, publicKey: randomUUID() } });
  });
  afterAll(async () => {
    await http.close();
    await app.close();
  });

  it('answers BAD_REQUEST to NUL in search strings, names and labels, and to ids that cannot be', async () => {
    const caller = app.callerFor(admin);
    const nul = 'lab\u0000';
    const cases: Promise<unknown>[] = [
      caller.devices.list({ search: nul }),
      caller.devices.update({ deviceId, name: nul }),
      caller.devices.update({ deviceId, labels: { site: nul } }),
      caller.devices.update({ deviceId, labels: { [nul]: 'x' } }),
      caller.enrollment.create({ name: nul }),
      caller.enrollment.create({ name: 'ok', labels: { site: nul } }),
      caller.operators.create({ email: 'nul@test.local', name: nul, role: 'viewer' }),
      caller.operators.changeRole({ operatorId: nul, role: 'viewer' }),
      caller.operators.setDisabled({ operatorId: nul, disabled: true }),
      caller.operators.resetPassword({ operatorId: nul }),
      caller.audit.list({ action: nul }),
      caller.audit.list({ targetId: nul }),
      caller.audit.list({ targetType: '\uD800' }),
    ];
    for (const call of cases) {
      const { code, message } = await failure(call);
      expect(code).toBe('BAD_REQUEST');
      expect(message).toMatch(/^Invalid input: /);
    }
    expect((await failure(caller.devices.list({ search: nul }))).message).toContain('NUL');
    expect((await app.db.device.findUniqueOrThrow({ where: { id: deviceId } })).name).toBe('lab-1');
  });

  it('answers BAD_REQUEST to numbers out of range: page sizes of 1e12, negative, fractional, a cursor past bigint', async () => {
    const caller = app.callerFor(admin);
    const cases: Promise<unknown>[] = [
      caller.devices.list({ limit: 1e12 }),
      caller.devices.list({ limit: -1 }),
      caller.devices.list({ limit: 2.5 }),
      caller.devices.commands({ deviceId, limit: 1e12 }),
      caller.devices.commands({ deviceId, limit: -5 }),
      caller.audit.list({ limit: 1e12 }),
      caller.audit.list({ cursor: '99999999999999999999999' }),
      caller.audit.list({ cursor: '9223372036854775808' }),
      caller.audit.list({ cursor: '-1' }),
      caller.enrollment.create({ name: 'n', maxUses: 1e12 }),
      caller.enrollment.create({ name: 'n', expiresInHours: -1 }),
      caller.devices.sendCommand({ deviceId, kind: 'check', params: { imageName: 'EOS\u0000' } }),
    ];
    for (const call of cases) expect((await failure(call)).code).toBe('BAD_REQUEST');
    // the largest cursor that can be is answered normally
    await expect(caller.audit.list({ cursor: '9223372036854775807' })).resolves.toBeDefined();
  });

  it('maps a value the database refused to BAD_REQUEST and any other database failure to an id', async () => {
    const router = createTRPCRouter({
      refusedValue: publicProcedure.query(async ({ ctx }) => {
        await ctx.db.$queryRaw`select ${'a\u0000b'}::text`;
      }),
      outOfRange: publicProcedure.query(async ({ ctx }) => {
        await ctx.db.$queryRaw`select ${'99999999999999999999'}::bigint`;
      }),
      broken: publicProcedure.query(async ({ ctx }) => {
        await ctx.db.$queryRaw`select * from no_such_table`;
      }),
    });
    const caller = createCallerFactory(router)({
      db: app.db,
      auth: app.auth,
      operator: null,
      sessionToken: null,
    });
    expect(await failure(caller.refusedValue())).toEqual({
      code: 'BAD_REQUEST',
      message: expect.stringContaining('NUL'),
    });
    expect(await failure(caller.outOfRange())).toEqual({
      code: 'BAD_REQUEST',
      message: 'Invalid input: a number is out of range.',
    });
    const broken = await failure(caller.broken());
    expect(broken.code).toBe('INTERNAL_SERVER_ERROR');
    expect(broken.message).toMatch(/^internal error; see the server log, id [0-9a-f]{12}$/);
    expect(broken.message).not.toContain('no_such_table');
  });

  it('escapes LIKE wildcards: "50%" finds only names holding 50%, "_" and "\\" only themselves', async () => {
    const caller = app.callerFor(admin);
    const names = async (search: string) =>
      (await caller.devices.list({ search })).map((device) => device.name).sort();
    expect(await names('50%')).toEqual(['50% off']);
    expect(await names('%')).toEqual(['50% off']);
    expect(await names('a_b')).toEqual(['a_b']);
    expect(await names('\\')).toEqual(['back\\slash']);
    expect(await names('AX')).toEqual(['axb']);
    // the audit action filter is one of the closed list or an entity's prefix, nothing else
    expect((await caller.audit.list({ action: 'operator.' })).events.length).toBeGreaterThan(0);
    await expect(caller.audit.list({ action: 'operator_' })).rejects.toThrow(/audit actions/);
    await expect(caller.audit.list({ action: '%' })).rejects.toThrow(/audit actions/);
  });

  describe('over HTTP', () => {
    let cookie: string;
    const origin = () => new URL(http.baseUrl).origin;

    beforeAll(async () => {
      const response = await fetch(`${http.baseUrl}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: origin() },
        body: JSON.stringify({ email: admin.email, password: admin.password }),
      });
      const line = response.headers
        .getSetCookie()
        .find((setCookie) => setCookie.startsWith('better-auth.session_token='));
      cookie = line?.split(';')[0] ?? '';
      expect(cookie).not.toBe('');
    });

    const query = (procedure: string, input: unknown) =>
      fetch(
        `${http.baseUrl}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify({ json: input }))}`,
        { headers: { cookie } },
      );
    const mutation = (procedure: string, input: unknown) =>
      fetch(`${http.baseUrl}/api/trpc/${procedure}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', origin: origin() },
        body: JSON.stringify({ json: input }),
      });

    async function errorOf(response: Response) {
      const text = await response.text();
      expect(text).not.toMatch(/prisma|invocation|postgres|stack|0x00/i);
      return {
        status: response.status,
        ...(JSON.parse(text) as { error: { json: { message: string; data: { code: string } } } })
          .error.json,
      };
    }

    it('answers 400 with words to NUL and huge numbers', async () => {
      const responses = [
        await query('devices.list', { search: 'lab\u0000' }),
        await query('devices.list', { limit: 1e12 }),
        await query('devices.list', { limit: -1 }),
        await query('audit.list', { cursor: '99999999999999999999999' }),
        await query('audit.list', { action: '\u0000' }),
        await mutation('devices.update', { deviceId, labels: { site: 'x\u0000' } }),
        await mutation('enrollment.create', { name: 'x\u0000' }),
        await mutation('operators.create', {
          email: 'h@test.local',
          name: '\u0000',
          role: 'viewer',
        }),
        await mutation('operators.changeRole', { operatorId: '\u0000', role: 'viewer' }),
      ];
      for (const response of responses) {
        const error = await errorOf(response);
        expect(error.status).toBe(400);
        expect(error.data.code).toBe('BAD_REQUEST');
        expect(error.message).toMatch(/^Invalid input: /);
      }
      expect((await fetch(`${http.baseUrl}/healthz`)).status).toBe(200);
    });

    it('answers a database failure with 500 and an id, and logs the details under that id', async () => {
      await app.db.$executeRawUnsafe('alter table audit_event rename to audit_event_away');
      try {
        const error = await errorOf(await query('audit.list', {}));
        expect(error.status).toBe(500);
        expect(error.data.code).toBe('INTERNAL_SERVER_ERROR');
        const id = /id ([0-9a-f]{12})$/.exec(error.message)?.[1];
        expect(id).toBeDefined();
        expect(error.message).not.toContain('audit_event');
        const logged = log.lines.find((line) => line.faultId === id);
        expect(logged).toMatchObject({ msg: 'tRPC procedure failed', procedure: 'audit.list' });
        expect(JSON.stringify(logged)).toContain('audit_event');
      } finally {
        await app.db.$executeRawUnsafe('alter table audit_event_away rename to audit_event');
      }
    });
  });
});
