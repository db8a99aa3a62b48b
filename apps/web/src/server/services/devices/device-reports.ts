// What the gateways write about devices, in bulk: presence (online, last seen) for every
// connected device and the latest inventory of those that reported one. One flush is at most two
// statements whatever the number of devices, so PostgreSQL sees statements per second, not per
// heartbeat.
import type { Inventory } from '@eos-fleet/shared/protocol/index';
import type { ServiceContext } from '../context';
import { noteChange, noteDevicesChanged } from '../events/change-notices';
import { wakeRolloutsOfDevices } from '../rollouts/rollout-wake';
import { inventoryColumns } from './inventory-columns';

type Db = ServiceContext['db'];

/** How stale last-seen may be in the table (well under PRESENCE_STALE_MS, list-devices.ts). */
export const LAST_SEEN_RESOLUTION_SECONDS = 20;

export interface PresenceUpdate {
  deviceId: string;
  online: boolean;
  lastSeenAt: Date;
  /** set when this update is a (re)connection */
  connectedAt?: Date;
}

export async function flushPresence(
  db: Db,
  gatewayId: string,
  updates: PresenceUpdate[],
): Promise<void> {
  if (!updates.length) return;
  const ids = updates.map((update) => update.deviceId);
  const online = updates.map((update) => update.online);
  const seen = updates.map((update) => update.lastSeenAt);
  const connected = updates.map((update) => update.connectedAt ?? null);
  // a device that went offline here may already be online on another gateway: only the holder
  // (or nobody) may mark it offline
  await db.$executeRaw`
    insert into device_presence ("deviceId", online, "gatewayId", "connectedAt", "lastSeenAt")
    select u.id, u.online, ${gatewayId}, u.connected, u.seen
    from unnest(${ids}::uuid[], ${online}::boolean[], ${seen}::timestamptz[], ${connected}::timestamptz[]) as u(id, online, seen, connected)
    join device d on d.id = u.id
    on conflict ("deviceId") do update set
      online = excluded.online,
      "gatewayId" = excluded."gatewayId",
      "connectedAt" = coalesce(excluded."connectedAt", device_presence."connectedAt"),
      "lastSeenAt" = greatest(excluded."lastSeenAt", device_presence."lastSeenAt")
    where (excluded.online or device_presence."gatewayId" is null or device_presence."gatewayId" = ${gatewayId})
      -- a heartbeat that changes nothing but the time is written at most every LAST_SEEN_RESOLUTION:
      -- thousands of devices then cost a few row writes a second, not one per device per ping
      and (excluded.online is distinct from device_presence.online
        or excluded."gatewayId" is distinct from device_presence."gatewayId"
        or excluded."connectedAt" is not null
        or excluded."lastSeenAt" >= device_presence."lastSeenAt" + ${LAST_SEEN_RESOLUTION_SECONDS} * interval '1 second')`;
  // the dashboard and the rollouts hear of connections and disconnections, not of each heartbeat
  const changed = updates
    .filter((update) => update.connectedAt || !update.online)
    .map((update) => update.deviceId);
  noteDevicesChanged(changed);
  await wakeRolloutsOfDevices(db, changed);
}

export async function flushInventories(
  db: Db,
  reports: { deviceId: string; inventory: Inventory }[],
): Promise<void> {
  if (!reports.length) return;
  const rows = reports.map(({ deviceId, inventory }) => {
    const columns = inventoryColumns(inventory);
    return {
      id: deviceId,
      facts: inventory,
      rootPrefixHash: columns.rootPrefixHash,
      activeSlot: columns.activeSlot,
      slotSize: columns.slotSize?.toString() ?? null,
      imageName: columns.imageName,
      arch: columns.arch,
      profile: columns.profile,
      osRelease: columns.osRelease ?? null,
      bootId: columns.bootId,
      commitPending: columns.commitPending,
      flakes: columns.flakes,
      stateDiskFree: columns.stateDiskFree?.toString() ?? null,
      agentVersion: columns.agentVersion,
    };
  });
  await db.$executeRaw`
    update device d set
      facts = r.facts, "rootPrefixHash" = r."rootPrefixHash", "activeSlot" = r."activeSlot",
      "slotSize" = r."slotSize"::bigint, "imageName" = r."imageName", arch = r.arch, profile = r.profile,
      "osRelease" = r."osRelease", "bootId" = r."bootId", "commitPending" = r."commitPending",
      flakes = r.flakes, "stateDiskFree" = r."stateDiskFree"::bigint, "agentVersion" = r."agentVersion",
      "inventoryAt" = now(), "lastSeenAt" = now(), "updatedAt" = now()
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(
      id uuid, facts jsonb, "rootPrefixHash" text, "activeSlot" text, "slotSize" text, "imageName" text,
      arch text, profile text, "osRelease" jsonb, "bootId" text, "commitPending" boolean, flakes jsonb,
      "stateDiskFree" text, "agentVersion" text)
    where d.id = r.id`;
  noteDevicesChanged(reports.map((report) => report.deviceId));
  // a new root hash or a workload gone may settle a rollout's device
  await wakeRolloutsOfDevices(
    db,
    reports.map((report) => report.deviceId),
  );
}

/** On shutdown a gateway marks every device it held offline (they reconnect elsewhere). */
export async function markGatewayOffline(db: Db, gatewayId: string): Promise<void> {
  await db.devicePresence.updateMany({
    where: { gatewayId, online: true },
    data: { online: false },
  });
  noteChange('devices', 'device:*');
}
