// Enrollment tokens: shown once at creation, stored as sha256 (a token is a long random secret,
// so a fast hash is enough and lets the gateway find it by hash). Optional expiry, use limit,
// labels to put on enrolled devices, and auto-accept.
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import { createEnrollmentTokenInput, labelsSchema, type Labels } from './enrollment-token-input';

export const TOKEN_PREFIX = 'eft_';

export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export { createEnrollmentTokenInput, labelsSchema, type Labels };

export async function createEnrollmentToken(
  ctx: ServiceContext,
  input: z.input<typeof createEnrollmentTokenInput>,
) {
  const { name, labels, autoAccept, expiresInHours, maxUses } =
    createEnrollmentTokenInput.parse(input);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const created = await ctx.db.$transaction(async (tx) => {
    const row = await tx.enrollmentToken.create({
      data: {
        name,
        tokenHash: hashEnrollmentToken(token),
        tokenPrefix: token.slice(0, TOKEN_PREFIX.length + 6),
        labels,
        autoAccept,
        expiresAt: expiresInHours ? new Date(Date.now() + expiresInHours * 3600_000) : null,
        maxUses: maxUses ?? null,
        createdById: ctx.actor.type === 'operator' ? ctx.actor.id : null,
      },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'enrollment_token.created',
      targetType: 'enrollment_token',
      targetId: row.id,
      data: {
        name,
        autoAccept,
        labels,
        maxUses: maxUses ?? null,
        expiresAt: row.expiresAt?.toISOString() ?? null,
      },
    });
    return row;
  });
  return { token, enrollmentToken: toTokenView(created) };
}

export async function revokeEnrollmentToken(ctx: ServiceContext, input: { tokenId: string }) {
  const { tokenId } = z.object({ tokenId: z.uuid() }).parse(input);
  return ctx.db.$transaction(async (tx) => {
    const row = await tx.enrollmentToken.findUnique({ where: { id: tokenId } });
    if (!row) throw new AppError('NOT_FOUND', 'No such enrollment token.');
    if (row.revokedAt) return toTokenView(row);
    const updated = await tx.enrollmentToken.update({
      where: { id: tokenId },
      data: { revokedAt: new Date() },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'enrollment_token.revoked',
      targetType: 'enrollment_token',
      targetId: tokenId,
      data: { name: row.name },
    });
    return toTokenView(updated);
  });
}

export async function listEnrollmentTokens(ctx: Pick<ServiceContext, 'db'>) {
  const rows = await ctx.db.enrollmentToken.findMany({ orderBy: { createdAt: 'desc' } });
  return rows.map(toTokenView);
}

type TokenRow = {
  id: string;
  name: string;
  tokenPrefix: string;
  labels: unknown;
  autoAccept: boolean;
  expiresAt: Date | null;
  maxUses: number | null;
  uses: number;
  revokedAt: Date | null;
  createdAt: Date;
};

export function tokenUsability(
  row: Pick<TokenRow, 'revokedAt' | 'expiresAt' | 'maxUses' | 'uses'>,
  now = new Date(),
) {
  if (row.revokedAt) return 'revoked' as const;
  if (row.expiresAt && row.expiresAt <= now) return 'expired' as const;
  if (row.maxUses !== null && row.uses >= row.maxUses) return 'used_up' as const;
  return 'active' as const;
}

function toTokenView(row: TokenRow) {
  return {
    id: row.id,
    name: row.name,
    tokenPrefix: row.tokenPrefix,
    labels: row.labels as Labels,
    autoAccept: row.autoAccept,
    expiresAt: row.expiresAt,
    maxUses: row.maxUses,
    uses: row.uses,
    revokedAt: row.revokedAt,
    createdAt: row.createdAt,
    state: tokenUsability(row),
  };
}
