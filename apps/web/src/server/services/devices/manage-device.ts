// Operator decisions about a device: accept, reject, decommission, rename, label. Each writes one
// audit event and tells every gateway process (accept opens the pending session; reject and
// decommission close the socket at once).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { recordAuditEvent } from '../audit/record-audit-event';
import type { ServiceContext } from '../context';
import { labelsSchema } from '../enrollment/enrollment-tokens';
import { cancelForDecommission } from '../commands/command-lifecycle';
import { AppError } from '../errors';
import { publishFleetEvent } from '../events/fleet-events';
import { resolveDeviceVersions } from '../catalog/resolve-device-versions';
import type { OsRelease } from '@eos-fleet/shared/protocol/index';
import { deviceSlots } from './device-slots';
import { isOnline, versionFields } from './list-devices';

const deviceIdInput = z.object({ deviceId: z.uuid() });

async function load(
  tx: Parameters<Parameters<ServiceContext['db']['$transaction']>[0]>[0],
  deviceId: string,
) {
  const device = await tx.device.findUnique({ where: { id: deviceId } });
  if (!device) throw new AppError('NOT_FOUND', 'No such device.');
  return device;
}

export async function acceptDevice(ctx: ServiceContext, input: z.input<typeof deviceIdInput>) {
  const { deviceId } = deviceIdInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const device = await load(tx, deviceId);
    if (device.status === 'accepted') return { id: deviceId, status: device.status };
    if (device.status !== 'pending')
      throw new AppError('PRECONDITION_FAILED', `A ${device.status} device cannot be accepted.`);
    await tx.device.update({
      where: { id: deviceId },
      data: { status: 'accepted', acceptedAt: new Date() },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'device.accepted',
      targetType: 'device',
      targetId: deviceId,
      data: { name: device.name },
    });
    await publishFleetEvent(tx, { type: 'device.accepted', deviceId });
    return { id: deviceId, status: 'accepted' as const };
  });
}

export async function rejectDevice(ctx: ServiceContext, input: z.input<typeof deviceIdInput>) {
  const { deviceId } = deviceIdInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const device = await load(tx, deviceId);
    if (device.status === 'rejected') return { id: deviceId, status: device.status };
    if (device.status !== 'pending')
      throw new AppError(
        'PRECONDITION_FAILED',
        `Only a pending device can be rejected; decommission an ${device.status} one.`,
      );
    await tx.device.update({ where: { id: deviceId }, data: { status: 'rejected' } });
    await recordAuditEvent(ctx, tx, {
      action: 'device.rejected',
      targetType: 'device',
      targetId: deviceId,
      data: { name: device.name },
    });
    await publishFleetEvent(tx, { type: 'device.revoked', deviceId, reason: 'rejected' });
    return { id: deviceId, status: 'rejected' as const };
  });
}

export async function decommissionDevice(
  ctx: ServiceContext,
  input: z.input<typeof deviceIdInput>,
) {
  const { deviceId } = deviceIdInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const device = await load(tx, deviceId);
    if (device.status === 'decommissioned') return { id: deviceId, status: device.status };
    await tx.device.update({
      where: { id: deviceId },
      data: { status: 'decommissioned', decommissionedAt: new Date() },
    });
    // it is refused from now on: nothing it was to run will report (each with its event)
    const cancelledCommands = await cancelForDecommission(tx, deviceId);
    await recordAuditEvent(ctx, tx, {
      action: 'device.decommissioned',
      targetType: 'device',
      targetId: deviceId,
      data: { name: device.name, cancelledCommands },
    });
    await publishFleetEvent(tx, { type: 'device.revoked', deviceId, reason: 'decommissioned' });
    return { id: deviceId, status: 'decommissioned' as const };
  });
}

export const updateDeviceInput = z.object({
  deviceId: z.uuid(),
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._ -]+$/, 'letters, digits, space . _ -')
    .optional(),
  labels: labelsSchema.optional(),
});

export async function updateDevice(ctx: ServiceContext, input: z.input<typeof updateDeviceInput>) {
  const { deviceId, name, labels } = updateDeviceInput.parse(input);
  return ctx.db.$transaction(async (tx) => {
    const device = await load(tx, deviceId);
    await tx.device.update({
      where: { id: deviceId },
      data: { ...(name ? { name } : {}), ...(labels ? { labels } : {}) },
    });
    await recordAuditEvent(ctx, tx, {
      action: 'device.updated',
      targetType: 'device',
      targetId: deviceId,
      data: {
        ...(name && name !== device.name ? { name: { from: device.name, to: name } } : {}),
        ...(labels ? { labels } : {}),
      },
    });
    return { id: deviceId };
  });
}

export async function getDevice(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof deviceIdInput>,
) {
  const { deviceId } = deviceIdInput.parse(input);
  const device = await ctx.db.device.findUnique({
    where: { id: deviceId },
    include: { presence: true, enrollmentToken: { select: { name: true } } },
  });
  if (!device) throw new AppError('NOT_FOUND', 'No such device.');
  const [versions, slots] = await Promise.all([
    resolveDeviceVersions(ctx, [device]),
    deviceSlots(ctx, device),
  ]);
  return {
    ...versionFields(versions.get(device.id)),
    id: device.id,
    name: device.name,
    status: device.status,
    publicKeyFingerprint: publicKeyFingerprint(device.publicKey),
    labels: device.labels as Record<string, string>,
    online: isOnline(device.presence),
    lastSeenAt: device.presence?.lastSeenAt ?? device.lastSeenAt,
    connectedAt: device.presence?.connectedAt ?? null,
    rootPrefixHash: device.rootPrefixHash,
    activeSlot: device.activeSlot,
    /** each A/B slot: what it holds when known, and how we know */
    slots,
    slotSize: device.slotSize === null ? null : Number(device.slotSize),
    imageName: device.imageName,
    arch: device.arch,
    profile: device.profile,
    osRelease: device.osRelease as OsRelease | null,
    bootId: device.bootId,
    commitPending: device.commitPending,
    flakes: device.flakes as {
      engine: string;
      name: string;
      appPath: string | null;
      target: string | null;
    }[],
    stateDiskFree: device.stateDiskFree === null ? null : Number(device.stateDiskFree),
    agentVersion: device.agentVersion,
    updateServer: (device.facts as { updateServer?: string | null }).updateServer ?? null,
    enrolledWith: device.enrollmentToken?.name ?? null,
    createdAt: device.createdAt,
    acceptedAt: device.acceptedAt,
    inventoryAt: device.inventoryAt,
  };
}

/** `SHA256:` and the unpadded base64 of sha256 over the raw 32-byte Ed25519 key. */
export function publicKeyFingerprint(publicKeyBase64: string): string {
  const digest = createHash('sha256').update(Buffer.from(publicKeyBase64, 'base64')).digest();
  return `SHA256:${digest.toString('base64').replace(/=+$/, '')}`;
}
