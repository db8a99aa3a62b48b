// account.changePassword against PostgreSQL: wrong current passwords are limited per operator,
// the lockout is audited, and a right password inside the lockout changes nothing.
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp } from '../../testing/test-app';
import { verifyPassword } from './passwords';
import { PASSWORD_CHANGE_LIMITS } from './auth-attempts';

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

describe('account.changePassword: wrong current passwords are limited and audited', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  async function passwordIs(operatorId: string, password: string) {
    const account = await app.db.account.findFirstOrThrow({ where: { userId: operatorId } });
    return verifyPassword({ hash: account.password ?? '', password });
  }

  it(`locks the operator's password change after ${PASSWORD_CHANGE_LIMITS.pair.failures} wrong current passwords`, async () => {
    const operator = await app.addOperator('operator');
    const caller = app.callerFor({ ...operator, disabled: false, mustChangePassword: false });
    for (let guess = 0; guess < PASSWORD_CHANGE_LIMITS.pair.failures; guess += 1) {
      expect(
        await codeOf(
          caller.account.changePassword({
            currentPassword: `wrong guess ${guess}`,
            newPassword: 'the attacker chose this',
          }),
        ),
      ).toBe('BAD_REQUEST');
    }
    // now even the right current password is refused, and nothing changes
    expect(
      await codeOf(
        caller.account.changePassword({
          currentPassword: operator.password,
          newPassword: 'the attacker chose this',
        }),
      ),
    ).toBe('TOO_MANY_REQUESTS');
    expect(await passwordIs(operator.id, operator.password)).toBe(true);

    const audit = await app.db.auditEvent.findMany({
      where: { action: 'operator.password_change_locked', targetId: operator.id },
    });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ targetType: 'operator', ipAddress: '127.0.0.1' });

    // another operator is not affected
    const other = await app.addOperator('operator');
    await app
      .callerFor({ ...other, disabled: false, mustChangePassword: false })
      .account.changePassword({ currentPassword: other.password, newPassword: 'a brand new one' });
    expect(await passwordIs(other.id, 'a brand new one')).toBe(true);
    expect(
      await app.db.auditEvent.count({
        where: { action: 'operator.password_changed', targetId: other.id },
      }),
    ).toBe(1);
  });

  it('a right password after a few wrong ones still works and clears the count', async () => {
    const operator = await app.addOperator('operator');
    const caller = app.callerFor({ ...operator, disabled: false, mustChangePassword: false });
    for (let guess = 0; guess < PASSWORD_CHANGE_LIMITS.pair.failures - 1; guess += 1) {
      await codeOf(
        caller.account.changePassword({ currentPassword: 'typo', newPassword: 'a new password 1' }),
      );
    }
    await caller.account.changePassword({
      currentPassword: operator.password,
      newPassword: 'a new password 1',
    });
    expect(await passwordIs(operator.id, 'a new password 1')).toBe(true);
  });
});
