// Changes to an operator by an admin: role, disabling, password reset. The fleet is never left
// without an enabled admin, and an operator cannot lock themselves out.
import { OPERATOR_ROLES } from '@eos-fleet/shared/domain';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { toOperatorView } from './create-operator';
import { CREDENTIAL_PROVIDER, generateOneTimePassword, hashPassword } from './passwords';

const operatorIdSchema = storableText(128).min(1);

type Tx = Parameters<Parameters<ServiceContext['db']['$transaction']>[0]>[0];

async function loadOperator(tx: Tx, operatorId: string) {
  const operator = await tx.operator.findUnique({ where: { id: operatorId } });
  if (!operator) throw new AppError('NOT_FOUND', 'No such operator.');
  return operator;
}

async function assertAnotherAdminRemains(tx: Tx, operatorId: string) {
  const admins = await tx.operator.count({
    where: { role: 'admin', disabled: false, id: { not: operatorId } },
  });
  if (admins === 0)
    throw new AppError(
      'PRECONDITION_FAILED',
      'This is the last enabled admin: make another admin first.',
    );
}

export const changeOperatorRoleInput = z.object({
  operatorId: operatorIdSchema,
  role: z.enum(OPERATOR_ROLES),
});

export async function changeOperatorRole(
  ctx: ServiceContext,
  input: z.input<typeof changeOperatorRoleInput>,
) {
  const { operatorId, role } = changeOperatorRoleInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const operator = await loadOperator(tx, operatorId);
    if (operator.role === role) return toOperatorView(operator);
    if (operator.role === 'admin') await assertAnotherAdminRemains(tx, operatorId);
    const updated = await tx.operator.update({ where: { id: operatorId }, data: { role } });
    await recordAuditEvent(ctx, tx, {
      action: 'operator.role_changed',
      targetType: 'operator',
      targetId: operatorId,
      data: { email: operator.email, from: operator.role, to: role },
    });
    return toOperatorView(updated);
  });
}

export const setOperatorDisabledInput = z.object({
  operatorId: operatorIdSchema,
  disabled: z.boolean(),
});

export async function setOperatorDisabled(
  ctx: ServiceContext,
  input: z.input<typeof setOperatorDisabledInput>,
) {
  const { operatorId, disabled } = setOperatorDisabledInput.parse(input);
  if (disabled && ctx.actor.type === 'operator' && ctx.actor.id === operatorId) {
    throw new AppError('PRECONDITION_FAILED', 'You cannot disable your own account.');
  }
  return ctx.db.$transaction(async (tx) => {
    const operator = await loadOperator(tx, operatorId);
    if (operator.disabled === disabled) return toOperatorView(operator);
    if (disabled && operator.role === 'admin') await assertAnotherAdminRemains(tx, operatorId);
    const updated = await tx.operator.update({ where: { id: operatorId }, data: { disabled } });
    // a disabled operator is signed out everywhere at once
    if (disabled) await tx.session.deleteMany({ where: { userId: operatorId } });
    await recordAuditEvent(ctx, tx, {
      action: disabled ? 'operator.disabled' : 'operator.enabled',
      targetType: 'operator',
      targetId: operatorId,
      data: { email: operator.email },
    });
    return toOperatorView(updated);
  });
}

export const resetOperatorPasswordInput = z.object({ operatorId: operatorIdSchema });

/** A new one-time password for an operator who lost theirs; all their sessions end. */
export async function resetOperatorPassword(
  ctx: ServiceContext,
  input: z.input<typeof resetOperatorPasswordInput>,
) {
  const { operatorId } = resetOperatorPasswordInput.parse(input);
  const oneTimePassword = generateOneTimePassword();
  const hash = await hashPassword(oneTimePassword);
  await ctx.db.$transaction(async (tx) => {
    const operator = await loadOperator(tx, operatorId);
    await tx.account.updateMany({
      where: { userId: operatorId, providerId: CREDENTIAL_PROVIDER },
      data: { password: hash },
    });
    await tx.operator.update({ where: { id: operatorId }, data: { mustChangePassword: true } });
    await tx.session.deleteMany({ where: { userId: operatorId } });
    await recordAuditEvent(ctx, tx, {
      action: 'operator.password_reset',
      targetType: 'operator',
      targetId: operatorId,
      data: { email: operator.email },
    });
  });
  return { oneTimePassword };
}

export async function listOperators(ctx: Pick<ServiceContext, 'db'>) {
  const operators = await ctx.db.operator.findMany({ orderBy: { createdAt: 'asc' } });
  return operators.map(toOperatorView);
}
