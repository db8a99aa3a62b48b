// The web app's environment, read and validated once. Nothing else reads process.env.
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** An IPv4/IPv6 address or CIDR range (`10.0.0.0/8`, `fd00::/8`). */
function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = net.isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

const trustedProxies = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .superRefine((entries, ctx) => {
    for (const entry of entries.filter((candidate) => !isAddressOrRange(candidate))) {
      ctx.addIssue({ code: 'custom', message: `${entry} is not an IP address or CIDR range` });
    }
  });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** external PostgreSQL; unset: the embedded cluster in EOS_FLEET_DATA_DIR */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  EOS_FLEET_DATA_DIR: z.string().min(1).default(path.join(REPO_ROOT, '.data')),
  /** the URL operators reach the dashboard at: sign-in cookies and origin checks are bound to it */
  EOS_FLEET_PUBLIC_URL: z.url().optional(),
  /** signs sessions; generated and kept in the data dir when unset */
  EOS_FLEET_AUTH_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** creates this admin on first start instead of generating a one-time password */
  EOS_FLEET_ADMIN_EMAIL: z.email().default('admin@eos-fleet.local'),
  EOS_FLEET_ADMIN_PASSWORD: z.string().min(10).optional(),
  /**
   * proxies whose X-Forwarded-For is believed (comma-separated IPs/CIDRs); none by default: the
   * client is the socket's peer, whatever headers it sends
   */
  EOS_FLEET_TRUSTED_PROXIES: trustedProxies,
  /** how often each update server's catalog is polled; 0: never on a timer (Poll now still works) */
  EOS_FLEET_CATALOG_POLL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(30),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof schema>;

export class EnvError extends Error {
  override name = 'EnvError';
}

export function readEnv(source: Record<string, string | undefined> = process.env): Env {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}: ${issue.message}`,
    );
    throw new EnvError(`Invalid environment:\n${problems.join('\n')}`);
  }
  return parsed.data;
}

export const repoRoot = REPO_ROOT;
