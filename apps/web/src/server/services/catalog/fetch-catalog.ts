// One bounded read of an update server's catalog (GET <httpUrl>/api/v1/catalog, bearer token):
// a timeout for the whole exchange, a cap on the body, no redirects followed (a catalog that
// points elsewhere is an error, not a hop), and the answer checked against the catalog's shape.
import { EOS_PROFILES } from '@eos-fleet/shared/domain';
import { z } from 'zod';

export const CATALOG_PATH = '/api/v1/catalog';
export const CATALOG_TIMEOUT_MS = 10_000;
export const CATALOG_MAX_BYTES = 8 * 1024 * 1024;

const hex40 = z.string().regex(/^[0-9a-f]{40}$/);
const text = (max: number) => z.string().max(max);

const catalogVersionSchema = z.object({
  sha1: hex40,
  rootPrefixHash: hex40,
  rootSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullish(),
  rootPartitionBytes: z.number().int().min(0),
  firmwarePartitionBytes: z.number().int().min(0).nullish(),
  firstSeen: text(64).nullish(),
  lastSeen: text(64).nullish(),
  current: z.boolean().default(false),
  pinnedDev: text(300).nullish(),
  /** the image's os-release VERSION, when the server knows it (older servers do not) */
  osVersion: text(100).nullish(),
  osRelease: z.object({ VERSION: text(100).optional(), version: text(100).optional() }).nullish(),
});

const catalogImageSchema = z.object({
  name: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/),
  source: text(2048).nullish(),
  versions: z.array(catalogVersionSchema).max(1000),
  fetch: z
    .object({
      state: z.enum(['never', 'ok', 'error']),
      lastAttemptAt: text(64).nullish(),
      lastSuccessAt: text(64).nullish(),
      lastError: z.object({ message: text(2000) }).nullish(),
    })
    .nullish(),
  bytesServed: z.number().min(0).default(0),
  activeStreams: z.number().int().min(0).default(0),
});

export const catalogSchema = z.object({
  server: z
    .object({
      bytesServed: z.object({ total: z.number().min(0) }).nullish(),
      activeStreams: z.array(z.unknown()).nullish(),
    })
    .nullish(),
  images: z.array(catalogImageSchema).max(1000),
});
export type FetchedCatalog = z.infer<typeof catalogSchema>;
export type CatalogImage = FetchedCatalog['images'][number];
export type CatalogVersion = CatalogImage['versions'][number];

export class CatalogFetchError extends Error {
  override name = 'CatalogFetchError';
}

export function catalogUrlOf(httpUrl: string): string {
  return `${httpUrl.replace(/\/+$/, '')}${CATALOG_PATH}`;
}

/** The body, refused once it passes `maxBytes` (whatever Content-Length says). */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > maxBytes)
    throw new CatalogFetchError(`the catalog is larger than ${maxBytes} bytes (${declared})`);
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new CatalogFetchError(`the catalog is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function fetchCatalog(
  httpUrl: string,
  token: string | null,
  { timeoutMs = CATALOG_TIMEOUT_MS, maxBytes = CATALOG_MAX_BYTES } = {},
): Promise<FetchedCatalog> {
  const url = catalogUrlOf(httpUrl);
  const signal = AbortSignal.timeout(timeoutMs);
  let body: string;
  try {
    const response = await fetch(url, {
      redirect: 'manual',
      signal,
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new CatalogFetchError(
        `the server answered ${response.status} (a redirect to ${response.headers.get('location') ?? 'nowhere'}); redirects are not followed: register the catalog's own URL`,
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel().catch(() => undefined);
      throw new CatalogFetchError(
        `the server refused the catalog token (HTTP ${response.status}): enter the server's catalogToken`,
      );
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new CatalogFetchError(`the catalog answered HTTP ${response.status}`);
    }
    body = await readBounded(response, maxBytes);
  } catch (error) {
    if (error instanceof CatalogFetchError) throw error;
    if (signal.aborted)
      throw new CatalogFetchError(`no complete answer within ${timeoutMs / 1000} s`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new CatalogFetchError(
      `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new CatalogFetchError('the catalog is not JSON');
  }
  const parsed = catalogSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CatalogFetchError(
      `the catalog does not have the expected shape (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})`,
    );
  }
  return parsed.data;
}

/** What the image's name says about it: `EOS.x86_64-AB` is x86_64, profile AB. */
export function factsFromImageName(name: string): { arch: string | null; profile: string | null } {
  const tokens = name.split(/[.-]/);
  const arch =
    tokens.find((token) => /^(x86_64|aarch64|armv7l|ppc64le|s390x|riscv64)$/.test(token)) ?? null;
  const profile = EOS_PROFILES.find((candidate) => tokens.includes(candidate)) ?? null;
  return { arch, profile };
}

/** The image's own version, when the catalog carries it. */
export function osVersionOf(version: CatalogVersion): string | null {
  return version.osVersion ?? version.osRelease?.VERSION ?? version.osRelease?.version ?? null;
}
