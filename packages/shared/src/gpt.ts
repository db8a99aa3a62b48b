// A small GUID Partition Table codec: enough to build EOS-shaped test images and to find a
// partition by its PARTLABEL in a published image, the way EOS's os-update and update server do.
// Invariants: 512-byte logical sectors; 128 entries of 128 bytes (the UEFI default, 32 sectors);
// partitions aligned to 1 MiB; all GUIDs are derived from a seed, so the same plan gives the same bytes.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';

export const SECTOR_BYTES = 512;
const ENTRY_COUNT = 128;
const ENTRY_BYTES = 128;
const ENTRY_ARRAY_SECTORS = (ENTRY_COUNT * ENTRY_BYTES) / SECTOR_BYTES; // 32
const HEADER_BYTES = 92;
const SIGNATURE = 'EFI PART';
const ALIGN_BYTES = 1024 * 1024;

/** Partition type GUIDs (UEFI spec and the Discoverable Partitions Specification). */
export const GPT_TYPE = {
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linuxFilesystem: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  linuxLuks: 'CA7D7CCB-63ED-4C53-861C-1742536059CC',
} as const;

export interface GptPartitionSpec {
  /** PARTLABEL, at most 36 UTF-16 code units. */
  label: string;
  typeGuid: string;
  sizeBytes: number;
}

export interface GptPartition {
  index: number;
  label: string;
  typeGuid: string;
  uniqueGuid: string;
  firstLba: number;
  lastLba: number;
  /** Byte offset of the partition in the disk. */
  offset: number;
  /** Byte length of the partition. */
  size: number;
}

export interface GptLayout {
  diskGuid: string;
  diskBytes: number;
  partitions: GptPartition[];
}

export class GptError extends Error {
  override name = 'GptError';
}

