// A presented `Authorization: Bearer eosf_…`: found by its public id, its secret compared by hash
// in constant time (an unknown id still hashes and compares, against a dummy), then checked for
// revocation, expiry and a disabled creator. The role it acts with is the lesser of its own and
// its creator's current role. Last use is written at most once a minute per token, so a script
// calling every second does not write a row every second.
import type { Db } from '@eos-fleet/db';
import type { OperatorRole } from '@eos-fleet/shared/domain';
import { parseApiToken, secretMatches } from './api-token-secret';
import { lesserRole } from './role-rank';

export const LAST_USED_RESOLUTION_MS = 60_000;
const DUMMY_HASH = '0'.repeat(64);

export interface ApiTokenPrincipal {
  id: string;
  name: string;
  role: OperatorRole;
  createdById: string;
}

export type ApiTokenVerdict =
  | { ok: true; principal: ApiTokenPrincipal }
  /** `guess`: nothing proves the caller ever held this token (counted by the throttle) */
  | { ok: false; guess: boolean; tokenId: string | null; reason: string };

export async function authenticateApiToken(
  db: Db,
  presented: string,
  clientAddress: string,
  now = new Date(),
): Promise<ApiTokenVerdict> {
  const parsed = parseApiToken(presented);
  if (!parsed)
    return {
      ok: false,
      guess: true,
      tokenId: null,
      reason: 'The bearer token is not an EOS Fleet API token (eosf_<id>_<secret>).',
    };
  const row = await db.apiToken.findUnique({
    where: { id: parsed.id },
    include: { createdBy: { select: { role: true, disabled: true } } },
  });
  const matches = secretMatches(parsed.secret, row?.secretHash ?? DUMMY_HASH);
  if (!row || !matches)
    return { ok: false, guess: true, tokenId: parsed.id, reason: 'This API token is not valid.' };
  if (row.revokedAt)
    return { ok: false, guess: false, tokenId: row.id, reason: 'This API token was revoked.' };
  if (row.expiresAt.getTime() <= now.getTime())
    return {
      ok: false,
      guess: false,
      tokenId: row.id,
      reason: `This API token expired at ${row.expiresAt.toISOString()}.`,
    };
  if (row.createdBy.disabled)
    return {
      ok: false,
      guess: false,
      tokenId: row.id,
      reason: 'The operator who made this API token is disabled.',
    };
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
    // conditional, so concurrent calls of one token write once
    await db.apiToken.updateMany({
      where: {
        id: row.id,
        OR: [
          { lastUsedAt: null },
          { lastUsedAt: { lte: new Date(now.getTime() - LAST_USED_RESOLUTION_MS) } },
        ],
      },
      data: { lastUsedAt: now, lastUsedIp: clientAddress },
    });
  }
  return {
    ok: true,
    principal: {
      id: row.id,
      name: row.name,
      role: lesserRole(row.role, row.createdBy.role),
      createdById: row.createdById,
    },
  };
}
