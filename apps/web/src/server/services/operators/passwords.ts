// Operator passwords: better-auth's scrypt hashes, so its sign-in verifies what we store here.
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from 'better-auth/crypto';

export { MIN_PASSWORD_LENGTH, passwordSchema } from './operator-inputs';

/** better-auth's provider id for email + password accounts */
export const CREDENTIAL_PROVIDER = 'credential';

/** A password to hand over once: ~120 bits, no ambiguous characters. */
export function generateOneTimePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join('');
}

export { hashPassword, verifyPassword };
