// Devices by id, as a list names them (a rollout's device list, picked in the form or handed over
// in its address by the Devices table): who each id is, so a page shows names, never bare ids.
// An id of no device is absent from the answer (the page says so); a decommissioned device is
// present with its status, since a list can still name it while a rollout leaves it out.
import { MAX_DEVICE_PAGE_SIZE } from '@eos-fleet/shared/device-filter';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { isOnline } from './list-devices';

/** as many ids as a page of the Devices table has rows: one call costs no more than a page */
export const devicesByIdInput = z.object({
  ids: z.array(z.uuid()).min(1).max(MAX_DEVICE_PAGE_SIZE),
});

export async function devicesById(
  ctx: Pick<ServiceContext, 'db'>,
  input: z.input<typeof devicesByIdInput>,
) {
  const { ids } = devicesByIdInput.parse(input);
  const devices = await ctx.db.device.findMany({
    where: { id: { in: ids } },
    select: {
      id: true,
      name: true,
      status: true,
      imageName: true,
      presence: { select: { online: true, lastSeenAt: true } },
    },
  });
  return devices.map((device) => ({
    id: device.id,
    name: device.name,
    status: device.status,
    imageName: device.imageName,
    online: isOnline(device.presence),
  }));
}
