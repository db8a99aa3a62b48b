import { DEVICE_STATUSES } from '@eos-fleet/shared/domain';
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import {
  resolveDeviceVersions,
  type DeviceVersionResolution,
} from '../catalog/resolve-device-versions';
import { likeLiteral } from '../like-pattern';

/** A presence row not refreshed for this long belongs to a gateway that died without saying so. */
export const PRESENCE_STALE_MS = 60_000;

export function isOnline(
  presence: { online: boolean; lastSeenAt: Date } | null | undefined,
  now = Date.now(),
): boolean {
  return Boolean(presence?.online && now - presence.lastSeenAt.getTime() < PRESENCE_STALE_MS);
}

export const listDevicesInput = z.object({
  status: z.enum(DEVICE_STATUSES).optional(),
  search: storableText(100).trim().optional(),
  limit: z.number().int().min(1).max(500).default(100),
});

export async function listDevices(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof listDevicesInput>,
) {
  const query = listDevicesInput.parse(input);
  const devices = await ctx.db.device.findMany({
    where: {
      ...(query.status ? { status: query.status } : { status: { not: 'decommissioned' } }),
      ...(query.search
        ? { name: { contains: likeLiteral(query.search), mode: 'insensitive' } }
        : {}),
    },
    include: { presence: true },
    orderBy: { createdAt: 'desc' },
    take: query.limit,
  });
  const versions = await resolveDeviceVersions(ctx, devices);
  return devices.map((device) => ({
    ...versionFields(versions.get(device.id)),
    id: device.id,
    name: device.name,
    status: device.status,
    online: isOnline(device.presence),
    lastSeenAt: device.presence?.lastSeenAt ?? device.lastSeenAt,
    imageName: device.imageName,
    rootPrefixHash: device.rootPrefixHash,
    activeSlot: device.activeSlot,
    agentVersion: device.agentVersion,
    labels: device.labels as Record<string, string>,
  }));
}

/** A device's resolved version and update server, as the list and the device page show them. */
export function versionFields(resolution: DeviceVersionResolution | undefined) {
  return {
    runningVersion: resolution?.runningVersion ?? null,
    recommendedVersion: resolution?.recommendedVersion ?? null,
    outOfDate: resolution?.outOfDate ?? false,
    configuredUpdateServer: resolution?.configuredServer ?? null,
    registeredUpdateServer: resolution?.updateServer ?? null,
    updateServerProblem: resolution?.updateServerProblem ?? null,
  };
}
