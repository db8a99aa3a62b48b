// The image's own version comes from its root partition's bytes: a generated EOS image says its
// VERSION_ID; bytes that are no header (a squashfs, zeros, a cut header) say nothing.
import { join } from 'node:path';
import { buildEosImage } from '@eos-fleet/image';
import { afterAll, describe, expect, it } from 'vitest';
import { parseRootOsRelease, readRootOsVersion } from './os-release';
import { tempDir } from './testing/fixtures';

const tmp = tempDir('os-release-test-');
afterAll(() => tmp.remove());

describe('the os-release version of an image', () => {
  it('reads VERSION_ID from the root partition of a generated image, not from its firmware', async () => {
    const image = await buildEosImage({
      outPath: join(tmp.path, 'EOS-2.0.0.raw'),
      version: '2.0.0',
      sizes: { root: 12, uefi: 1, spare: 1 },
    });
    expect(await readRootOsVersion(image.path, image.root.offset)).toBe('2.0.0');
    expect(await readRootOsVersion(image.path, image.firmware.offset)).toBeNull();
    expect(await readRootOsVersion(image.path, 0)).toBeNull();
  });

  it('says nothing for bytes that are not a complete header', () => {
    const squashfs = Buffer.alloc(4096);
    squashfs.write('hsqs', 'latin1');
    expect(parseRootOsRelease(squashfs)).toBeNull();
    expect(parseRootOsRelease(Buffer.from('EOS-TESTBED-ROOT/1\nVERSION_ID=3'))).toBeNull();
    expect(parseRootOsRelease(Buffer.from('EOS-TESTBED-ROOT/1\nVERSION_ID=3\n\n'))).toEqual({
      VERSION_ID: '3',
    });
  });
});
