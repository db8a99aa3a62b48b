// The exact bytes a device signs to prove it holds its key. Both ends build the message with this
// function; nothing else is signed. The server's nonce is fresh per connection and used once, so a
// captured signature is worthless on any other connection.
import { PROTOCOL_VERSION } from './constants';

export type SignaturePurpose = 'enroll' | 'auth';

/**
 * UTF-8 of these four lines joined by "\n" (no trailing newline):
 *   eos-fleet-agent/v1
 *   <purpose: enroll | auth>
 *   <device id>
 *   <nonce, exactly as sent in the challenge frame>
 * Signed with Ed25519 (pure, no pre-hash); the signature travels as base64 (64 bytes).
 */
export function signedChallengeMessage(input: {
  purpose: SignaturePurpose;
  deviceId: string;
  nonce: string;
}): string {
  return [`eos-fleet-agent/${PROTOCOL_VERSION}`, input.purpose, input.deviceId, input.nonce].join(
    '\n',
  );
}
