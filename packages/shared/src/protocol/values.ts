// Value shapes that end up as argv elements of os-update / flake-ctl or inside the remote command
// os-update runs through ssh (`sudo cat /srv/www/fleet/os-images/NAME.raw.dev`). No value may start
// with `-` (option injection) and none may contain shell metacharacters, because the image name
// crosses a remote shell on the update server.
import { z } from 'zod';
import { ROOT_SLOTS } from '../domain';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** True when PostgreSQL can store `s` as text (see storableText). */
export function isStorableText(s: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

/**
 * Text PostgreSQL can store: `text` and `jsonb` refuse U+0000, and a lone UTF-16 surrogate cannot
 * be encoded. Every string a peer sends that reaches the database goes through this, so one
 * device's bad byte fails that device's frame alone (a typed `invalid_frame`), never a batch.
 */
export function storableText(max: number) {
  return z
    .string()
    .max(max)
    .refine(isStorableText, 'must not contain NUL (U+0000) or lone surrogate characters');
}

/**
 * For tool output, where losing the whole result over one byte would be worse: NUL and lone
 * surrogates become U+FFFD (what they are shown as anyway).
 */
export function escapeUnstorableText(s: string): string {
  return s.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
}

/** sha256 of a whole root partition stream (`NAME.raw.dev`), as the update server publishes it. */
export const rootSha256Schema = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'expected a lowercase sha256 hex digest (64 characters)');

export const rootPrefixHashSchema = z
  .string()
  .regex(/^[0-9a-f]{40}$/, 'expected a lowercase sha1 hex digest (40 characters)');

/** `user@host` (or just `host`) as os-update's `--server` passes it to ssh. */
export const sshDestinationSchema = z
  .string()
  .max(255)
  .regex(
    /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*@)?[A-Za-z0-9][A-Za-z0-9.-]*$/,
    'expected user@host with letters, digits, ".", "_" and "-" only',
  );

/** An EOS image name as in the device's /etc/os-update.yml: no `.raw` suffix, no path. */
export const imageNameSchema = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, 'expected letters, digits, ".", "_", "+" and "-" only')
  .refine((name) => !name.endsWith('.raw'), 'the image name has no ".raw" suffix');

/**
 * What os-update's `--read` takes: an image name, or the update server's pinned form
 * `NAME@<rootPrefixHash>` that names exactly one content version.
 */
export const updateImageNameSchema = z.union([
  imageNameSchema,
  z
    .string()
    .max(241)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._+-]*@[0-9a-f]{40}$/,
      'expected NAME@<root prefix hash> (40 lowercase hex digits)',
    ),
]);

/** Absolute path without `..` segments, restricted characters. */
export const absolutePathSchema = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._+/-]*$/, 'expected an absolute path of letters, digits and "._+-/"')
  .refine((p) => !p.split('/').includes('..'), 'the path must not contain ".." segments');

/** Container image reference or name (`registry.example.org/ns/app:tag`), VM names, layers. */
export const containerRefSchema = z
  .string()
  .max(512)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$/,
    'expected a container reference (no leading "-", no spaces)',
  );

export const httpUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((u) => !/[\s'"`$\\]/.test(u), 'the URL must not contain spaces, quotes, "$" or "\\"');

/** A podman option as flake-ctl `--opt` stores it (`--publish 8080:80`); no control characters. */
export const podmanOptSchema = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (o) => ![...o].some((c) => c.charCodeAt(0) < 0x20),
    'options must not contain control characters',
  );

export const overlaySizeSchema = z
  .string()
  .regex(/^[0-9]+(?:[KMGT]i?B?)?$/, 'expected a size like 20GiB');

export const rootSlotSchema = z.enum(ROOT_SLOTS);
