// One poll of one update server's catalog, written in one transaction. Safe with several web
// processes: a transaction-scoped advisory lock per server means one poll at a time, and the
// interval poll skips a server polled recently by anyone. A server that does not answer keeps its
// last known catalog (marked stale: reachable false, lastSuccessAt older than lastPolledAt).
import type { Db } from '@eos-fleet/db';
import { AppError } from '../errors';
import { noteChange } from '../events/change-notices';
import {
  CATALOG_TIMEOUT_MS,
  CatalogFetchError,
  factsFromImageName,
  fetchCatalog,
  osVersionOf,
  type CatalogImage,
  type FetchedCatalog,
} from './fetch-catalog';
import { openCatalogToken } from './seal-catalog-token';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** The servers a poll round visits. */
export async function listUpdateServersToPoll(db: Db): Promise<{ id: string; name: string }[]> {
  return db.updateServer.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } });
}

export interface PollOptions {
  appSecret: string;
  /** wait for another process's poll of this server to end (on demand), or skip it (interval) */
  wait?: boolean;
  /** skip a server polled less than this long ago (the interval poll) */
  minAgeMs?: number;
  timeoutMs?: number;
  maxBytes?: number;
}

export type PollOutcome =
  | { outcome: 'polled'; reachable: true; images: number; versions: number }
  | { outcome: 'polled'; reachable: false; error: string }
  | { outcome: 'skipped'; reason: 'busy' | 'recent' };

const FETCH_STATUS = { never: 'unknown', ok: 'ok', error: 'error' } as const;

function dateOr(value: string | null | undefined, fallback: Date): Date {
  const date = value ? new Date(value) : null;
  return date && !Number.isNaN(date.getTime()) ? date : fallback;
}

