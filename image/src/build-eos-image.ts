// Builds small but real EOS-shaped GPT disk images for tests and benches: the same partition labels
// as EOS (p.UEFI, p.lxreadonly, p.lxrootclone1, p.spare), deterministic bytes per version, and
// optionally xz-compressed like the published EOS.*.raw.xz. Invariants:
// - the same options give byte-identical images (GUIDs and contents derive from them);
// - different versions differ within the first 10 MiB of p.lxreadonly (the root prefix hash);
// - p.lxrootclone1 (slot B) is empty, as on a freshly flashed disk; p.spare is zeros.
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  EOS_PROFILES,
  GPT_TYPE,
  type EosProfile,
  type GptPartition,
  type GptPartitionSpec,
  findPartition,
  planGpt,
  rootPrefixHash,
  sha1OfFile,
  writeGpt,
} from '@eos-fleet/shared';
import { EOS_ARCHES, FIRMWARE_MAGIC, ROOT_MAGIC, encodeHeader, type EosArch } from './root-header';

const MiB = 1024 * 1024;

export interface EosImageSizes {
  /** p.UEFI, MiB (EOS: 20). */
  uefi: number;
  /** Each root slot, MiB (EOS AB: 1200). Keep above 10 for a meaningful root prefix hash. */
  root: number;
  /** p.spare, MiB. */
  spare: number;
}

export const DEFAULT_SIZES: EosImageSizes = { uefi: 4, root: 16, spare: 4 };

export interface BuildEosImageOptions {
  outPath: string;
  version: string;
  profile?: EosProfile;
  arch?: EosArch;
  sizes?: Partial<EosImageSizes>;
  /** Write `outPath` xz-compressed (the raw image is not kept). */
  xz?: boolean;
  /** Image name written into the header; default `EOS.<arch>-<profile>`. */
  imageName?: string;
  /** The xz binary (Debian's xz-utils). */
  xzPath?: string;
}

