import { DEVICE_STATUSES } from '@eos-fleet/shared/domain';
import { z } from 'zod';
import type { ServiceContext } from '../context';

export const listDevicesInput = z.object({
  status: z.enum(DEVICE_STATUSES).optional(),
  search: z.string().trim().max(100).optional(),
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
      ...(query.search ? { name: { contains: query.search, mode: 'insensitive' } } : {}),
    },
    include: { presence: true },
    orderBy: { createdAt: 'desc' },
    take: query.limit,
  });
  return devices.map((device) => ({
    id: device.id,
    name: device.name,
    status: device.status,
    online: device.presence?.online ?? false,
    lastSeenAt: device.presence?.lastSeenAt ?? device.lastSeenAt,
    imageName: device.imageName,
    rootPrefixHash: device.rootPrefixHash,
    activeSlot: device.activeSlot,
    agentVersion: device.agentVersion,
  }));
}
