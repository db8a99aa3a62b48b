import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../testing/test-app';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error.code;
    throw error;
  }
  return 'OK';
}

describe('operators and permissions (tRPC against PostgreSQL)', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<TestApp['addOperator']>>;
  let viewer: Awaited<ReturnType<TestApp['addOperator']>>;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;

  beforeAll(async () => {
    app = await createTestApp();
    admin = await app.addOperator('admin', 'admin@test.local');
    viewer = await app.addOperator('viewer');
    operator = await app.addOperator('operator');
  });
  afterAll(() => app.close());

  it('refuses everything to a caller without a session', async () => {
    expect(await codeOf(app.callerFor(null).fleet.overview())).toBe('UNAUTHORIZED');
    expect(await codeOf(app.callerFor(null).operators.list())).toBe('UNAUTHORIZED');
  });

  it('lets a viewer read but answers FORBIDDEN to its mutations, and writes nothing', async () => {
    const before = await app.db.auditEvent.count();
    const caller = app.callerFor(viewer);
    expect((await caller.operators.list()).map((o) => o.email)).toContain(viewer.email);
    expect(
      await codeOf(caller.operators.create({ email: 'x@test.local', name: 'X', role: 'admin' })),
    ).toBe('FORBIDDEN');
    expect(
      await codeOf(caller.operators.changeRole({ operatorId: viewer.id, role: 'admin' })),
    ).toBe('FORBIDDEN');
    expect(await app.db.operator.count({ where: { email: 'x@test.local' } })).toBe(0);
    expect(await app.db.auditEvent.count()).toBe(before);
  });

  it('an operator (role) may not manage operators either', async () => {
    expect(
      await codeOf(
        app.callerFor(operator).operators.setDisabled({ operatorId: viewer.id, disabled: true }),
      ),
    ).toBe('FORBIDDEN');
  });

  it('an admin creates an operator with a one-time password and one audit event', async () => {
    const result = await app
      .callerFor(admin)
      .operators.create({ email: 'New.One@Test.local', name: 'New One', role: 'operator' });
    expect(result.oneTimePassword).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(result.operator).toMatchObject({
      email: 'new.one@test.local',
      role: 'operator',
      mustChangePassword: true,
    });
    const events = await app.db.auditEvent.findMany({ where: { targetId: result.operator.id } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'operator.created',
      actorType: 'operator',
      actorId: admin.id,
      actorLabel: admin.email,
    });
  });

  it('refuses a duplicate email with CONFLICT and malformed input with BAD_REQUEST', async () => {
    const caller = app.callerFor(admin);
    expect(
      await codeOf(caller.operators.create({ email: viewer.email, name: 'dup', role: 'viewer' })),
    ).toBe('CONFLICT');
    expect(
      await codeOf(caller.operators.create({ email: 'not-an-email', name: 'x', role: 'viewer' })),
    ).toBe('BAD_REQUEST');
    const notARole = 'root' as 'admin'; // what a hand-made request could send
    expect(
      await codeOf(caller.operators.create({ email: 'r@test.local', name: 'x', role: notARole })),
    ).toBe('BAD_REQUEST');
  });

  it('never leaves the fleet without an enabled admin', async () => {
    const caller = app.callerFor(admin);
    expect(
      await codeOf(caller.operators.changeRole({ operatorId: admin.id, role: 'viewer' })),
    ).toBe('PRECONDITION_FAILED');
    expect(
      await codeOf(caller.operators.setDisabled({ operatorId: admin.id, disabled: true })),
    ).toBe('PRECONDITION_FAILED');
    expect((await app.db.operator.findUniqueOrThrow({ where: { id: admin.id } })).role).toBe(
      'admin',
    );
  });

  it('changes a role and disables an operator, ending their sessions, each with an audit event', async () => {
    const caller = app.callerFor(admin);
    await app.db.session.create({
      data: {
        id: 's1',
        token: 'tok-s1',
        userId: operator.id,
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    expect(
      (await caller.operators.changeRole({ operatorId: operator.id, role: 'viewer' })).role,
    ).toBe('viewer');
    expect(
      (await caller.operators.setDisabled({ operatorId: operator.id, disabled: true })).disabled,
    ).toBe(true);
    expect(await app.db.session.count({ where: { userId: operator.id } })).toBe(0);
    const actions = (
      await app.db.auditEvent.findMany({ where: { targetId: operator.id }, orderBy: { id: 'asc' } })
    ).map((e) => e.action);
    expect(actions).toEqual(['operator.created', 'operator.role_changed', 'operator.disabled']);
  });

  it('a one-time password must be replaced before anything else', async () => {
    const { operator: fresh, oneTimePassword } = await app
      .callerFor(admin)
      .operators.create({ email: 'otp@test.local', name: 'Otp', role: 'operator' });
    const caller = app.callerFor({ ...fresh, disabled: false });
    expect(await codeOf(caller.fleet.overview())).toBe('FORBIDDEN');
    expect((await caller.account.me()).mustChangePassword).toBe(true);
    expect(
      await codeOf(
        caller.account.changePassword({
          currentPassword: 'wrong-password',
          newPassword: 'a new password 1',
        }),
      ),
    ).toBe('BAD_REQUEST');
    await caller.account.changePassword({
      currentPassword: oneTimePassword ?? '',
      newPassword: 'a new password 1',
    });
    const after = await app.db.operator.findUniqueOrThrow({ where: { id: fresh.id } });
    expect(after.mustChangePassword).toBe(false);
    const changed = app.callerFor({ ...fresh, disabled: false, mustChangePassword: false });
    expect((await changed.fleet.overview()).devices).toEqual({
      pending: 0,
      accepted: 0,
      rejected: 0,
      decommissioned: 0,
    });
  });

  it('lists the audit log newest first, page by page', async () => {
    const caller = app.callerFor(viewer);
    const first = await caller.audit.list({ limit: 2 });
    expect(first.events).toHaveLength(2);
    expect(first.nextCursor).toBeDefined();
    const second = await caller.audit.list({ limit: 2, cursor: first.nextCursor });
    const ids = [...first.events, ...second.events].map((event) => BigInt(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : 1)));
    expect(new Set(ids).size).toBe(ids.length);
  });
});
