// The readable header at the start of every test image partition. It stands in for what a device
// would read from /etc/os-release of a mounted slot: the testbed and the agent parse it from the
// first bytes of a slot (see image/README.md for the format, which is a contract).
import { open } from 'node:fs/promises';

export const HEADER_BYTES = 4096;
export const ROOT_MAGIC = 'EOS-TESTBED-ROOT/1';
export const FIRMWARE_MAGIC = 'EOS-TESTBED-ESP/1';

export const EOS_ARCHES = ['x86_64', 'aarch64'] as const;
export type EosArch = (typeof EOS_ARCHES)[number];

export interface PartitionHeader {
  magic: string;
  /** KEY=VALUE pairs in file order, values unquoted. */
  fields: Record<string, string>;
}

const SAFE_VALUE = /^[A-Za-z0-9._+@:-]+$/;

export function encodeHeader(magic: string, fields: Record<string, string>): Buffer {
  const lines = [magic];
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`bad header key ${key}`);
    if (!SAFE_VALUE.test(value))
      throw new Error(`bad header value for ${key}: ${JSON.stringify(value)}`);
    lines.push(`${key}=${value}`);
  }
  const text = `${lines.join('\n')}\n\n`;
  if (Buffer.byteLength(text) > HEADER_BYTES) throw new Error('header too large');
  const buf = Buffer.alloc(HEADER_BYTES);
  buf.write(text, 'ascii');
  return buf;
}

/** Parses a header from the first bytes of a partition; undefined when the magic is not there. */
export function parseHeader(bytes: Buffer, magic: string): PartitionHeader | undefined {
  const text = bytes.subarray(0, HEADER_BYTES).toString('latin1');
  const end = text.indexOf('\n\n');
  if (end < 0) return undefined;
  const [first, ...rest] = text.slice(0, end).split('\n');
  if (first !== magic) return undefined;
  const fields: Record<string, string> = {};
  for (const line of rest) {
    const eq = line.indexOf('=');
    if (eq <= 0) return undefined;
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { magic, fields };
}

export interface RootFacts {
  version: string;
  arch: string;
  profile: string;
  imageName: string;
  /** The os-release-like fields as written (ID, NAME, VERSION_ID, EOS_ARCH, ...). */
  fields: Record<string, string>;
}

export function parseRootHeader(bytes: Buffer): RootFacts | undefined {
  const h = parseHeader(bytes, ROOT_MAGIC);
  if (!h) return undefined;
  const { VERSION_ID, EOS_ARCH, EOS_PROFILE, EOS_IMAGE_NAME } = h.fields;
  if (!VERSION_ID || !EOS_ARCH || !EOS_PROFILE || !EOS_IMAGE_NAME) return undefined;
  return {
    version: VERSION_ID,
    arch: EOS_ARCH,
    profile: EOS_PROFILE,
    imageName: EOS_IMAGE_NAME,
    fields: h.fields,
  };
}

/** Reads the root facts of a slot: a slot file (offset 0) or a partition inside an image. */
export async function readRootFacts(path: string, offset = 0): Promise<RootFacts | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEADER_BYTES, offset);
    return parseRootHeader(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}
