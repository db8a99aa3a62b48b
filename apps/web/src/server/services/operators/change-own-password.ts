import { type z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { beginAttempt, PASSWORD_CHANGE_LIMITS, settleAttempt } from './auth-attempts';
import { changeOwnPasswordInput } from './operator-inputs';
import { CREDENTIAL_PROVIDER, hashPassword, verifyPassword } from './passwords';

export { changeOwnPasswordInput };

/**
 * The signed-in operator sets a new password; their other sessions end. Wrong current passwords
 * are limited per operator (a stolen session cannot guess the password it lacks), and the lockout
 * is audited.
 */
export async function changeOwnPassword(
  ctx: ServiceContext,
  input: z.input<typeof changeOwnPasswordInput>,
  currentSessionToken: string,
) {
  if (ctx.actor.type !== 'operator')
    throw new AppError('FORBIDDEN', 'Only an operator has a password.');
  const operatorId = ctx.actor.id;
  const { currentPassword, newPassword } = changeOwnPasswordInput.parse(input);
  const attempt = await beginAttempt(
    ctx.db,
    'password_change',
    { account: operatorId, clientAddress: ctx.ipAddress ?? 'unknown' },
    PASSWORD_CHANGE_LIMITS,
  );
  if (!attempt.allowed) {
    const minutes = Math.ceil(attempt.retryAfterMs / 60_000);
    throw new AppError(
      'TOO_MANY_REQUESTS',
      `Too many wrong current passwords: try again in ${minutes} min.`,
    );
  }
  const account = await ctx.db.account.findFirst({
    where: { userId: operatorId, providerId: CREDENTIAL_PROVIDER },
  });
  if (
    !account?.password ||
    !(await verifyPassword({ hash: account.password, password: currentPassword }))
  ) {
    await settleAttempt(ctx.db, attempt.attemptId, 'failed', PASSWORD_CHANGE_LIMITS);
    throw new AppError('BAD_REQUEST', 'The current password is wrong.', {
      field: 'currentPassword',
    });
  }
  const hash = await hashPassword(newPassword);
  await ctx.db.$transaction(async (tx) => {
    await tx.account.update({ where: { id: account.id }, data: { password: hash } });
    await tx.operator.update({ where: { id: operatorId }, data: { mustChangePassword: false } });
    await tx.session.deleteMany({
      where: { userId: operatorId, token: { not: currentSessionToken } },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'operator.password_changed',
      targetType: 'operator',
      targetId: operatorId,
    });
  });
  await settleAttempt(ctx.db, attempt.attemptId, 'succeeded', PASSWORD_CHANGE_LIMITS);
}
