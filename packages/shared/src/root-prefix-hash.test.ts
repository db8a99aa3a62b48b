import { execSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT_PREFIX_BYTES } from './domain';
import { rootPrefixHash, sha1OfFile } from './root-prefix-hash';

const dir = mkdtempSync(join(tmpdir(), 'rph-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MiB = 1024 * 1024;
// Deterministic, non-repeating bytes so an off-by-one in the range shows up.
function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** What EOS's os-update runs: `head -c 10M | sha1sum`. */
function shellPrefixHash(cmd: string): string {
  return (
    execSync(`${cmd} | head -c 10M | sha1sum`, { encoding: 'utf8', shell: '/bin/bash' }).split(
      ' ',
    )[0] ?? ''
  );
}

describe('rootPrefixHash', () => {
  const image = join(dir, 'image.raw');
  const offset = 3 * MiB;
  const partition = bytes(12 * MiB, 7);
  writeFileSync(image, Buffer.concat([bytes(offset, 3), partition, bytes(MiB, 9)]));

  it('hashes the first 10 MiB of a partition at an offset, like head -c 10M | sha1sum', async () => {
    const expected = shellPrefixHash(`tail -c +${offset + 1} ${image}`);
    expect(expected).toMatch(/^[0-9a-f]{40}$/);
    expect(await rootPrefixHash({ path: image, offset, length: partition.length })).toBe(expected);
    expect(await rootPrefixHash({ path: image, offset })).toBe(expected);
  });

  it('gives the same hash from a stream, in any chunking, and stops reading after 10 MiB', async () => {
    const expected = await rootPrefixHash({ path: image, offset });
    expect(
      await rootPrefixHash(createReadStream(image, { start: offset, highWaterMark: 65_537 })),
    ).toBe(expected);
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      for (let at = 0; at < partition.length; at += 3 * MiB + 1) {
        pulled += 1;
        yield partition.subarray(at, at + 3 * MiB + 1);
      }
    }
    expect(await rootPrefixHash(Readable.from(chunks(), { objectMode: false }))).toBe(expected);
    expect(pulled).toBeLessThan(5);
    expect(ROOT_PREFIX_BYTES).toBe(10 * MiB);
  });

  it('hashes what there is when the partition is shorter than 10 MiB', async () => {
    const small = join(dir, 'small.raw');
    writeFileSync(small, bytes(3 * MiB, 11));
    const expected = shellPrefixHash(`cat ${small}`);
    expect(await rootPrefixHash({ path: small })).toBe(expected);
    expect(await rootPrefixHash(Readable.from([bytes(3 * MiB, 11)]))).toBe(expected);
    expect(await rootPrefixHash({ path: image, offset, length: MiB })).toBe(
      shellPrefixHash(`tail -c +${offset + 1} ${image} | head -c 1M`),
    );
  });
});

describe('sha1OfFile', () => {
  it('matches sha1sum for a whole file and a range', async () => {
    const file = join(dir, 'whole.bin');
    writeFileSync(file, bytes(2 * MiB + 5, 5));
    expect(await sha1OfFile(file)).toBe(
      execSync(`sha1sum ${file}`, { encoding: 'utf8' }).split(' ')[0],
    );
    expect(await sha1OfFile({ path: file, offset: 100, length: 1000 })).toBe(
      execSync(`tail -c +101 ${file} | head -c 1000 | sha1sum`, {
        encoding: 'utf8',
        shell: '/bin/bash',
      }).split(' ')[0],
    );
    expect(await sha1OfFile({ path: file, offset: 0, length: 0 })).toBe(
      'da39a3ee5e6b4b0d3255bfef95601890afd80709',
    );
  });
});
