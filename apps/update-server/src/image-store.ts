// The published images and their kept versions, on disk under the publish directory:
//
//   <publishDir>/NAME.raw                      hard link to the current version (EOS layout)
//   <publishDir>/NAME.raw.sha                  "<sha1>  NAME.raw"
//   <publishDir>/.versions/NAME/<sha1>.raw     each kept version, content-addressed, never modified
//   <publishDir>/.versions/NAME/index.json     versions, current pointer, fetch status
//   <publishDir>/.staging/                     downloads in progress (same filesystem: rename is atomic)
//
// NAME.raw.dev / NAME.raw.firmware are not files: they are served as the partition byte range of
// the version file. A stream holds an open fd on its version file (and a reference that keeps it
// from being pruned), so a swap or a prune never changes the bytes of a stream in progress.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, readFile, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { findPartition, readGptFile, ROOT_PREFIX_BYTES } from '@eos-fleet/shared';
import { writeFileAtomic } from '@eos-fleet/shared/atomic-write';
import { z } from 'zod';
import { readRootOsVersion } from './os-release';
import { IMAGE_BASE_RE } from './os-update-yml';

const rangeSchema = z.object({ offset: z.number().int().min(0), size: z.number().int().min(0) });

const versionSchema = z.object({
  sha1: z.string().regex(/^[0-9a-f]{40}$/),
  rootPrefixHash: z.string().regex(/^[0-9a-f]{40}$/),
  /** sha256 of the whole root partition stream (NAME.raw.dev): what a device's slot must hash to. */
  rootSha256: z.string().regex(/^[0-9a-f]{64}$/),
  imageBytes: z.number().int().min(0),
  root: rangeSchema,
  firmware: rangeSchema,
  source: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /** the image's own os-release version, when its root partition says it (os-release.ts) */
  osVersion: z.string().nullable(),
});
export type ImageVersion = z.infer<typeof versionSchema>;
/** index.json written before rootSha256 existed: computed once on load, then saved. */
const storedVersionSchema = versionSchema.extend({
  rootSha256: versionSchema.shape.rootSha256.optional(),
  /** index.json written before osVersion existed: read once on load, then saved */
  osVersion: versionSchema.shape.osVersion.optional(),
});

const fetchStatusSchema = z.object({
  state: z.enum(['never', 'ok', 'error']),
  lastAttemptAt: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  lastChangeAt: z.string().nullable(),
  lastError: z.object({ message: z.string(), at: z.string() }).nullable(),
});
export type FetchStatus = z.infer<typeof fetchStatusSchema>;

const recordSchema = z.object({
  name: z.string().regex(IMAGE_BASE_RE),
  source: z.string(),
  currentSha1: z.string().nullable(),
  /** Newest first. */
  versions: z.array(storedVersionSchema),
  fetch: fetchStatusSchema,
  /** Upstream's validators for the current version, to skip unchanged downloads (304). */
  upstream: z
    .object({ url: z.string(), etag: z.string().optional(), lastModified: z.string().optional() })
    .nullable()
    .default(null),
});
export type ImageRecord = Omit<z.infer<typeof recordSchema>, 'versions'> & {
  versions: ImageVersion[];
};

export type FetchOutcome = 'published' | 'unchanged' | 'reactivated';
export type ServedPart = 'raw' | 'sha' | 'dev' | 'firmware';

/** A resolved request for a published file: which version, which byte range of which file. */
export interface ServedFile {
  fileName: string;
  image: string;
  part: ServedPart;
  version: ImageVersion;
  pinned: boolean;
  /** The version file to read from and the byte range of it that is this file. */
  path: string;
  offset: number;
  size: number;
  /** For `.raw.sha`: the content itself. */
  text?: string;
}

/**
 * Published names: `NAME.raw`, `NAME.raw.sha`, `NAME.raw.dev`, `NAME.raw.firmware`, and pinned
 * `NAME@<hash>.raw[.sha|.dev|.firmware]` where hash is a root prefix hash (the newest kept version
 * with it) or a whole-image sha1.
 */