export async function pollUpdateServer(
  db: Db,
  serverId: string,
  options: PollOptions,
): Promise<PollOutcome> {
  const timeoutMs = options.timeoutMs ?? CATALOG_TIMEOUT_MS;
  const outcome = await db.$transaction(
    async (tx) => {
      const lockKey = `eos-fleet.catalog-poll:${serverId}`;
      if (options.wait) {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${lockKey}, 0))`;
      } else {
        const [row] = await tx.$queryRaw<{ locked: boolean }[]>`
          SELECT pg_try_advisory_xact_lock(hashtextextended(${lockKey}, 0)) AS locked`;
        if (!row?.locked) return { outcome: 'skipped', reason: 'busy' } as const;
      }
      const server = await tx.updateServer.findUnique({ where: { id: serverId } });
      if (!server) throw new AppError('NOT_FOUND', 'No such update server.');
      if (
        options.minAgeMs !== undefined &&
        server.lastPolledAt &&
        Date.now() - server.lastPolledAt.getTime() < options.minAgeMs
      )
        return { outcome: 'skipped', reason: 'recent' } as const;

      const now = new Date();
      let catalog: FetchedCatalog;
      try {
        let token: string | null = null;
        if (server.catalogTokenSealed) {
          token = openCatalogToken(options.appSecret, server.catalogTokenSealed);
          if (token === null)
            throw new CatalogFetchError(
              'the stored catalog token cannot be opened with this app secret: enter it again',
            );
        }
        catalog = await fetchCatalog(server.httpUrl, token, {
          timeoutMs,
          maxBytes: options.maxBytes,
        });
      } catch (error) {
        const message =
          error instanceof CatalogFetchError ? error.message : `unexpected: ${String(error)}`;
        await tx.updateServer.update({
          where: { id: serverId },
          data: { reachable: false, lastPolledAt: now, lastError: message.slice(0, 2000) },
        });
        return { outcome: 'polled', reachable: false, error: message } as const;
      }

      const versions = await writeCatalog(tx, serverId, catalog, now);
      await tx.updateServer.update({
        where: { id: serverId },
        data: {
          reachable: true,
          lastPolledAt: now,
          lastSuccessAt: now,
          lastError: null,
          bytesServed: BigInt(Math.round(catalog.server?.bytesServed?.total ?? 0)),
          activeStreams: catalog.server?.activeStreams?.length ?? 0,
        },
      });
      return {
        outcome: 'polled',
        reachable: true,
        images: catalog.images.length,
        versions,
      } as const;
    },
    // the fetch runs inside: the transaction must outlive its timeout
    { timeout: timeoutMs + 20_000, maxWait: options.wait ? timeoutMs + 20_000 : 5_000 },
  );
  if (outcome.outcome === 'polled') noteChange('catalog');
  return outcome;
}

/** Images and versions as the catalog lists them; the rest age out (kept, no longer offered). */
async function writeCatalog(tx: Tx, serverId: string, catalog: FetchedCatalog, now: Date) {
  let versionCount = 0;
  const seenImages: string[] = [];
  for (const image of catalog.images) {
    const imageId = await upsertImage(tx, serverId, image, now);
    seenImages.push(imageId);
    // newest first: the pinned name NAME@<rootPrefixHash> resolves to the newest with that hash
    const byPrefix = new Map<string, CatalogImage['versions'][number]>();
    for (const version of image.versions)
      if (!byPrefix.has(version.rootPrefixHash)) byPrefix.set(version.rootPrefixHash, version);
    const facts = factsFromImageName(image.name);
    for (const [rootPrefixHash, version] of byPrefix) {
      const osVersion = osVersionOf(version);
      const common = {
        imageSha1: version.sha1,
        rootSha256: version.rootSha256 ?? null,
        rootPartitionSize: BigInt(version.rootPartitionBytes),
        firmwarePartitionSize:
          version.firmwarePartitionBytes === null || version.firmwarePartitionBytes === undefined
            ? null
            : BigInt(version.firmwarePartitionBytes),
        arch: facts.arch,
        profile: facts.profile,
        pinnedName: `${image.name}@${rootPrefixHash}`,
        osVersion,
        available: true,
        current: version.current,
        lastSeenAt: dateOr(version.lastSeen, now),
      };
      const row = await tx.imageVersion.upsert({
        where: { imageId_rootPrefixHash: { imageId, rootPrefixHash } },
        create: {
          imageId,
          rootPrefixHash,
          ...common,
          label: osVersion,
          firstSeenAt: dateOr(version.firstSeen, now),
        },
        update: common,
        select: { id: true, label: true },
      });
      // the image's own version names it until an operator says otherwise
      if (row.label === null && osVersion)
        await tx.imageVersion.update({ where: { id: row.id }, data: { label: osVersion } });
      versionCount++;
    }
    await tx.imageVersion.updateMany({
      where: { imageId, rootPrefixHash: { notIn: [...byPrefix.keys()] } },
      data: { available: false, current: false },
    });
  }
  // images the server no longer lists: kept with their versions, none of them offered
  const gone = { updateServerId: serverId, id: { notIn: seenImages } };
  await tx.image.updateMany({ where: gone, data: { offered: false, activeStreams: 0 } });
  await tx.imageVersion.updateMany({
    where: { image: gone },
    data: { available: false, current: false },
  });
  return versionCount;
}

async function upsertImage(tx: Tx, serverId: string, image: CatalogImage, now: Date) {
  const facts = factsFromImageName(image.name);
  const fetch = image.fetch;
  const data = {
    sourceUrl: image.source ?? null,
    arch: facts.arch,
    profile: facts.profile,
    fetchStatus: fetch ? FETCH_STATUS[fetch.state] : ('unknown' as const),
    lastFetchError: fetch?.lastError?.message ?? null,
    lastFetchedAt: fetch?.lastSuccessAt ? dateOr(fetch.lastSuccessAt, now) : null,
    offered: true,
    bytesServed: BigInt(Math.round(image.bytesServed)),
    activeStreams: image.activeStreams,
  };
  const row = await tx.image.upsert({
    where: { updateServerId_name: { updateServerId: serverId, name: image.name } },
    create: { updateServerId: serverId, name: image.name, ...data },
    update: data,
    select: { id: true },
  });
  return row.id;
}
