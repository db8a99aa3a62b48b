import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GPT_TYPE,
  GptError,
  bufferReader,
  decodeGuid,
  encodeGpt,
  encodeGuid,
  findPartitionInFile,
  planGpt,
  readGpt,
  readGptFile,
  writeGpt,
} from './gpt';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'gpt-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const specs = [
  { label: 'p.UEFI', typeGuid: GPT_TYPE.efiSystem, sizeBytes: 2 * MiB },
  { label: 'p.lxreadonly', typeGuid: GPT_TYPE.linuxFilesystem, sizeBytes: 3 * MiB },
  { label: 'p.lxrootclone1', typeGuid: GPT_TYPE.linuxFilesystem, sizeBytes: 3 * MiB + 1 },
  { label: 'p.spare', typeGuid: GPT_TYPE.linuxLuks, sizeBytes: MiB },
];

function writeDisk(name: string, seed = 'seed-1'): string {
  const layout = planGpt(specs, seed);
  const path = join(dir, name);
  writeFileSync(path, '');
  truncateSync(path, layout.diskBytes);
  return path;
}

describe('GUID encoding', () => {
  it('stores the first three fields little-endian (the ESP type GUID as on real disks)', () => {
    expect(encodeGuid(GPT_TYPE.efiSystem).toString('hex')).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
    expect(decodeGuid(encodeGuid(GPT_TYPE.efiSystem))).toBe(GPT_TYPE.efiSystem);
  });
});

describe('planGpt', () => {
  it('aligns to 1 MiB, rounds sizes up, and derives distinct deterministic GUIDs', () => {
    const a = planGpt(specs, 'seed-1');
    const b = planGpt(specs, 'seed-1');
    const c = planGpt(specs, 'seed-2');
    expect(a).toEqual(b);
    expect(a.partitions.map((p) => [p.offset / MiB, p.size / MiB])).toEqual([
      [1, 2],
      [3, 3],
      [6, 4],
      [10, 1],
    ]);
    expect(a.diskBytes).toBe(12 * MiB);
    const guids = new Set([a.diskGuid, ...a.partitions.map((p) => p.uniqueGuid), c.diskGuid]);
    expect(guids.size).toBe(6);
    expect(c.partitions[0]?.uniqueGuid).not.toBe(a.partitions[0]?.uniqueGuid);
  });
});

describe('writeGpt / readGptFile', () => {
  it('round-trips labels, types, offsets and sizes', async () => {
    const path = writeDisk('roundtrip.raw');
    const layout = planGpt(specs, 'seed-1');
    await writeGpt(path, layout);
    expect(await readGptFile(path)).toEqual(layout);
    const root = await findPartitionInFile(path, 'p.lxreadonly');
    expect(root).toMatchObject({ offset: 3 * MiB, size: 3 * MiB });
    expect(await findPartitionInFile(path, 'p.nothing')).toBeUndefined();
  });

  it('writes a protective MBR and a backup table whose CRCs check out', () => {
    const layout = planGpt(specs, 'seed-1');
    const { head, tail, tailOffset } = encodeGpt(layout);
    expect(head.readUInt16LE(510)).toBe(0xaa55);
    expect(head.readUInt8(446 + 4)).toBe(0xee);
    expect(tailOffset + tail.length).toBe(layout.diskBytes);
    const backup = Buffer.from(tail.subarray(tail.length - 512, tail.length - 512 + 92));
    expect(backup.toString('latin1', 0, 8)).toBe('EFI PART');
    const stored = backup.readUInt32LE(16);
    backup.writeUInt32LE(0, 16);
    expect(crc32(backup)).toBe(stored);
    expect(Number(backup.readBigUInt64LE(24))).toBe(layout.diskBytes / 512 - 1);
    expect(crc32(tail.subarray(0, 128 * 128))).toBe(backup.readUInt32LE(88));
  });

  it('is read the same way by util-linux (partx)', async () => {
    const path = writeDisk('partx.raw');
    const layout = planGpt(specs, 'seed-1');
    await writeGpt(path, layout);
    const out = execFileSync(
      'partx',
      ['--bytes', '--noheadings', '--raw', '-o', 'NR,START,SECTORS,NAME,UUID,TYPE', path],
      {
        encoding: 'utf8',
      },
    );
    const rows = out
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(rows).toEqual(
      layout.partitions.map((p) => [
        String(p.index + 1),
        String(p.firstLba),
        String(p.size / 512),
        p.label,
        p.uniqueGuid.toLowerCase(),
        p.typeGuid.toLowerCase(),
      ]),
    );
  });

  it('rejects a corrupted header, a corrupted entry array and a truncated disk', async () => {
    const layout = planGpt(specs, 'seed-1');
    const { head } = encodeGpt(layout);
    const disk = Buffer.alloc(layout.diskBytes);
    head.copy(disk);
    await expect(readGpt(bufferReader(disk), disk.length)).resolves.toEqual(layout);

    const badHeader = Buffer.from(disk);
    badHeader.writeUInt8(badHeader.readUInt8(512 + 60) ^ 1, 512 + 60);
    await expect(readGpt(bufferReader(badHeader))).rejects.toThrow(/header CRC/);

    const badEntries = Buffer.from(disk);
    badEntries.writeUInt8(badEntries.readUInt8(1024 + 130) ^ 1, 1024 + 130);
    await expect(readGpt(bufferReader(badEntries))).rejects.toThrow(/entry array CRC/);

    await expect(readGpt(bufferReader(disk), disk.length - 4 * MiB)).rejects.toThrow(GptError);
    await expect(readGpt(bufferReader(Buffer.alloc(4096)))).rejects.toThrow(/no GPT signature/);

    const path = join(dir, 'truncated.raw');
    writeFileSync(path, disk.subarray(0, 5 * MiB));
    await expect(readGptFile(path)).rejects.toThrow(/truncated/);
    expect(readFileSync(path).length).toBe(5 * MiB);
  });
});