const FILE_RE =
  /^(?<base>[A-Za-z0-9][A-Za-z0-9._-]*?)(?:@(?<pin>[0-9a-f]{40}))?\.raw(?<suffix>\.sha|\.dev|\.firmware)?$/;

export function parsePublishedName(
  fileName: string,
): { base: string; pin: string | undefined; part: ServedPart } | undefined {
  const m = FILE_RE.exec(fileName);
  const base = m?.groups?.base;
  if (!m || !base) return undefined;
  const suffix = m.groups?.suffix;
  const part: ServedPart =
    suffix === '.sha'
      ? 'sha'
      : suffix === '.dev'
        ? 'dev'
        : suffix === '.firmware'
          ? 'firmware'
          : 'raw';
  return { base, pin: m.groups?.pin, part };
}

function now(): string {
  return new Date().toISOString();
}

/** Published files are world-readable, like EOS's (a web server may serve the directory). */
const PUBLISHED_MODE = 0o644;

export interface ImageHashes {
  sha1: string;
  rootPrefixHash: string;
  rootSha256: string;
}

/**
 * One read of an image gives every hash it is known by: sha1 of the whole file, and of its root
 * partition (`root`, a byte range) the root prefix hash (sha1 of its first 10 MiB, what
 * `os-update --check` compares) and the sha256 of all of it (what a device's slot must hash to).
 */
export async function hashImage(
  path: string,
  root: { offset: number; size: number },
): Promise<ImageHashes> {
  const whole = createHash('sha1');
  const prefix = createHash('sha1');
  const rootHash = createHash('sha256');
  const rootEnd = root.offset + root.size;
  const prefixEnd = root.offset + Math.min(root.size, ROOT_PREFIX_BYTES);
  let pos = 0;
  for await (const data of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const chunk = data as Buffer;
    whole.update(chunk);
    const end = pos + chunk.length;
    const from = Math.max(pos, root.offset);
    const to = Math.min(end, rootEnd);
    if (from < to) rootHash.update(chunk.subarray(from - pos, to - pos));
    const prefixTo = Math.min(end, prefixEnd);
    if (from < prefixTo) prefix.update(chunk.subarray(from - pos, prefixTo - pos));
    pos = end;
  }
  if (pos < rootEnd)
    throw new Error(
      `image is shorter (${pos} bytes) than its p.lxreadonly partition ends (${rootEnd})`,
    );
  return {
    sha1: whole.digest('hex'),
    rootPrefixHash: prefix.digest('hex'),
    rootSha256: rootHash.digest('hex'),
  };
}

