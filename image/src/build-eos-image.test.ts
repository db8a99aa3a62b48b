import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readGptFile, rootPrefixHash, sha1OfFile } from '@eos-fleet/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { buildEosImage } from './build-eos-image';
import { readRootFacts } from './root-header';

const dir = mkdtempSync(join(tmpdir(), 'eos-image-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MiB = 1024 * 1024;
const sizes = { uefi: 2, root: 12, spare: 1 };

// Builds real images and starts tsx: generous timeouts for a loaded 2-core machine.
describe('buildEosImage', { timeout: 60_000 }, () => {
  it('builds an EOS-shaped GPT disk with the header and hashes it reports', async () => {
    const out = join(dir, 'v1.raw');
    const built = await buildEosImage({ outPath: out, version: '1', sizes });
    const layout = await readGptFile(out);
    expect(layout.partitions.map((p) => [p.label, p.size / MiB])).toEqual([
      ['p.UEFI', 2],
      ['p.lxreadonly', 12],
      ['p.lxrootclone1', 12],
      ['p.spare', 1],
    ]);
    expect(statSync(out).size).toBe(built.rawBytes);
    expect(built.sha1).toBe(execFileSync('sha1sum', [out], { encoding: 'utf8' }).split(' ')[0]);
    const shell = execSync(`tail -c +${built.root.offset + 1} ${out} | head -c 10M | sha1sum`, {
      encoding: 'utf8',
      shell: '/bin/bash',
    });
    expect(built.rootPrefixHash).toBe(shell.split(' ')[0]);
    expect(await readRootFacts(out, built.root.offset)).toMatchObject({
      version: '1',
      arch: 'x86_64',
      profile: 'AB',
      imageName: 'EOS.x86_64-AB',
      fields: { ID: 'eos', NAME: 'EOS', VERSION_ID: '1', EOS_ROOT_BYTES: String(12 * MiB) },
    });
    const raw = readFileSync(out);
    expect(raw.subarray(built.firmware.offset, built.firmware.offset + 17).toString()).toBe(
      'EOS-TESTBED-ESP/1',
    );
    // slot B and spare are empty, as on a freshly flashed disk
    const clone = layout.partitions[2];
    expect(
      clone && raw.subarray(clone.offset, clone.offset + clone.size).every((b) => b === 0),
    ).toBe(true);
  });

  it('is deterministic per version and distinct across versions within the first 10 MiB', async () => {
    const a = await buildEosImage({ outPath: join(dir, 'a.raw'), version: '7', sizes });
    const b = await buildEosImage({ outPath: join(dir, 'b.raw'), version: '7', sizes });
    const c = await buildEosImage({ outPath: join(dir, 'c.raw'), version: '8', sizes });
    expect(b.sha1).toBe(a.sha1);
    expect(b.rootPrefixHash).toBe(a.rootPrefixHash);
    expect(c.sha1).not.toBe(a.sha1);
    expect(c.rootPrefixHash).not.toBe(a.rootPrefixHash);
    // past the header too: the bytes after the first 4 KiB differ as well
    expect(await rootPrefixHash({ path: c.path, offset: c.root.offset + 4096 })).not.toBe(
      await rootPrefixHash({ path: a.path, offset: a.root.offset + 4096 }),
    );
  });

  it('writes an xz image that decompresses to the same raw image', async () => {
    const raw = await buildEosImage({
      outPath: join(dir, 'x.raw'),
      version: '3',
      sizes,
      arch: 'aarch64',
      profile: 'RPI',
    });
    const xz = await buildEosImage({
      outPath: join(dir, 'x.raw.xz'),
      version: '3',
      sizes,
      arch: 'aarch64',
      profile: 'RPI',
      xz: true,
    });
    expect(xz.compressed).toBe(true);
    expect(readFileSync(xz.path).subarray(0, 6).toString('hex')).toBe('fd377a585a00');
    expect(statSync(xz.path).size).toBeLessThan(raw.rawBytes / 4);
    const unpacked = join(dir, 'x-unpacked.raw');
    execSync(`xz -dc ${xz.path} > ${unpacked}`, { shell: '/bin/bash' });
    expect(await sha1OfFile(unpacked)).toBe(xz.sha1);
    expect(xz.sha1).toBe(raw.sha1);
    expect(xz.imageName).toBe('EOS.aarch64-RPI');
  });

  it('has no second slot on the Static profile and rejects bad options', async () => {
    const s = await buildEosImage({
      outPath: join(dir, 's.raw'),
      version: '1',
      sizes,
      profile: 'Static',
    });
    expect(s.partitions.map((p) => p.label)).toEqual(['p.UEFI', 'p.lxreadonly', 'p.spare']);
    await expect(buildEosImage({ outPath: join(dir, 'bad.raw'), version: 'a b' })).rejects.toThrow(
      /version/,
    );
    await expect(
      buildEosImage({ outPath: join(dir, 'bad.raw'), version: '1', sizes: { root: 0 } }),
    ).rejects.toThrow(/root/);
  });

  it('is what the CLI builds', () => {
    const out = join(dir, 'cli.raw');
    const json = execFileSync(
      'npx',
      [
        'tsx',
        'src/cli/build-image.ts',
        '--version',
        '1',
        '--out',
        out,
        '--root-mib',
        '12',
        '--uefi-mib',
        '2',
        '--spare-mib',
        '1',
      ],
      { encoding: 'utf8', cwd: join(import.meta.dirname, '..') },
    );
    const facts = JSON.parse(json) as { sha1: string; root: { size: number } };
    expect(facts.root.size).toBe(12 * MiB);
    expect(facts.sha1).toBe(execFileSync('sha1sum', [out], { encoding: 'utf8' }).split(' ')[0]);
    expect(readFileSync(join(dir, 'v1.raw')).equals(readFileSync(out))).toBe(true);
  });
});
