// EOS's server-schema /etc/os-update.yml: `update: [{ image: URL, name: NAME.raw }]`.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** Image base names (without .raw) are file names: no slash, no `@` (reserved for pins). */
export const IMAGE_BASE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const entrySchema = z.object({
  image: z
    .url()
    .refine((u) => /^(https?|file):/.test(u), 'only http(s):// and file:// URLs are supported'),
  name: z
    .string()
    .transform((n) => n.replace(/\.raw$/, ''))
    .refine((n) => IMAGE_BASE_RE.test(n), 'must be a plain file name like EOS.aarch64-RPI-TW.raw'),
});

export const osUpdateServerYmlSchema = z.object({ update: z.array(entrySchema).default([]) });

export interface ImageSource {
  /** Base name: NAME in NAME.raw, NAME.raw.dev, ... */
  name: string;
  url: string;
}

export async function readOsUpdateYml(path: string): Promise<ImageSource[]> {
  const doc: unknown = parseYaml(await readFile(path, 'utf8'));
  const result = osUpdateServerYmlSchema.safeParse(doc ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`${path}: ${lines.join('; ')}`);
  }
  const seen = new Set<string>();
  return result.data.update.map((e) => {
    if (seen.has(e.name)) throw new Error(`${path}: image name ${e.name}.raw listed twice`);
    seen.add(e.name);
    return { name: e.name, url: e.image };
  });
}