async function sha256OfRange(path: string, offset: number, length: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, {
    start: offset,
    end: offset + length - 1,
    highWaterMark: 1 << 20,
  }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface BuiltEosImage {
  path: string;
  compressed: boolean;
  /** Size and sha1 of the uncompressed disk image (what the update server publishes as NAME.raw). */
  rawBytes: number;
  sha1: string;
  /** sha1 of the first 10 MiB of p.lxreadonly. */
  rootPrefixHash: string;
  /** sha256 of the whole p.lxreadonly (what an apply pins besides the prefix; root.size is its length). */
  rootSha256: string;
  root: GptPartition;
  firmware: GptPartition;
  partitions: GptPartition[];
  version: string;
  arch: EosArch;
  profile: EosProfile;
  imageName: string;
}

const VERSION_RE = /^[A-Za-z0-9._+-]+$/;

export function defaultImageName(arch: EosArch, profile: EosProfile): string {
  return `EOS.${arch}-${profile}`;
}

/** A deterministic, incompressible byte source: AES-256-CTR keystream keyed by the seed. */
export function seededBytes(seed: string): (length: number) => Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

const BLOCK = 4096;
const POOL_BLOCKS = 16;

/**
 * Partition content that looks like a filesystem to a compressor: 4 KiB blocks drawn from a small
 * seeded pool (so xz shrinks and decompresses it quickly, as it does real images), each stamped
 * with its own offset (so every block is unique and a misplaced byte range never hashes equal).
 */
async function fillPartition(
  fh: Awaited<ReturnType<typeof open>>,
  part: GptPartition,
  header: Buffer,
  seed: string,
): Promise<void> {
  const next = seededBytes(seed);
  const pool = next(POOL_BLOCKS * BLOCK);
  const picks = next(part.size / BLOCK);
  const chunk = Buffer.alloc(MiB);
  for (let at = 0; at < part.size; at += MiB) {
    const len = Math.min(MiB, part.size - at);
    for (let b = 0; b < len; b += BLOCK) {
      const index = (at + b) / BLOCK;
      const from = ((picks[index] ?? 0) % POOL_BLOCKS) * BLOCK;
      pool.copy(chunk, b, from, from + BLOCK);
      chunk.writeBigUInt64LE(BigInt(part.offset + at + b), b);
    }
    if (at === 0) header.copy(chunk, 0);
    await fh.write(chunk, 0, len, part.offset + at);
  }
}

export async function xzCompressFile(
  input: string,
  output: string,
  xzPath = '/usr/bin/xz',
): Promise<void> {
  // -0 keeps it quick: the payload is random and does not compress anyway; -T1 keeps it deterministic.
  const child = spawn(xzPath, ['-z', '-c', '-0', '-T1', '--check=crc64'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  await Promise.all([
    pipeline(createReadStream(input), child.stdin),
    pipeline(child.stdout, createWriteStream(output)),
  ]);
  const code = await exited;
  if (code !== 0) throw new Error(`xz failed (${code}): ${stderr.trim()}`);
}

export async function buildEosImage(options: BuildEosImageOptions): Promise<BuiltEosImage> {
  const arch = options.arch ?? 'x86_64';
  const profile = options.profile ?? 'AB';
  const sizes = { ...DEFAULT_SIZES, ...options.sizes };
  if (!VERSION_RE.test(options.version))
    throw new Error(`invalid version ${JSON.stringify(options.version)}`);
  if (!EOS_ARCHES.includes(arch)) throw new Error(`invalid arch ${arch}`);
  if (!EOS_PROFILES.includes(profile)) throw new Error(`invalid profile ${profile}`);
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`size ${k} must be a whole number of MiB >= 1`);
  }
  const imageName = options.imageName ?? defaultImageName(arch, profile);
  const seed = `eos-testbed/${imageName}/${arch}/${profile}/${options.version}`;

  const specs: GptPartitionSpec[] = [
    { label: 'p.UEFI', typeGuid: GPT_TYPE.efiSystem, sizeBytes: sizes.uefi * MiB },
    { label: 'p.lxreadonly', typeGuid: GPT_TYPE.linuxFilesystem, sizeBytes: sizes.root * MiB },
    // The Static profile has no second slot and cannot update (EOS.md).
    ...(profile === 'Static'
      ? []
      : [
          {
            label: 'p.lxrootclone1',
            typeGuid: GPT_TYPE.linuxFilesystem,
            sizeBytes: sizes.root * MiB,
          },
        ]),
    { label: 'p.spare', typeGuid: GPT_TYPE.linuxLuks, sizeBytes: sizes.spare * MiB },
  ];
  const layout = planGpt(specs, seed);
  const root = findPartition(layout, 'p.lxreadonly');
  const firmware = findPartition(layout, 'p.UEFI');
  if (!root || !firmware) throw new Error('layout lost a partition');

  const rawPath = options.xz ? `${options.outPath}.raw-tmp` : options.outPath;
  const fh = await open(rawPath, 'w');
  try {
    await fh.truncate(layout.diskBytes);
    const common = {
      VERSION_ID: options.version,
      EOS_ARCH: arch,
      EOS_PROFILE: profile,
      EOS_IMAGE_NAME: imageName,
    };
    await fillPartition(
      fh,
      root,
      encodeHeader(ROOT_MAGIC, {
        ID: 'eos',
        NAME: 'EOS',
        ...common,
        EOS_ROOT_BYTES: String(root.size),
      }),
      `${seed}/root`,
    );
    await fillPartition(fh, firmware, encodeHeader(FIRMWARE_MAGIC, common), `${seed}/firmware`);
  } finally {
    await fh.close();
  }
  await writeGpt(rawPath, layout);

  const [sha1, prefix, rootSha256] = await Promise.all([
    sha1OfFile(rawPath),
    rootPrefixHash({ path: rawPath, offset: root.offset, length: root.size }),
    sha256OfRange(rawPath, root.offset, root.size),
  ]);
  if (options.xz) {
    const tmpXz = `${options.outPath}.xz-tmp`;
    try {
      await xzCompressFile(rawPath, tmpXz, options.xzPath);
      await rename(tmpXz, options.outPath);
    } finally {
      await rm(rawPath, { force: true });
      await rm(tmpXz, { force: true });
    }
  }
  return {
    path: options.outPath,
    compressed: options.xz === true,
    rawBytes: layout.diskBytes,
    sha1,
    rootPrefixHash: prefix,
    rootSha256,
    root,
    firmware,
    partitions: layout.partitions,
    version: options.version,
    arch,
    profile,
    imageName,
  };
}
