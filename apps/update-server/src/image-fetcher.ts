// Runs fetches: every entry of os-update.yml on start, on an interval and on demand. One fetch per
// image at a time (a second request waits for the first and then runs). A failure of any kind is
// recorded as the image's fetch error and never touches the last good version.
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { downloadImage } from './download-image';
import type { FetchOutcome, ImageStore, ImageVersion } from './image-store';
import { readOsUpdateYml } from './os-update-yml';

function stripUndefined(v: { etag?: string | undefined; lastModified?: string | undefined }): {
  etag?: string;
  lastModified?: string;
} {
  return {
    ...(v.etag ? { etag: v.etag } : {}),
    ...(v.lastModified ? { lastModified: v.lastModified } : {}),
  };
}

export interface FetchResult {
  name: string;
  outcome: FetchOutcome | 'error';
  sha1?: string;
  rootPrefixHash?: string;
  rootSha256?: string;
  error?: string;
}

export interface FetcherOptions {
  osUpdateYml: string;
  xzPath: string;
  fetchTimeoutMs: number;
}

export class ImageFetcher {
  private readonly running = new Map<string, Promise<FetchResult>>();
  private readonly shutdown = new AbortController();
  /** Problems with os-update.yml itself (not one image): shown in the catalog. */
  configError: { message: string; at: string } | null = null;
  lastRunAt: string | null = null;

  constructor(
    private readonly store: ImageStore,
    private readonly options: FetcherOptions,
    private readonly log: Logger,
  ) {}

  abort(): void {
    this.shutdown.abort();
  }

  /** Fetches every image listed in os-update.yml (re-read each time). */
  async fetchAll(): Promise<FetchResult[]> {
    this.lastRunAt = new Date().toISOString();
    let sources;
    try {
      sources = await readOsUpdateYml(this.options.osUpdateYml);
      this.configError = null;
    } catch (err) {
      const message = (err as Error).message;
      this.configError = { message, at: new Date().toISOString() };
      this.log.error({ err: message }, 'cannot read os-update.yml');
      return [];
    }
    const results: FetchResult[] = [];
    // One after another: each image is large, and disk bandwidth is shared with the streams.
    for (const source of sources) results.push(await this.fetchOne(source.name, source.url));
    return results;
  }

  fetchOne(name: string, url: string): Promise<FetchResult> {
    const previous = this.running.get(name) ?? Promise.resolve(undefined);
    const next = previous.then(() => this.runFetch(name, url));
    this.running.set(name, next);
    void next.finally(() => {
      if (this.running.get(name) === next) this.running.delete(name);
    });
    return next;
  }

  private async runFetch(name: string, url: string): Promise<FetchResult> {
    const record = this.store.ensure(name, url);
    const startedAt = new Date().toISOString();
    record.fetch.lastAttemptAt = startedAt;
    const staged = this.store.stagingPath(name);
    const signal = AbortSignal.any([
      this.shutdown.signal,
      AbortSignal.timeout(this.options.fetchTimeoutMs),
    ]);
    const t0 = Date.now();
    try {
      const current = this.store.current(record);
      const known = current && record.upstream?.url === url ? record.upstream : undefined;
      const download = await downloadImage(url, staged, {
        xzPath: this.options.xzPath,
        signal,
        known,
      });
      let outcome: FetchOutcome;
      let version: ImageVersion;
      if (download.notModified && current) {
        // 304: upstream vouches for the image we have; no download, no hashing.
        outcome = 'unchanged';
        version = current;
        version.lastSeen = new Date().toISOString();
      } else {
        ({ outcome, version } = await this.store.accept(name, url, staged));
        record.upstream = { url, ...stripUndefined(download.validators) };
      }
      record.fetch = {
        ...record.fetch,
        state: 'ok',
        lastSuccessAt: startedAt,
        lastError: null,
        lastChangeAt: outcome === 'unchanged' ? record.fetch.lastChangeAt : startedAt,
      };
      const pruned = await this.store.prune(record);
      await this.store.save(record);
      this.log.info(
        {
          image: name,
          outcome,
          sha1: version.sha1,
          rootPrefixHash: version.rootPrefixHash,
          rootSha256: version.rootSha256,
          pruned,
          ms: Date.now() - t0,
        },
        'fetched image',
      );
      return {
        name,
        outcome,
        sha1: version.sha1,
        rootPrefixHash: version.rootPrefixHash,
        rootSha256: version.rootSha256,
      };
    } catch (err) {
      const message = (err as Error).message;
      record.fetch = {
        ...record.fetch,
        state: 'error',
        lastError: { message, at: new Date().toISOString() },
      };
      await this.store.save(record).catch(() => undefined);
      this.log.error(
        { image: name, url, err: message },
        'fetch failed; keeping the last good version',
      );
      return { name, outcome: 'error', error: message };
    } finally {
      await rm(staged, { force: true });
    }
  }
}
