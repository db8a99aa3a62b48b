// The device's identity: an Ed25519 key pair and a device id minted on first start and kept in
// the state directory for the device's life. The private key never leaves this file.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  type KeyObject,
} from 'node:crypto';
import { signedChallengeMessage, type SignaturePurpose } from '@eos-fleet/shared/protocol/index';
import { ed25519RawPublicKeyBase64 } from '@eos-fleet/shared/protocol/ed25519';
import { z } from 'zod';
import { type Clock } from './clock';
import { type StateStore } from './state-store';

const IDENTITY_FILE = 'identity.json';

const identityFileSchema = z.object({
  version: z.literal(1),
  deviceId: z.uuid(),
  /** PKCS#8 DER, base64. */
  privateKey: z.base64(),
  createdAt: z.string(),
  /** Set once the server answered an enroll with pending or welcome; later connections use auth. */
  enrolledAt: z.string().nullable(),
});
type IdentityFile = z.infer<typeof identityFileSchema>;

export class Identity {
  private constructor(
    private readonly store: StateStore,
    private file: IdentityFile,
    private readonly privateKey: KeyObject,
    /** Raw 32-byte Ed25519 public key, base64. */
    readonly publicKey: string,
  ) {}

  static async loadOrCreate(store: StateStore, clock: Clock): Promise<Identity> {
    const existing = await store.readJson(IDENTITY_FILE, identityFileSchema);
    if (existing) {
      const privateKey = createPrivateKey({
        key: Buffer.from(existing.privateKey, 'base64'),
        format: 'der',
        type: 'pkcs8',
      });
      return new Identity(
        store,
        existing,
        privateKey,
        ed25519RawPublicKeyBase64(createPublicKey(privateKey)),
      );
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const file: IdentityFile = {
      version: 1,
      deviceId: randomUUID(),
      privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
      createdAt: clock.now().toISOString(),
      enrolledAt: null,
    };
    await store.writeJson(IDENTITY_FILE, file);
    return new Identity(store, file, privateKey, ed25519RawPublicKeyBase64(publicKey));
  }

  get deviceId(): string {
    return this.file.deviceId;
  }

  get enrolled(): boolean {
    return this.file.enrolledAt !== null;
  }

  /** Base64 Ed25519 signature over the protocol's canonical challenge message. */
  signChallenge(purpose: SignaturePurpose, nonce: string): string {
    const message = Buffer.from(
      signedChallengeMessage({ purpose, deviceId: this.deviceId, nonce }),
      'utf8',
    );
    return sign(null, message, this.privateKey).toString('base64');
  }

  async markEnrolled(clock: Clock): Promise<void> {
    if (this.enrolled) return;
    const next = { ...this.file, enrolledAt: clock.now().toISOString() };
    await this.store.writeJson(IDENTITY_FILE, next);
    this.file = next;
  }
}
