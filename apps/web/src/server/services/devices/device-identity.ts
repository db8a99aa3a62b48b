// How a device proves who it is on a gateway connection: enrolment with a token (first time) or a
// signature over the connection's fresh nonce (every time after). The gateway calls these; they
// decide, write what follows (device row, token use, audit) and say what to answer.
import type { Inventory } from '@eos-fleet/shared/protocol/index';
import {
  ed25519PublicKeyFromBase64,
  ed25519RawPublicKeyBase64,
  verifyChallengeSignature,
} from '@eos-fleet/shared/protocol/ed25519';
import type { DeviceStatus } from '@eos-fleet/shared/domain';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { Actor, ServiceContext } from '../context';
import { hashEnrollmentToken, tokenUsability } from '../enrollment/enrollment-tokens';
import { inventoryColumns } from './inventory-columns';

export type IdentityVerdict =
  | {
      ok: true;
      deviceId: string;
      status: Extract<DeviceStatus, 'pending' | 'accepted'>;
      name: string;
    }
  | {
      ok: false;
      reason:
        'auth_failed' | 'rejected' | 'decommissioned' | 'enrollment_refused' | 'device_id_conflict';
      message: string;
    };

export function deviceActor(deviceId: string, name: string): Actor {
  return { type: 'device', id: deviceId, label: name };
}

function refusedStatus(status: DeviceStatus): IdentityVerdict | null {
  if (status === 'rejected')
    return { ok: false, reason: 'rejected', message: 'This device was rejected by an operator.' };
  if (status === 'decommissioned')
    return { ok: false, reason: 'decommissioned', message: 'This device was decommissioned.' };
  return null;
}

export async function authenticateDevice(
  ctx: Pick<ServiceContext, 'db'>,
  input: { deviceId: string; nonce: string; signature: string },
): Promise<IdentityVerdict> {
  const device = await ctx.db.device.findUnique({
    where: { id: input.deviceId },
    select: { id: true, name: true, status: true, publicKey: true },
  });
  const publicKey = device ? ed25519PublicKeyFromBase64(device.publicKey) : null;
  if (
    !device ||
    !publicKey ||
    !verifyChallengeSignature({
      publicKey,
      purpose: 'auth',
      deviceId: input.deviceId,
      nonce: input.nonce,
      signature: input.signature,
    })
  ) {
    return { ok: false, reason: 'auth_failed', message: 'Unknown device or bad signature.' };
  }
  const refused = refusedStatus(device.status);
  if (refused) return refused;
  return {
    ok: true,
    deviceId: device.id,
    status: device.status as 'pending' | 'accepted',
    name: device.name,
  };
}

export async function enrollDevice(
  ctx: Pick<ServiceContext, 'db' | 'ipAddress'>,
  input: {
    deviceId: string;
    nonce: string;
    signature: string;
    publicKey: string;
    enrollmentToken: string;
    agentVersion: string;
    facts: Inventory;
  },
): Promise<IdentityVerdict> {
  const key = ed25519PublicKeyFromBase64(input.publicKey);
  if (
    !key ||
    !verifyChallengeSignature({
      publicKey: key,
      purpose: 'enroll',
      deviceId: input.deviceId,
      nonce: input.nonce,
      signature: input.signature,
    })
  ) {
    return {
      ok: false,
      reason: 'auth_failed',
      message: 'The enrolment signature does not verify with the presented key.',
    };
  }
  const publicKey = ed25519RawPublicKeyBase64(key);

  const existing = await ctx.db.device.findUnique({
    where: { id: input.deviceId },
    select: { id: true, name: true, status: true, publicKey: true },
  });
  if (existing) {
    // enrolling again with the same identity (an agent that lost its "enrolled" mark) is idempotent
    if (existing.publicKey !== publicKey) {
      return {
        ok: false,
        reason: 'device_id_conflict',
        message: 'Another key is enrolled under this device id.',
      };
    }
    return (
      refusedStatus(existing.status) ?? {
        ok: true,
        deviceId: existing.id,
        status: existing.status as 'pending' | 'accepted',
        name: existing.name,
      }
    );
  }
  const keyTaken = await ctx.db.device.findUnique({ where: { publicKey }, select: { id: true } });
  if (keyTaken)
    return {
      ok: false,
      reason: 'device_id_conflict',
      message: 'This key is enrolled under another device id.',
    };

  const token = await ctx.db.enrollmentToken.findUnique({
    where: { tokenHash: hashEnrollmentToken(input.enrollmentToken) },
  });
  if (!token || tokenUsability(token) !== 'active') {
    return {
      ok: false,
      reason: 'enrollment_refused',
      message: token
        ? `The enrollment token is ${tokenUsability(token).replace('_', ' ')}.`
        : 'Unknown enrollment token.',
    };
  }

  const name = `eos-${input.deviceId.slice(0, 8)}`;
  const status = token.autoAccept ? 'accepted' : 'pending';
  const actor = deviceActor(input.deviceId, name);
  return ctx.db.$transaction(
    async (tx) => {
      // count the use only while the token still has one: two devices racing for the last use
      // cannot both get it
      const claimed = await tx.enrollmentToken.updateMany({
        where: {
          id: token.id,
          revokedAt: null,
          ...(token.maxUses !== null ? { uses: { lt: token.maxUses } } : {}),
        },
        data: { uses: { increment: 1 } },
      });
      if (claimed.count === 0) {
        return {
          ok: false,
          reason: 'enrollment_refused',
          message: 'The enrollment token is used up.',
        } as const;
      }
      await tx.device.create({
        data: {
          id: input.deviceId,
          name,
          status,
          publicKey,
          labels: token.labels ?? {},
          facts: JSON.parse(JSON.stringify(input.facts)) as object,
          enrollmentTokenId: token.id,
          acceptedAt: token.autoAccept ? new Date() : null,
          ...inventoryColumns(input.facts),
          agentVersion: input.agentVersion,
          lastSeenAt: new Date(),
        },
      });
      await recordAuditEvent({ actor, ipAddress: ctx.ipAddress }, tx, {
        action: 'device.enrolled',
        targetType: 'device',
        targetId: input.deviceId,
        data: {
          token: token.name,
          status,
          imageName: input.facts.imageName,
          rootPrefixHash: input.facts.rootPrefixHash,
        },
      });
      return { ok: true, deviceId: input.deviceId, status, name } as const;
    },
    // a fleet enrolling at once queues on the token row and the pool: wait rather than refuse
    { maxWait: 15_000, timeout: 20_000 },
  );
}
