import type { Inventory } from '@eos-fleet/shared/protocol/index';

/** The device columns an inventory report sets (the whole report is kept in `facts`). */
export function inventoryColumns(inventory: Inventory) {
  return {
    rootPrefixHash: inventory.rootPrefixHash,
    activeSlot: inventory.activeSlot,
    slotSize: inventory.slotSizeBytes === null ? null : BigInt(inventory.slotSizeBytes),
    imageName: inventory.imageName,
    arch: inventory.arch,
    profile: inventory.profile,
    osRelease: inventory.osRelease ?? undefined,
    bootId: inventory.bootId,
    commitPending: inventory.commitPending ?? false,
    flakes: inventory.flakes,
    stateDiskFree:
      inventory.stateDiskFreeBytes === null ? null : BigInt(inventory.stateDiskFreeBytes),
    agentVersion: inventory.agentVersion,
    inventoryAt: new Date(),
  };
}
