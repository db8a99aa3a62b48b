// What the fleet runs, per image name: devices grouped by (image name, root prefix hash) first (few
// groups, even at 100,000 devices), then each hash named from the catalog as
// resolve-device-versions.ts names it: the version of the device's own image name, else the
// first-seen version with that hash, else "unknown build".
import type { ServiceContext } from '../context';

export interface VersionSlice {
  /** "2.0.0", a hash prefix when the version has no label, "unknown build" or "not reported" */
  label: string;
  /** the Devices table's versionId filter: an image version's id, `unknown`, or null (no hash) */
  versionId: string | null;
  recommended: boolean;
  devices: number;
}

export interface ImageNameVersions {
  /** null: devices that have not reported an image name */
  imageName: string | null;
  devices: number;
  versions: VersionSlice[];
}

/** At most this many image names (the largest); the rest are summed up in `otherDevices`. */
export const MAX_IMAGE_NAMES = 12;

export async function getVersionsByImageName(ctx: Pick<ServiceContext, 'db'>) {
  const rows = await ctx.db.$queryRaw<
    {
      imageName: string | null;
      hash: string | null;
      versionId: string | null;
      label: string | null;
      recommended: boolean | null;
      devices: bigint;
    }[]
  >`
    with groups as (
      select d."imageName", d."rootPrefixHash" as hash, count(*) as devices
      from device d
      where d.status <> 'decommissioned'
      group by 1, 2
    )
    select g."imageName", g.hash, v.id as "versionId", v.label, v.recommended, g.devices
    from groups g
    left join lateral (
      select v.id, v.label, v.recommended
      from image_version v join image i on i.id = v."imageId"
      where v."rootPrefixHash" = g.hash
      order by (i.name = g."imageName") desc nulls last, v."firstSeenAt" asc
      limit 1
    ) v on g.hash is not null
    order by g."imageName" nulls last, g.devices desc`;

  const byName = new Map<string | null, ImageNameVersions>();
  for (const row of rows) {
    const devices = Number(row.devices);
    const entry = byName.get(row.imageName) ?? {
      imageName: row.imageName,
      devices: 0,
      versions: [],
    };
    byName.set(row.imageName, entry);
    entry.devices += devices;
    const label = !row.hash
      ? 'not reported'
      : !row.versionId
        ? 'unknown build'
        : (row.label ?? row.hash.slice(0, 12));
    const versionId = !row.hash ? null : (row.versionId ?? 'unknown');
    // several unknown hashes are one "unknown build" slice, as the versionId filter sees them
    const same = entry.versions.find((slice) => slice.versionId === versionId);
    if (same) same.devices += devices;
    else entry.versions.push({ label, versionId, recommended: Boolean(row.recommended), devices });
  }
  // the largest first; ties in a stable order (names, then the unnamed last)
  const all = [...byName.values()].sort(
    (a, b) =>
      b.devices - a.devices || (a.imageName ?? '\uffff').localeCompare(b.imageName ?? '\uffff'),
  );
  for (const entry of all)
    entry.versions.sort((a, b) => b.devices - a.devices || a.label.localeCompare(b.label));
  const shown = all.slice(0, MAX_IMAGE_NAMES);
  return {
    imageNames: shown,
    otherDevices: all.slice(MAX_IMAGE_NAMES).reduce((sum, entry) => sum + entry.devices, 0),
  };
}
