// Ed25519 helpers for both ends (node:crypto only). Not re-exported from the package index so
// that browser bundles importing `@eos-fleet/shared` never pull in node:crypto; import it as
// `@eos-fleet/shared/protocol/ed25519`.
import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { signedChallengeMessage, type SignaturePurpose } from './signing';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows it. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Accepts the raw 32-byte key or its SPKI DER (44 bytes), base64. Null when it is neither. */
export function ed25519PublicKeyFromBase64(base64: string): KeyObject | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return null;
  const bytes = Buffer.from(base64, 'base64');
  let der: Buffer;
  if (bytes.length === 32) der = Buffer.concat([SPKI_PREFIX, bytes]);
  else if (bytes.length === 44 && bytes.subarray(0, 12).equals(SPKI_PREFIX)) der = bytes;
  else return null;
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return null;
  }
}

/** The raw 32-byte public key, base64: the canonical form to store and compare. */
export function ed25519RawPublicKeyBase64(key: KeyObject): string {
  const der = key.export({ format: 'der', type: 'spki' });
  return der.subarray(SPKI_PREFIX.length).toString('base64');
}

export function verifyChallengeSignature(input: {
  publicKey: KeyObject;
  purpose: SignaturePurpose;
  deviceId: string;
  nonce: string;
  signature: string;
}): boolean {
  const signature = Buffer.from(input.signature, 'base64');
  if (signature.length !== 64) return false;
  const message = Buffer.from(signedChallengeMessage(input), 'utf8');
  try {
    return verify(null, message, input.publicKey, signature);
  } catch {
    return false;
  }
}

/** A fresh challenge nonce for one connection: 32 random bytes, base64. */
export function createChallengeNonce(): string {
  return randomBytes(32).toString('base64');
}
