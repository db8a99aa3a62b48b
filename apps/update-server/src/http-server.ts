// HTTP channel: the published files with Range support and hashes in headers, the catalog API
// (bearer token, compared in constant time) and an unauthenticated /healthz.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { ImageStore, ServedFile } from './image-store';
import type { StreamRegistry } from './stream-registry';

export interface HttpDeps {
  store: ImageStore;
  streams: StreamRegistry;
  catalog: () => unknown;
  catalogToken: string;
  log: Logger;
}

type Range = { start: number; end: number } | 'unsatisfiable' | undefined;

/** One `bytes=` range (RFC 9110); anything else (several ranges, junk) means "send it all". */
export function parseRange(header: string | undefined, size: number): Range {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  // Hash both sides so the comparison is constant-time whatever the lengths.
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

function sendJson(res: ServerResponse, status: number, body: unknown, head = false): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : text);
}

/** Strong, per version and part: the bytes of `"<sha1>.dev"` never change. */
export function etagOf(file: ServedFile): string {
  return `"${file.version.sha1}.${file.part}"`;
}

/** When this server first had these bytes: the version's first fetch, to the second. */
function lastModifiedOf(file: ServedFile): string {
  return new Date(file.version.firstSeen).toUTCString();
}

/**
 * If-Range (RFC 9110 13.1.5): the Range applies only when the validator names the representation
 * the server would send now, so a resumed download never mixes two versions' bytes.
 * - an entity tag matches only by strong comparison (a weak `W/` tag never does);
 * - an HTTP-date matches only when it equals Last-Modified exactly and that date is strong: no
 *   other kept version of the image was first seen in the same second.
 */
export function ifRangeHolds(
  header: string,
  file: ServedFile,
  otherVersionDates: string[],
): boolean {
  const v = header.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === etagOf(file);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return false;
  const lastModified = lastModifiedOf(file);
  return (
    date === Date.parse(lastModified) &&
    !otherVersionDates.some((d) => new Date(d).toUTCString() === lastModified)
  );
}

function fileHeaders(file: ServedFile): Record<string, string> {
  return {
    'Accept-Ranges': 'bytes',
    'Content-Type': file.part === 'sha' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
    ETag: etagOf(file),
    'Last-Modified': lastModifiedOf(file),
    'X-Image-Name': `${file.image}.raw`,
    'X-Image-Sha1': file.version.sha1,
    'X-Root-Prefix-Hash': file.version.rootPrefixHash,
    // What a device must end up with after an apply of this version (the whole .raw.dev stream).
    'X-EOS-Root-Prefix-Hash': file.version.rootPrefixHash,
    'X-EOS-Root-Sha256': file.version.rootSha256,
    'X-EOS-Root-Bytes': String(file.version.root.size),
    'X-Partition-Bytes': String(file.size),
    'X-Pinned': String(file.pinned),
    'Cache-Control': file.pinned ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
}

async function serveFile(
  deps: HttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  fileName: string,
): Promise<void> {
  const file = deps.store.resolve(fileName);
  if (!file)
    return sendJson(res, 404, { error: 'not_found', file: fileName }, req.method === 'HEAD');
  const headers = fileHeaders(file);
  const ifRange = req.headers['if-range'];
  const others = (deps.store.get(file.image)?.versions ?? [])
    .filter((v) => v.sha1 !== file.version.sha1)
    .map((v) => v.firstSeen);
  // A failed If-Range means "send me all of what it is now": the Range is ignored (200).
  const rangeApplies =
    ifRange === undefined || (typeof ifRange === 'string' && ifRangeHolds(ifRange, file, others));
  const rangeHeader = rangeApplies ? req.headers.range : undefined;
  const range = parseRange(rangeHeader, file.size);
  if (range === 'unsatisfiable') {
    res.writeHead(416, {
      ...headers,
      'Content-Range': `bytes */${file.size}`,
      'Content-Length': 0,
    });
    return void res.end();
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? file.size - 1;
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': String(end - start + 1),
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}),
  });
  if (req.method === 'HEAD') return void res.end();
  if (file.text !== undefined) return void res.end(Buffer.from(file.text).subarray(start, end + 1));
  const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
  // A reader that takes nothing for the stall bound is cut: its socket goes, the stream with it.
  const stream = await deps.streams.open(file, 'http', remote, {
    start,
    end,
    onStall: () => res.destroy(),
  });
  const t0 = Date.now();
  try {
    await pipeline(stream.chunks, res);
    if (file.part === 'dev' || file.part === 'firmware') {
      deps.log.info(
        {
          remote,
          file: fileName,
          sha1: file.version.sha1,
          bytes: end - start + 1,
          ms: Date.now() - t0,
        },
        'http stream done',
      );
    }
  } catch (err) {
    deps.log.warn(
      { file: fileName, remote, err: (err as Error).message },
      'http stream ended early',
    );
  } finally {
    stream.close();
  }
}

export function createHttpServer(deps: HttpDeps): Server {
  // TCP keepalive: a peer that vanished without a FIN is noticed even on an idle connection.
  return createServer({ keepAlive: true, keepAliveInitialDelay: 10_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    const handle = async (): Promise<void> => {
      if (path === '/healthz') {
        return isRead
          ? sendJson(res, 200, { status: 'ok' }, req.method === 'HEAD')
          : sendJson(res, 405, { error: 'method_not_allowed' });
      }
      if (path === '/api/v1/catalog') {
        if (!tokenMatches(req.headers.authorization, deps.catalogToken)) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          return sendJson(res, 401, { error: 'unauthorized' });
        }
        if (!isRead) return sendJson(res, 405, { error: 'method_not_allowed' });
        return sendJson(res, 200, deps.catalog(), req.method === 'HEAD');
      }
      const m = /^\/os-images\/([^/]+)$/.exec(path);
      if (m?.[1]) {
        if (!isRead) {
          res.setHeader('Allow', 'GET, HEAD');
          return sendJson(res, 405, { error: 'method_not_allowed' });
        }
        let fileName: string;
        try {
          fileName = decodeURIComponent(m[1]);
        } catch {
          return sendJson(res, 400, { error: 'bad_request' });
        }
        return serveFile(deps, req, res, fileName);
      }
      return sendJson(res, 404, { error: 'not_found' });
    };
    handle().catch((err: unknown) => {
      deps.log.error({ err: (err as Error).message, path }, 'http request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
}
