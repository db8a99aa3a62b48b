import { randomUUID } from 'node:crypto';
import { OPERATOR_ROLES } from '@eos-fleet/shared/domain';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import {
  CREDENTIAL_PROVIDER,
  generateOneTimePassword,
  hashPassword,
  passwordSchema,
} from './passwords';

export const createOperatorInput = z.object({
  email: z
    .email()
    .max(254)
    .transform((email) => email.toLowerCase()),
  name: storableText(100).trim().min(1, 'required'),
  role: z.enum(OPERATOR_ROLES),
  /** omitted: a one-time password is generated and must be changed at first sign-in */
  password: passwordSchema.optional(),
});
export type CreateOperatorInput = z.input<typeof createOperatorInput>;

export async function createOperator(ctx: ServiceContext, input: CreateOperatorInput) {
  const { email, name, role, password } = createOperatorInput.parse(input);
  const oneTimePassword = password ? undefined : generateOneTimePassword();
  const passwordHash = await hashPassword(password ?? oneTimePassword ?? '');
  const existing = await ctx.db.operator.findUnique({ where: { email }, select: { id: true } });
  if (existing)
    throw new AppError('CONFLICT', `An operator with the email ${email} already exists.`);
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
