// The image's own version, read from its root partition without mounting it, when the partition
// says it: the testbed's images start with an os-release-like header (image/README.md, "Partition
// header format", a contract), whose VERSION_ID is what /etc/os-release says on the device. A real
// EOS root is a squashfs: reading its /etc/os-release needs a squashfs reader this server does not
// have yet, so such a version has none (null), and the dashboard names it by its label or hash.
import { open } from 'node:fs/promises';

const HEADER_BYTES = 4096;
const ROOT_MAGIC = 'EOS-TESTBED-ROOT/1';
const VALUE = /^[A-Za-z0-9._+@:~-]{1,100}$/;

/** os-release fields from the start of a root partition, or null when it carries none. */
export function parseRootOsRelease(bytes: Buffer): Record<string, string> | null {
  const text = bytes.subarray(0, HEADER_BYTES).toString('latin1');
  const end = text.indexOf('\n\n');
  if (end < 0) return null;
  const [magic, ...lines] = text.slice(0, end).split('\n');
  if (magic !== ROOT_MAGIC) return null;
  const fields: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) return null;
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** VERSION_ID (else VERSION) of the root partition at `offset` of `path`; null when unknown. */
export async function readRootOsVersion(path: string, offset: number): Promise<string | null> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await file.read(buffer, 0, HEADER_BYTES, offset);
    const fields = parseRootOsRelease(buffer.subarray(0, bytesRead));
    const version = fields?.VERSION_ID ?? fields?.VERSION;
    return version && VALUE.test(version) ? version : null;
  } finally {
    await file.close();
  }
}
