// The catalog as the pages read it: update servers with their poll status (never the token), and
// images by name with each version, its flags and how many devices run it.
import { storableText } from '@eos-fleet/shared/protocol/index';
import { z } from 'zod';
import type { ServiceContext } from '../context';

type Db = Pick<ServiceContext, 'db'>;

export async function listUpdateServers(ctx: Db) {
  const servers = await ctx.db.updateServer.findMany({
    orderBy: { name: 'asc' },
    include: {
      images: {
        orderBy: { name: 'asc' },
        include: { _count: { select: { versions: { where: { available: true } } } } },
      },
    },
  });
  return servers.map((server) => ({
    id: server.id,
    name: server.name,
    sshTarget: server.sshTarget,
    sshPort: server.sshPort,
    httpUrl: server.httpUrl,
    hasCatalogToken: server.catalogTokenSealed !== null,
    maxConcurrentApplies: server.maxConcurrentApplies,
    reachable: server.reachable,
    lastPolledAt: server.lastPolledAt,
    lastSuccessAt: server.lastSuccessAt,
    lastError: server.lastError,
    /** not answering now, but what it last said is shown */
    stale: server.reachable === false && server.lastSuccessAt !== null,
    bytesServed: Number(server.bytesServed),
    activeStreams: server.activeStreams,
    images: server.images.map((image) => ({
      id: image.id,
      name: image.name,
      offered: image.offered,
      fetchStatus: image.fetchStatus,
      lastFetchError: image.lastFetchError,
      lastFetchedAt: image.lastFetchedAt,
      bytesServed: Number(image.bytesServed),
      activeStreams: image.activeStreams,
      offeredVersions: image._count.versions,
    })),
    createdAt: server.createdAt,
  }));
}

export const listImagesInput = z.object({
  name: storableText(200).optional(),
  /** versions no server offers any more, too */
  includeAgedOut: z.boolean().default(true),
});

export function versionSummary(
  version: {
    id: string;
    rootPrefixHash: string;
    rootSha256: string | null;
    imageSha1: string;
    rootPartitionSize: bigint;
    firmwarePartitionSize: bigint | null;
    arch: string | null;
    profile: string | null;
    osVersion: string | null;
    label: string | null;
    recommended: boolean;
    blocked: boolean;
    available: boolean;
    current: boolean;
    pinnedName: string | null;
    firstSeenAt: Date;
    lastSeenAt: Date;
  },
  imageName: string,
) {
  return {
    id: version.id,
    imageName,
    rootPrefixHash: version.rootPrefixHash,
    rootSha256: version.rootSha256,
    imageSha1: version.imageSha1,
    rootPartitionSize: Number(version.rootPartitionSize),
    firmwarePartitionSize:
      version.firmwarePartitionSize === null ? null : Number(version.firmwarePartitionSize),
    arch: version.arch,
    profile: version.profile,
    osVersion: version.osVersion,
    label: version.label,
    /** what the pages call it: "EOS.x86_64-AB 2.0.0", or the hash prefix without a label */
    displayName: `${imageName} ${version.label ?? version.rootPrefixHash.slice(0, 12)}`,
    recommended: version.recommended,
    blocked: version.blocked,
    available: version.available,
    current: version.current,
    pinnedName: version.pinnedName,
    firstSeenAt: version.firstSeenAt,
    lastSeenAt: version.lastSeenAt,
  };
}

/** Images (one row per server and name), newest version first, with devices per version. */
export async function listImages(ctx: Db, input: z.input<typeof listImagesInput> = {}) {
  const { name, includeAgedOut } = listImagesInput.parse(input);
  const images = await ctx.db.image.findMany({
    where: name ? { name } : {},
    orderBy: [{ name: 'asc' }],
    include: {
      updateServer: { select: { id: true, name: true, reachable: true, lastSuccessAt: true } },
      versions: {
        where: includeAgedOut ? {} : { available: true },
        orderBy: [{ available: 'desc' }, { firstSeenAt: 'desc' }],
      },
    },
  });
  const hashes = [
    ...new Set(images.flatMap((image) => image.versions.map((v) => v.rootPrefixHash))),
  ];
  const running = hashes.length
    ? await ctx.db.device.groupBy({
        by: ['rootPrefixHash'],
        where: { rootPrefixHash: { in: hashes }, status: 'accepted' },
        _count: { _all: true },
      })
    : [];
  const devicesByHash = new Map(running.map((row) => [row.rootPrefixHash, row._count._all]));
  return images.map((image) => ({
    id: image.id,
    name: image.name,
    offered: image.offered,
    fetchStatus: image.fetchStatus,
    lastFetchError: image.lastFetchError,
    lastFetchedAt: image.lastFetchedAt,
    sourceUrl: image.sourceUrl,
    arch: image.arch,
    profile: image.profile,
    bytesServed: Number(image.bytesServed),
    activeStreams: image.activeStreams,
    updateServer: {
      ...image.updateServer,
      stale: image.updateServer.reachable === false && image.updateServer.lastSuccessAt !== null,
    },
    versions: image.versions.map((version) => ({
      ...versionSummary(version, image.name),
      devices: devicesByHash.get(version.rootPrefixHash) ?? 0,
    })),
  }));
}
