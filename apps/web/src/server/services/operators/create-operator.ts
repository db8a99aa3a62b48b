import { randomUUID } from 'node:crypto';
import { type OPERATOR_ROLES } from '@eos-fleet/shared/domain';
import { type z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { CREDENTIAL_PROVIDER, generateOneTimePassword, hashPassword } from './passwords';
import { createOperatorInput } from './operator-inputs';

export { createOperatorInput };
export type CreateOperatorInput = z.input<typeof createOperatorInput>;

export async function createOperator(ctx: ServiceContext, input: CreateOperatorInput) {
  const { email, name, role, password } = createOperatorInput.parse(input);
  const oneTimePassword = password ? undefined : generateOneTimePassword();
  const passwordHash = await hashPassword(password ?? oneTimePassword ?? '');
  const existing = await ctx.db.operator.findUnique({ where: { email }, select: { id: true } });
  if (existing)
    throw new AppError('CONFLICT', `An operator with the email ${email} already exists.`, {
      field: 'email',
    });
  const id = randomUUID();
  const operator = await ctx.db.$transaction(async (tx) => {
    const created = await tx.operator.create({
      data: {
        id,
        email,
        name,
        role,
        emailVerified: true,
        mustChangePassword: !password,
        accounts: {
          // better-auth keys credential accounts by the user id
          create: {
            id: randomUUID(),
            accountId: id,
            providerId: CREDENTIAL_PROVIDER,
            password: passwordHash,
          },
        },
      },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'operator.created',
      targetType: 'operator',
      targetId: created.id,
      data: { email, role },
    });
    return created;
  });
  return { operator: toOperatorView(operator), oneTimePassword };
}

export function toOperatorView(operator: {
  id: string;
  email: string;
  name: string;
  role: (typeof OPERATOR_ROLES)[number];
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: Date;
}) {
  return {
    id: operator.id,
    email: operator.email,
    name: operator.name,
    role: operator.role,
    disabled: operator.disabled,
    mustChangePassword: operator.mustChangePassword,
    createdAt: operator.createdAt,
  };
}
export type OperatorView = ReturnType<typeof toOperatorView>;
