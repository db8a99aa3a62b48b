// API tokens for automation, made by a signed-in operator: a name, a role no higher than the
// creator's own, and a required expiry (at most a year). The token is in the create answer only.
// Everyone sees and revokes their own tokens; admins see and revoke everyone's.
import type { OperatorRole } from '@eos-fleet/shared/domain';
import type { z } from 'zod';
import { can } from '../../api/permissions';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { Actor, ServiceContext } from '../context';
import { AppError } from '../errors';
import { createApiTokenInput, revokeApiTokenInput } from './api-token-input';
import { apiTokenDisplayPrefix, mintApiToken } from './api-token-secret';
import { roleAtMost } from './role-rank';

const DAY_MS = 24 * 3600_000;

type OperatorActor = Extract<Actor, { type: 'operator' }>;

function operatorActor(ctx: ServiceContext): OperatorActor {
  if (ctx.actor.type !== 'operator')
    throw new AppError('FORBIDDEN', 'Only a signed-in operator manages API tokens.');
  return ctx.actor;
}

export async function createApiToken(
  ctx: ServiceContext,
  input: z.input<typeof createApiTokenInput>,
) {
  const actor = operatorActor(ctx);
  const { name, role, expiresInDays } = createApiTokenInput.parse(input);
  if (!roleAtMost(role, actor.role))
    throw new AppError(
      'FORBIDDEN',
      `Your role (${actor.role}) may not make a token with the role ${role}.`,
    );
  const minted = mintApiToken();
  const expiresAt = new Date(Date.now() + expiresInDays * DAY_MS);
  const row = await ctx.db.$transaction(async (tx) => {
    const created = await tx.apiToken.create({
      data: {
        id: minted.id,
        name,
        role,
        secretHash: minted.secretHash,
        createdById: actor.id,
        expiresAt,
      },
      include: { createdBy: { select: { email: true, name: true } } },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'api_token.created',
      targetType: 'api_token',
      targetId: created.id,
      data: { name, role, expiresAt: expiresAt.toISOString() },
    });
    return created;
  });
  return { token: minted.token, apiToken: toApiTokenView(row) };
}

export async function revokeApiToken(
  ctx: ServiceContext,
  input: z.input<typeof revokeApiTokenInput>,
) {
  const actor = operatorActor(ctx);
  const { tokenId } = revokeApiTokenInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const row = await tx.apiToken.findUnique({
      where: { id: tokenId },
      include: { createdBy: { select: { email: true, name: true } } },
    });
    // someone else's token is "no such token" to a non-admin: ids are not theirs to probe
    if (!row || (row.createdById !== actor.id && !can(actor.role, 'apiToken.manage')))
      throw new AppError('NOT_FOUND', 'No such API token.');
    if (row.revokedAt) return toApiTokenView(row);
    const updated = await tx.apiToken.update({
      where: { id: tokenId },
      data: { revokedAt: new Date() },
      include: { createdBy: { select: { email: true, name: true } } },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'api_token.revoked',
      targetType: 'api_token',
      targetId: tokenId,
      data: { name: row.name, role: row.role, createdBy: row.createdBy.email },
    });
    return toApiTokenView(updated);
  });
}

export async function listApiTokens(ctx: ServiceContext) {
  const actor = operatorActor(ctx);
  const rows = await ctx.db.apiToken.findMany({
    where: can(actor.role, 'apiToken.manage') ? {} : { createdById: actor.id },
    orderBy: { createdAt: 'desc' },
    include: { createdBy: { select: { email: true, name: true } } },
  });
  return rows.map(toApiTokenView);
}

export type ApiTokenStatus = 'active' | 'expired' | 'revoked';

function toApiTokenView(row: {
  id: string;
  name: string;
  role: OperatorRole;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  createdBy: { email: string; name: string };
}) {
  const status: ApiTokenStatus = row.revokedAt
    ? 'revoked'
    : row.expiresAt.getTime() <= Date.now()
      ? 'expired'
      : 'active';
  return {
    id: row.id,
    name: row.name,
    prefix: apiTokenDisplayPrefix(row.id),
    role: row.role,
    status,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
    lastUsedIp: row.lastUsedIp,
    createdBy: row.createdBy,
  };
}
export type ApiTokenView = ReturnType<typeof toApiTokenView>;
