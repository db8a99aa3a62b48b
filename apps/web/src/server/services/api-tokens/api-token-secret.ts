// The API token's wire format, `eosf_<id>_<secret>`: a public id (16 hex digits) to find the row
// by primary key, and 32 random bytes in base64url as the secret. Only sha256(secret) is stored:
// the secret is 256 bits of randomness, so a fast hash cannot be brute-forced and a slow one
// (scrypt) would only cost CPU on every API call; the same reasoning as enrollment tokens.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_TOKEN_PREFIX = 'eosf_';
const TOKEN_PATTERN = /^eosf_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface MintedApiToken {
  id: string;
  secretHash: string;
  /** the whole token, shown once */
  token: string;
}

export function hashApiTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function mintApiToken(): MintedApiToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return {
    id,
    secretHash: hashApiTokenSecret(secret),
    token: `${API_TOKEN_PREFIX}${id}_${secret}`,
  };
}

/** The id and secret of a presented token, or null when it is not in our format at all. */
export function parseApiToken(token: string): { id: string; secret: string } | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match?.[1] || !match[2]) return null;
  return { id: match[1], secret: match[2] };
}

/** Whether `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(hashApiTokenSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** What the UI shows to recognise a token: its public part. */
export function apiTokenDisplayPrefix(id: string): string {
  return `${API_TOKEN_PREFIX}${id}_…`;
}
