// Fetches one upstream image into a local file, decompressing xz, and fails loudly on anything
// short of a complete image: HTTP errors, a body shorter than its Content-Length, corrupt or
// truncated xz. The caller only ever sees a finished file or an error.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

export class FetchError extends Error {
  override name = 'FetchError';
}

/** What upstream said about the image last time, to ask "changed since?" (ETag / Last-Modified). */
export interface UpstreamValidators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

type Source =
  { notModified: true } | { notModified: false; body: Readable; validators: UpstreamValidators };

async function openSource(
  url: string,
  signal: AbortSignal,
  known: UpstreamValidators | undefined,
): Promise<Source> {
  if (url.startsWith('file:')) {
    return { notModified: false, body: createReadStream(fileURLToPath(url)), validators: {} };
  }
  const headers: Record<string, string> = {};
  if (known?.etag) headers['If-None-Match'] = known.etag;
  if (known?.lastModified) headers['If-Modified-Since'] = known.lastModified;
  const res = await fetch(url, { signal, redirect: 'follow', headers });
  if (res.status === 304) {
    await res.body?.cancel();
    return { notModified: true };
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new FetchError(`HTTP ${res.status} ${res.statusText} from ${url}`);
  }
  const validators = {
    etag: res.headers.get('etag') ?? undefined,
    lastModified: res.headers.get('last-modified') ?? undefined,
  };
  return { notModified: false, body: checkedBody(res, url), validators };
}

function checkedBody(res: Response, url: string): Readable {
  if (!res.body) throw new FetchError(`empty response from ${url}`);
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  const expected = res.headers.get('content-length');
  if (expected === null || res.headers.get('content-encoding')) return body;
  // A connection that closes early may look like a clean end: count the bytes ourselves.
  const total = Number(expected);
  async function* counted(): AsyncGenerator<Buffer> {
    let got = 0;
    for await (const chunk of body) {
      got += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
    if (got !== total)
      throw new FetchError(`truncated download: got ${got} of ${total} bytes from ${url}`);
  }
  return Readable.from(counted(), { objectMode: false });
}

async function isXz(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(XZ_MAGIC.length);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return bytesRead === buf.length && buf.equals(XZ_MAGIC);
  } finally {
    await fh.close();
  }
}

async function xzDecompress(
  input: string,
  output: string,
  xzPath: string,
  signal: AbortSignal,
): Promise<void> {
  const child = spawn(xzPath, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'], signal });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const results = await Promise.allSettled([
    pipeline(createReadStream(input), child.stdin),
    pipeline(child.stdout, createWriteStream(output)),
    exited,
  ]);
  const code = results[2].status === 'fulfilled' ? results[2].value : undefined;
  if (code !== 0) {
    const why =
      stderr.trim() ||
      (results[2].status === 'rejected' ? String(results[2].reason) : `exit ${code}`);
    throw new FetchError(`xz decompression failed: ${why}`);
  }
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/**
 * Downloads `url` to `dest` (uncompressed). Scratch files sit next to `dest` and are removed on
 * failure. Compression is recognised by the xz magic bytes, not by the URL.
 */
export async function downloadImage(
  url: string,
  dest: string,
  options: { xzPath: string; signal: AbortSignal; known?: UpstreamValidators | undefined },
): Promise<{ notModified: boolean; validators: UpstreamValidators }> {
  const download = `${dest}.download`;
  try {
    const source = await openSource(url, options.signal, options.known);
    if (source.notModified) return { notModified: true, validators: options.known ?? {} };
    await pipeline(source.body, createWriteStream(download), { signal: options.signal });
    if (await isXz(download)) {
      await xzDecompress(download, dest, options.xzPath, options.signal);
    } else {
      await rename(download, dest);
    }
    return { notModified: false, validators: source.validators };
  } catch (err) {
    await rm(dest, { force: true });
    if (err instanceof FetchError) throw err;
    const e = err as Error & { cause?: Error; code?: string };
    const detail = e.cause?.message ? `${e.message}: ${e.cause.message}` : e.message;
    throw new FetchError(`fetching ${url} failed: ${detail}`);
  } finally {
    await rm(download, { force: true });
  }
}