/** sha256 of a byte range of a file (a kept version's root partition, for an old index). */
async function sha256OfRange(
  path: string,
  range: { offset: number; size: number },
): Promise<string> {
  const hash = createHash('sha256');
  if (range.size === 0) return hash.digest('hex');
  const stream = createReadStream(path, {
    start: range.offset,
    end: range.offset + range.size - 1,
    highWaterMark: 1024 * 1024,
  });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export class ImageStore {
  private readonly records = new Map<string, ImageRecord>();
  /** Open streams per version file path: such versions are not pruned. */
  private readonly inUse = new Map<string, number>();
  readonly versionsDir: string;
  readonly stagingDir: string;

  constructor(
    readonly publishDir: string,
    private readonly keepVersions: number,
  ) {
    this.versionsDir = join(publishDir, '.versions');
    this.stagingDir = join(publishDir, '.staging');
  }

  async load(): Promise<void> {
    await mkdir(this.versionsDir, { recursive: true });
    await rm(this.stagingDir, { recursive: true, force: true });
    await mkdir(this.stagingDir, { recursive: true });
    for (const name of await readdir(this.versionsDir)) {
      if (!IMAGE_BASE_RE.test(name)) continue;
      try {
        const raw: unknown = JSON.parse(
          await readFile(join(this.versionsDir, name, 'index.json'), 'utf8'),
        );
        const stored = recordSchema.parse(raw);
        // Keep only versions whose file is really there; hash the root of versions from an index
        // older than rootSha256 (once: the index is saved with it).
        const present: ImageVersion[] = [];
        let upgraded = false;
        for (const v of stored.versions) {
          const path = this.versionPath(name, v.sha1);
          if (
            !(await stat(path).then(
              () => true,
              () => false,
            ))
          )
            continue;
          const rootSha256 = v.rootSha256 ?? (await sha256OfRange(path, v.root));
          const osVersion =
            v.osVersion !== undefined ? v.osVersion : await readRootOsVersion(path, v.root.offset);
          if (v.rootSha256 === undefined || v.osVersion === undefined) upgraded = true;
          present.push({ ...v, rootSha256, osVersion });
        }
        const record: ImageRecord = { ...stored, versions: present };
        // Version files the index does not know (a crash between rename and index write) are dropped.
        for (const file of await readdir(join(this.versionsDir, name))) {
          const sha1 = /^([0-9a-f]{40})\.raw$/.exec(file)?.[1];
          if (sha1 && !present.some((v) => v.sha1 === sha1))
            await rm(join(this.versionsDir, name, file), { force: true });
        }
        if (!present.some((v) => v.sha1 === record.currentSha1))
          record.currentSha1 = present[0]?.sha1 ?? null;
        this.records.set(name, record);
        if (upgraded) await this.save(record);
      } catch {
        // An unreadable index is not fatal: the next fetch republishes the image.
      }
    }
  }

  list(): ImageRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): ImageRecord | undefined {
    return this.records.get(name);
  }

  ensure(name: string, source: string): ImageRecord {
    let record = this.records.get(name);
    if (!record) {
      record = {
        name,
        source,
        currentSha1: null,
        versions: [],
        fetch: {
          state: 'never',
          lastAttemptAt: null,
          lastSuccessAt: null,
          lastChangeAt: null,
          lastError: null,
        },
        upstream: null,
      };
      this.records.set(name, record);
    }
    record.source = source;
    return record;
  }

  current(record: ImageRecord): ImageVersion | undefined {
    return record.versions.find((v) => v.sha1 === record.currentSha1);
  }

  versionPath(name: string, sha1: string): string {
    return join(this.versionsDir, name, `${sha1}.raw`);
  }

  stagingPath(name: string): string {
    return join(this.stagingDir, `${name}.${randomBytes(6).toString('hex')}.raw`);
  }

  /**
   * Takes a complete downloaded image from staging and makes it the current version of `name`,
   * or notes that it is unchanged. Throws (leaving the current version alone) when the image is
   * not an EOS disk: no GPT, no p.lxreadonly or p.UEFI, or shorter than its partition table says.
   */
  async accept(
    name: string,
    source: string,
    stagedPath: string,
  ): Promise<{ outcome: FetchOutcome; version: ImageVersion }> {
    const record = this.ensure(name, source);
    // The partition table is in the first KiBs; then one pass over the image hashes everything.
    const layout = await readGptFile(stagedPath);
    const root = findPartition(layout, 'p.lxreadonly');
    const firmware = findPartition(layout, 'p.UEFI');
    if (!root) throw new Error('image has no p.lxreadonly partition');
    if (!firmware) throw new Error('image has no p.UEFI partition');
    const hashes = await hashImage(stagedPath, root);
    const sha1 = hashes.sha1;
    const at = now();
    const known = record.versions.find((v) => v.sha1 === sha1);
    if (known) {
      await rm(stagedPath, { force: true });
      known.lastSeen = at;
      const outcome: FetchOutcome = record.currentSha1 === sha1 ? 'unchanged' : 'reactivated';
      if (outcome === 'reactivated') {
        // Upstream went back to a version we kept: it becomes current again, newest in the list.
        record.versions = [known, ...record.versions.filter((v) => v !== known)];
        await this.publish(record, known);
      }
      return { outcome, version: known };
    }
    const version: ImageVersion = {
      ...hashes,
      osVersion: await readRootOsVersion(stagedPath, root.offset),
      imageBytes: (await stat(stagedPath)).size,
      root: { offset: root.offset, size: root.size },
      firmware: { offset: firmware.offset, size: firmware.size },
      source,
      firstSeen: at,
      lastSeen: at,
    };
    await mkdir(join(this.versionsDir, name), { recursive: true });
    await rename(stagedPath, this.versionPath(name, sha1));
    record.versions = [version, ...record.versions];
    await this.publish(record, version);
    return { outcome: 'published', version };
  }

  /** Points NAME.raw and NAME.raw.sha at `version`, each by an atomic rename. */
  private async publish(record: ImageRecord, version: ImageVersion): Promise<void> {
    record.currentSha1 = version.sha1;
    const rawLink = join(this.publishDir, `${record.name}.raw`);
    const tmp = `${rawLink}.${randomBytes(6).toString('hex')}.tmp`;
    await link(this.versionPath(record.name, version.sha1), tmp);
    await rename(tmp, rawLink);
    await writeFileAtomic(
      join(this.publishDir, `${record.name}.raw.sha`),
      `${version.sha1}  ${record.name}.raw\n`,
      PUBLISHED_MODE,
    );
    await this.save(record);
  }

  async save(record: ImageRecord): Promise<void> {
    await mkdir(join(this.versionsDir, record.name), { recursive: true });
    await writeFileAtomic(
      join(this.versionsDir, record.name, 'index.json'),
      `${JSON.stringify(record, null, 2)}\n`,
      PUBLISHED_MODE,
    );
  }

  /** Drops versions beyond `keepVersions` (newest kept); a version being streamed waits for a later prune. */
  async prune(record: ImageRecord): Promise<string[]> {
    const removed: string[] = [];
    const keep = record.versions.slice(0, this.keepVersions);
    if (record.currentSha1 && !keep.some((v) => v.sha1 === record.currentSha1)) {
      const cur = this.current(record);
      if (cur) keep.push(cur);
    }
    for (const v of record.versions) {
      if (keep.includes(v)) continue;
      const path = this.versionPath(record.name, v.sha1);
      if ((this.inUse.get(path) ?? 0) > 0) {
        keep.push(v);
        continue;
      }
      await unlink(path).catch(() => undefined);
      removed.push(v.sha1);
    }
    record.versions = record.versions.filter((v) => keep.includes(v));
    if (removed.length > 0) await this.save(record);
    return removed;
  }

  /** Resolves a published file name (see FILE_RE) to what to serve, or undefined. */
  resolve(fileName: string): ServedFile | undefined {
    const parsed = parsePublishedName(fileName);
    if (!parsed) return undefined;
    const record = this.records.get(parsed.base);
    if (!record) return undefined;
    const version = parsed.pin
      ? (record.versions.find((v) => v.rootPrefixHash === parsed.pin) ??
        record.versions.find((v) => v.sha1 === parsed.pin))
      : this.current(record);
    if (!version) return undefined;
    const path = this.versionPath(record.name, version.sha1);
    const base = {
      fileName,
      image: record.name,
      part: parsed.part,
      version,
      pinned: parsed.pin !== undefined,
      path,
    };
    switch (parsed.part) {
      case 'raw':
        return { ...base, offset: 0, size: version.imageBytes };
      case 'dev':
        return { ...base, ...version.root };
      case 'firmware':
        return { ...base, ...version.firmware };
      case 'sha': {
        const text = `${version.sha1}  ${parsed.pin ? fileName.replace(/\.sha$/, '') : `${record.name}.raw`}\n`;
        return { ...base, offset: 0, size: Buffer.byteLength(text), text };
      }
    }
  }

  /** Marks a version file as streamed; call the returned function when the stream ends. */
  acquire(path: string): () => void {
    this.inUse.set(path, (this.inUse.get(path) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.inUse.get(path) ?? 1) - 1;
      if (n <= 0) this.inUse.delete(path);
      else this.inUse.set(path, n);
    };
  }
}
