// The root prefix hash: sha1 over the first 10 MiB of a root partition, exactly what EOS's
// `os-update --check` computes (`head -c 10M | sha1sum`) on both the running root and the stream.
// A partition shorter than 10 MiB hashes what there is, as `head` would.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ROOT_PREFIX_BYTES } from './domain';

export interface FileRange {
  path: string;
  /** Byte offset of the partition in the file (0 for a partition file or block device). */
  offset?: number;
  /** Byte length of the partition; omitted means "to the end of the file". */
  length?: number;
}

/** sha1 hex of a byte range of a file (the whole file by default). */
export async function sha1OfFile(range: FileRange | string): Promise<string> {
  const r = typeof range === 'string' ? { path: range } : range;
  const start = r.offset ?? 0;
  if (r.length === 0) return createHash('sha1').digest('hex');
  const stream = createReadStream(r.path, {
    start,
    ...(r.length !== undefined ? { end: start + r.length - 1 } : {}),
    highWaterMark: 1024 * 1024,
  });
  const hash = createHash('sha1');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha1 hex of the first `ROOT_PREFIX_BYTES` of a stream. Stops reading there: an async iterable
 * (e.g. a Readable) is released early, as `head -c` closes its input.
 */
export async function rootPrefixHashOfStream(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha1');
  let remaining = ROOT_PREFIX_BYTES;
  for await (const chunk of stream) {
    if (chunk.length >= remaining) {
      hash.update(chunk.subarray(0, remaining));
      break;
    }
    hash.update(chunk);
    remaining -= chunk.length;
  }
  return hash.digest('hex');
}

/** The root prefix hash of a partition in a file (an image at an offset, or a slot file). */
export async function rootPrefixHash(
  source: FileRange | AsyncIterable<Uint8Array>,
): Promise<string> {
  if (Symbol.asyncIterator in source) return rootPrefixHashOfStream(source);
  const length = Math.min(source.length ?? ROOT_PREFIX_BYTES, ROOT_PREFIX_BYTES);
  return sha1OfFile({ path: source.path, offset: source.offset ?? 0, length });
}