/** A GUID string derived from a seed: sha1 shaped as an RFC 4122 version-4 GUID. */
export function deterministicGuid(seed: string): string {
  const b = createHash('sha1').update(seed).digest();
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** GUIDs are stored mixed-endian: the first three fields little-endian, the rest as written. */
export function encodeGuid(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new GptError(`invalid GUID: ${guid}`);
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  raw.subarray(0, 4).reverse().copy(out, 0);
  raw.subarray(4, 6).reverse().copy(out, 4);
  raw.subarray(6, 8).reverse().copy(out, 6);
  raw.subarray(8, 16).copy(out, 8);
  return out;
}

export function decodeGuid(buf: Buffer): string {
  const raw = Buffer.alloc(16);
  buf.subarray(0, 4).copy(raw, 0);
  buf.subarray(4, 6).copy(raw, 4);
  buf.subarray(6, 8).copy(raw, 6);
  raw.subarray(0, 4).reverse();
  raw.subarray(4, 6).reverse();
  raw.subarray(6, 8).reverse();
  buf.subarray(8, 16).copy(raw, 8);
  const h = raw.toString('hex').toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * Lays partitions out back to back from 1 MiB, each rounded up to 1 MiB, and leaves 1 MiB at the end
 * for the backup table. `seed` makes the disk and partition GUIDs deterministic and distinct.
 */
export function planGpt(specs: readonly GptPartitionSpec[], seed: string): GptLayout {
  if (specs.length > ENTRY_COUNT) throw new GptError(`at most ${ENTRY_COUNT} partitions`);
  let offset = ALIGN_BYTES;
  const partitions = specs.map((spec, index): GptPartition => {
    if (spec.label.length > 36) throw new GptError(`label too long: ${spec.label}`);
    if (!Number.isSafeInteger(spec.sizeBytes) || spec.sizeBytes <= 0) {
      throw new GptError(`invalid size for ${spec.label}: ${spec.sizeBytes}`);
    }
    const size = Math.ceil(spec.sizeBytes / ALIGN_BYTES) * ALIGN_BYTES;
    const part: GptPartition = {
      index,
      label: spec.label,
      typeGuid: spec.typeGuid.toUpperCase(),
      uniqueGuid: deterministicGuid(`${seed}/partition/${index}/${spec.label}`),
      firstLba: offset / SECTOR_BYTES,
      lastLba: (offset + size) / SECTOR_BYTES - 1,
      offset,
      size,
    };
    offset += size;
    return part;
  });
  return {
    diskGuid: deterministicGuid(`${seed}/disk`),
    diskBytes: offset + ALIGN_BYTES,
    partitions,
  };
}

function encodeEntries(layout: GptLayout): Buffer {
  const entries = Buffer.alloc(ENTRY_COUNT * ENTRY_BYTES);
  for (const p of layout.partitions) {
    const at = p.index * ENTRY_BYTES;
    encodeGuid(p.typeGuid).copy(entries, at);
    encodeGuid(p.uniqueGuid).copy(entries, at + 16);
    entries.writeBigUInt64LE(BigInt(p.firstLba), at + 32);
    entries.writeBigUInt64LE(BigInt(p.lastLba), at + 40);
    entries.writeBigUInt64LE(0n, at + 48); // attributes
    entries.write(p.label, at + 56, 72, 'utf16le');
  }
  return entries;
}

function encodeHeader(layout: GptLayout, entriesCrc: number, backup: boolean): Buffer {
  const lastLba = layout.diskBytes / SECTOR_BYTES - 1;
  const header = Buffer.alloc(SECTOR_BYTES);
  header.write(SIGNATURE, 0, 'latin1');
  header.writeUInt32LE(0x00010000, 8); // revision 1.0
  header.writeUInt32LE(HEADER_BYTES, 12);
  // CRC at 16 is computed over the header with this field zero.
  header.writeBigUInt64LE(BigInt(backup ? lastLba : 1), 24); // my LBA
  header.writeBigUInt64LE(BigInt(backup ? 1 : lastLba), 32); // alternate LBA
  header.writeBigUInt64LE(BigInt(2 + ENTRY_ARRAY_SECTORS), 40); // first usable
  header.writeBigUInt64LE(BigInt(lastLba - 1 - ENTRY_ARRAY_SECTORS), 48); // last usable
  encodeGuid(layout.diskGuid).copy(header, 56);
  header.writeBigUInt64LE(BigInt(backup ? lastLba - ENTRY_ARRAY_SECTORS : 2), 72); // entries LBA
  header.writeUInt32LE(ENTRY_COUNT, 80);
  header.writeUInt32LE(ENTRY_BYTES, 84);
  header.writeUInt32LE(entriesCrc, 88);
  header.writeUInt32LE(crc32(header.subarray(0, HEADER_BYTES)), 16);
  return header;
}

function encodeProtectiveMbr(layout: GptLayout): Buffer {
  const mbr = Buffer.alloc(SECTOR_BYTES);
  const sectors = Math.min(layout.diskBytes / SECTOR_BYTES - 1, 0xffffffff);
  const entry = 446;
  mbr.writeUInt8(0x00, entry); // not bootable
  mbr.writeUInt8(0x00, entry + 1); // CHS start 0/0/2
  mbr.writeUInt8(0x02, entry + 2);
  mbr.writeUInt8(0x00, entry + 3);
  mbr.writeUInt8(0xee, entry + 4); // GPT protective
  mbr.writeUInt8(0xff, entry + 5); // CHS end: saturated
  mbr.writeUInt8(0xff, entry + 6);
  mbr.writeUInt8(0xff, entry + 7);
  mbr.writeUInt32LE(1, entry + 8);
  mbr.writeUInt32LE(sectors, entry + 12);
  mbr.writeUInt16LE(0xaa55, 510);
  return mbr;
}

/** The bytes of both tables: `head` goes at offset 0 (MBR, header, entries), `tail` at `tailOffset`. */
export function encodeGpt(layout: GptLayout): { head: Buffer; tail: Buffer; tailOffset: number } {
  if (layout.diskBytes % SECTOR_BYTES !== 0) throw new GptError('disk size must be whole sectors');
  const entries = encodeEntries(layout);
  const entriesCrc = crc32(entries);
  const head = Buffer.concat([
    encodeProtectiveMbr(layout),
    encodeHeader(layout, entriesCrc, false),
    entries,
  ]);
  const tail = Buffer.concat([entries, encodeHeader(layout, entriesCrc, true)]);
  return { head, tail, tailOffset: layout.diskBytes - tail.length };
}

/** Writes the protective MBR and both GPT copies into an existing file of at least `diskBytes`. */
export async function writeGpt(path: string, layout: GptLayout): Promise<void> {
  const { head, tail, tailOffset } = encodeGpt(layout);
  const fh = await open(path, 'r+');
  try {
    await fh.write(head, 0, head.length, 0);
    await fh.write(tail, 0, tail.length, tailOffset);
  } finally {
    await fh.close();
  }
}

/** Anything positioned reads can come from: a file handle, or a buffer in tests. */
export interface PositionedReader {
  read(length: number, position: number): Promise<Buffer>;
}

export function bufferReader(buf: Buffer): PositionedReader {
  return { read: (length, position) => Promise.resolve(buf.subarray(position, position + length)) };
}

async function readExactly(
  reader: PositionedReader,
  length: number,
  position: number,
): Promise<Buffer> {
  const buf = await reader.read(length, position);
  if (buf.length < length) throw new GptError(`short read at ${position}: disk truncated`);
  return buf;
}

/**
 * Reads the primary GPT (validating signature and both CRCs) and returns its non-empty entries.
 * `diskBytes` (when known) is checked against every partition, so a truncated image is an error.
 */
export async function readGpt(reader: PositionedReader, diskBytes?: number): Promise<GptLayout> {
  const header = await readExactly(reader, SECTOR_BYTES, SECTOR_BYTES);
  if (header.toString('latin1', 0, 8) !== SIGNATURE)
    throw new GptError('no GPT signature at LBA 1');
  const headerSize = header.readUInt32LE(12);
  if (headerSize < HEADER_BYTES || headerSize > SECTOR_BYTES)
    throw new GptError(`bad header size ${headerSize}`);
  const storedCrc = header.readUInt32LE(16);
  const check = Buffer.from(header.subarray(0, headerSize));
  check.writeUInt32LE(0, 16);
  if (crc32(check) !== storedCrc) throw new GptError('GPT header CRC mismatch');
  const entriesLba = Number(header.readBigUInt64LE(72));
  const count = header.readUInt32LE(80);
  const entrySize = header.readUInt32LE(84);
  if (entrySize < 128 || count > 4096) throw new GptError('implausible GPT entry array');
  const entries = await readExactly(reader, count * entrySize, entriesLba * SECTOR_BYTES);
  if (crc32(entries) !== header.readUInt32LE(88))
    throw new GptError('GPT entry array CRC mismatch');
  const alternateLba = Number(header.readBigUInt64LE(32));
  if (diskBytes !== undefined && (alternateLba + 1) * SECTOR_BYTES > diskBytes) {
    throw new GptError('disk shorter than its GPT says (truncated image?)');
  }
  const partitions: GptPartition[] = [];
  for (let index = 0; index < count; index++) {
    const e = entries.subarray(index * entrySize, (index + 1) * entrySize);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const firstLba = Number(e.readBigUInt64LE(32));
    const lastLba = Number(e.readBigUInt64LE(40));
    const label = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    const part: GptPartition = {
      index,
      label,
      typeGuid: decodeGuid(e.subarray(0, 16)),
      uniqueGuid: decodeGuid(e.subarray(16, 32)),
      firstLba,
      lastLba,
      offset: firstLba * SECTOR_BYTES,
      size: (lastLba - firstLba + 1) * SECTOR_BYTES,
    };
    if (lastLba < firstLba) throw new GptError(`partition ${label} ends before it starts`);
    if (diskBytes !== undefined && part.offset + part.size > diskBytes) {
      throw new GptError(`partition ${label} extends past the end of the disk (truncated image?)`);
    }
    partitions.push(part);
  }
  return {
    diskGuid: decodeGuid(header.subarray(56, 72)),
    diskBytes: diskBytes ?? (alternateLba + 1) * SECTOR_BYTES,
    partitions,
  };
}

/** Reads the GPT of a disk image file; fails when the file is shorter than its table says. */
export async function readGptFile(path: string): Promise<GptLayout> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const layout = await readGpt(
      {
        read: async (length, position) => {
          const buf = Buffer.alloc(length);
          const { bytesRead } = await fh.read(buf, 0, length, position);
          return buf.subarray(0, bytesRead);
        },
      },
      size,
    );
    return layout;
  } finally {
    await fh.close();
  }
}

export function findPartition(layout: GptLayout, label: string): GptPartition | undefined {
  return layout.partitions.find((p) => p.label === label);
}

/** Finds a partition by PARTLABEL in an image file: its byte offset and size. */
export async function findPartitionInFile(
  path: string,
  label: string,
): Promise<GptPartition | undefined> {
  return findPartition(await readGptFile(path), label);
}
