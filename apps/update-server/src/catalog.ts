// The read-only catalog the dashboard polls: images, kept versions, fetch status, traffic.
import type { ImageFetcher } from './image-fetcher';
import type { ImageStore } from './image-store';
import type { StreamRegistry } from './stream-registry';

export function buildCatalog(
  store: ImageStore,
  streams: StreamRegistry,
  fetcher: ImageFetcher,
  startedAt: string,
) {
  return {
    server: {
      startedAt,
      lastFetchRunAt: fetcher.lastRunAt,
      configError: fetcher.configError,
      bytesServed: {
        total: streams.bytesServed.total,
        ssh: streams.bytesServed.ssh,
        http: streams.bytesServed.http,
      },
      streamsStarted: streams.streamsStarted,
      activeStreams: streams.snapshot(),
    },
    images: store.list().map((r) => ({
      name: r.name,
      file: `${r.name}.raw`,
      source: r.source,
      current: r.currentSha1
        ? {
            sha1: r.currentSha1,
            rootPrefixHash: store.current(r)?.rootPrefixHash ?? null,
            rootSha256: store.current(r)?.rootSha256 ?? null,
          }
        : null,
      versions: r.versions.map((v) => ({
        ...v,
        current: v.sha1 === r.currentSha1,
        rootPartitionBytes: v.root.size,
        firmwarePartitionBytes: v.firmware.size,
        pinnedDev: `${r.name}@${v.rootPrefixHash}.raw.dev`,
        pinnedFirmware: `${r.name}@${v.rootPrefixHash}.raw.firmware`,
      })),
      fetch: r.fetch,
      bytesServed: streams.bytesServed.byImage.get(r.name) ?? 0,
      activeStreams: streams.snapshot().filter((s) => s.image === r.name).length,
    })),
  };
}

export type Catalog = ReturnType<typeof buildCatalog>;
