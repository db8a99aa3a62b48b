// Who a rollout's target names, and whether each device may be scheduled (preflight), in words.
import { Prisma, type Db } from '@eos-fleet/db';
import { configuredServerOf, sameSshTarget } from '../catalog/resolve-device-versions';
import type { RolloutTarget } from './rollout-inputs';

export const ACTIVE_ROLLOUT_STATES = ['scheduled', 'running', 'paused'] as const;

export function labelsOf(value: unknown): Record<string, string> {
  return value && typeof value === 'object' ? (value as Record<string, string>) : {};
}

export function matchesLabels(deviceLabels: unknown, selector: Record<string, string> | undefined) {
  if (!selector) return true;
  const own = labelsOf(deviceLabels);
  return Object.entries(selector).every(([key, value]) => own[key] === value);
}

/** The devices a target names (accepted or not: preflight says why one cannot take part). */
export function targetWhere(target: RolloutTarget): Prisma.DeviceWhereInput {
  const live: Prisma.DeviceWhereInput = { status: { not: 'decommissioned' } };
  if (target.deviceIds) return { ...live, id: { in: target.deviceIds } };
  if (target.imageName) return { ...live, imageName: target.imageName };
  return {
    ...live,
    AND: Object.entries(target.labels ?? {}).map(([key, value]) => ({
      labels: { path: [key], equals: value },
    })),
  };
}

export const targetDeviceSelect = {
  id: true,
  name: true,
  status: true,
  labels: true,
  facts: true,
  rootPrefixHash: true,
  arch: true,
  profile: true,
  slotSize: true,
  imageName: true,
  lastSeenAt: true,
  flakes: true,
  presence: { select: { online: true, lastSeenAt: true } },
} satisfies Prisma.DeviceSelect;
export type TargetDevice = Prisma.DeviceGetPayload<{ select: typeof targetDeviceSelect }>;

export interface PinnedVersion {
  id: string;
  rootPrefixHash: string;
  rootSha256: string;
  rootPartitionSize: bigint;
  arch: string | null;
  profile: string | null;
  imageName: string;
  updateServer: { id: string; name: string; sshTarget: string; maxConcurrentApplies: number };
}

const MiB = 1024 * 1024;

/**
 * Preflight of one device: null when it may be scheduled, else why not ("cannot converge"
 * reasons, and `waiting` for ones that pass once the device is back).
 */
export function preflight(
  device: TargetDevice,
  version: PinnedVersion,
  offered: { available: boolean; blocked: boolean; rootSha256: string | null },
  otherRollout: string | null,
): { kind: 'cannot_converge' | 'done' | 'waiting'; reason: string } | null {
  if (device.rootPrefixHash === version.rootPrefixHash)
    return { kind: 'done', reason: 'already runs the target version' };
  if (device.status !== 'accepted')
    return { kind: 'cannot_converge', reason: `the device is ${device.status}, not accepted` };
  if (offered.blocked) return { kind: 'cannot_converge', reason: 'the version is blocked' };
  if (!offered.available || offered.rootSha256 !== version.rootSha256)
    return {
      kind: 'cannot_converge',
      reason: `${version.updateServer.name} no longer offers the pinned content`,
    };
  if (version.arch && device.arch && version.arch !== device.arch)
    return {
      kind: 'cannot_converge',
      reason: `architecture ${device.arch}, the image is ${version.arch}`,
    };
  if (version.profile && device.profile && version.profile !== device.profile)
    return {
      kind: 'cannot_converge',
      reason: `profile ${device.profile}, the image is ${version.profile}`,
    };
  if (device.slotSize === null)
    return { kind: 'cannot_converge', reason: 'the device has not reported its slot size' };
  if (version.rootPartitionSize > device.slotSize)
    return {
      kind: 'cannot_converge',
      reason: `the root partition (${(Number(version.rootPartitionSize) / MiB).toFixed(1)} MiB) does not fit the slot (${(Number(device.slotSize) / MiB).toFixed(1)} MiB)`,
    };
  const server = configuredServerOf(device.facts);
  if (!server || !sameSshTarget(server, version.updateServer.sshTarget))
    return {
      kind: 'cannot_converge',
      reason: `the device fetches from ${server ?? 'an unreported server'}, not ${version.updateServer.name}`,
    };
  if (otherRollout)
    return { kind: 'cannot_converge', reason: `in another active rollout (${otherRollout})` };
  if (!device.presence?.online)
    return {
      kind: 'waiting',
      reason: `offline since ${(device.presence?.lastSeenAt ?? device.lastSeenAt)?.toISOString() ?? 'it enrolled'}`,
    };
  return null;
}

/** The names of the workloads (flakes) a device reports. */
export function workloadNames(flakes: unknown): string[] {
  if (!Array.isArray(flakes)) return [];
  return flakes
    .map((flake: unknown) =>
      flake && typeof flake === 'object' && 'name' in flake ? String(flake.name) : null,
    )
    .filter((name): name is string => name !== null);
}

/** The workloads of `before` a device no longer reports. */
export function missingWorkloads(before: readonly string[], flakes: unknown): string[] {
  const now = new Set(workloadNames(flakes));
  return before.filter((name) => !now.has(name));
}

/** device id -> name of the other active rollout it is in (one bind parameter for any count) */
export async function otherActiveRollouts(
  db: Pick<Db, '$queryRaw'>,
  deviceIds: string[],
  rolloutId: string | null,
) {
  if (!deviceIds.length) return new Map<string, string>();
  const rows = await db.$queryRaw<{ deviceId: string; name: string }[]>`
    SELECT rd."deviceId"::text AS "deviceId", r."name"
      FROM "rollout_device" rd
      JOIN "rollout" r ON r."id" = rd."rolloutId"
     WHERE rd."deviceId" = ANY(${deviceIds}::uuid[])
       AND rd."state" <> 'skipped'
       AND r."state"::text = ANY(${[...ACTIVE_ROLLOUT_STATES]}::text[])
       ${rolloutId ? Prisma.sql`AND rd."rolloutId" <> ${rolloutId}::uuid` : Prisma.empty}`;
  return new Map(rows.map((row) => [row.deviceId, row.name]));
}
