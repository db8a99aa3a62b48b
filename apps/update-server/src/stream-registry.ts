// Active streams and bytes served, for the catalog and for a shutdown that waits for streams.
// Every stream ends here, whatever its channel: finished, given up by its channel (client gone),
// or stalled (its consumer has taken no chunk for `stallMs`: a reader that stopped or a peer that
// vanished without a FIN). A stall releases the stream at once and asks the channel to cut its
// connection, so a dead reader never holds an image version open.
import { once, EventEmitter } from 'node:events';
import { open } from 'node:fs/promises';
import type { ImageStore, ServedFile } from './image-store';

export type Channel = 'ssh' | 'http';

export interface ActiveStream {
  id: number;
  channel: Channel;
  file: string;
  image: string;
  sha1: string;
  remote: string;
  startedAt: string;
  bytesSent: number;
  bytesTotal: number;
}

export class StreamRegistry {
  private nextId = 1;
  private readonly active = new Map<number, ActiveStream>();
  private readonly events = new EventEmitter();
  readonly bytesServed = { total: 0, ssh: 0, http: 0, byImage: new Map<string, number>() };
  streamsStarted = 0;

  constructor(
    private readonly store: ImageStore,
    /** No progress for this long ends a stream (see the header). */
    private readonly stallMs: number,
  ) {}

  snapshot(): ActiveStream[] {
    return [...this.active.values()].map((s) => ({ ...s }));
  }

  get size(): number {
    return this.active.size;
  }

  /**
   * Opens the version file of `file` for the byte range [start, end] (inclusive, relative to the
   * served file) and yields its chunks, counting bytes. The fd is opened before this returns, so a
   * version swapped or pruned afterwards keeps streaming the bytes it started with.
   */
  async open(
    file: ServedFile,
    channel: Channel,
    remote: string,
    options: { start?: number; end?: number; onStall?: () => void } = {},
  ): Promise<{ chunks: AsyncGenerator<Buffer>; close: () => void }> {
    const { start = 0, end = file.size - 1, onStall } = options;
    const release = this.store.acquire(file.path);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(file.path, 'r');
    } catch (err) {
      release();
      throw err;
    }
    const entry: ActiveStream = {
      id: this.nextId++,
      channel,
      file: file.fileName,
      image: file.image,
      sha1: file.version.sha1,
      remote,
      startedAt: new Date().toISOString(),
      bytesSent: 0,
      bytesTotal: end - start + 1,
    };
    this.active.set(entry.id, entry);
    this.streamsStarted += 1;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearTimeout(stall);
      this.active.delete(entry.id);
      release();
      void fh.close().catch(() => undefined);
      this.events.emit('idle-check');
    };
    const stall = setTimeout(() => {
      if (closed) return;
      close();
      onStall?.();
    }, this.stallMs);
    stall.unref();
    const count = (n: number): void => {
      stall.refresh();
      entry.bytesSent += n;
      this.bytesServed.total += n;
      this.bytesServed[channel] += n;
      this.bytesServed.byImage.set(file.image, (this.bytesServed.byImage.get(file.image) ?? 0) + n);
    };
    const chunkBytes = 256 * 1024;
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        let pos = file.offset + start;
        const last = file.offset + end;
        while (pos <= last) {
          // Released early (stalled): never let a cut stream look finished to its channel.
          if (closed) throw new Error(`stream of ${file.fileName} released before its end`);
          const want = Math.min(chunkBytes, last - pos + 1);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, pos);
          if (bytesRead === 0) throw new Error(`unexpected end of ${file.path}`);
          pos += bytesRead;
          count(bytesRead);
          yield buf.subarray(0, bytesRead);
        }
      } finally {
        close();
      }
    }
    return { chunks: chunks(), close };
  }

  /** Resolves when no stream is active or after `ms`; returns whether streams remain. */
  async waitIdle(ms: number): Promise<boolean> {
    if (this.active.size === 0) return false;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), ms);
    try {
      while (this.active.size > 0) await once(this.events, 'idle-check', { signal: ac.signal });
      return false;
    } catch {
      return this.active.size > 0;
    } finally {
      clearTimeout(timer);
    }
  }
}
