// The update server's configuration: one zod schema, merged from a YAML file, the environment and
// CLI flags (in that order of precedence, lowest first). Errors name the offending field.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** The literal directory EOS's os-update asks for; it maps onto `publishDir`. */
export const EOS_PUBLISH_DIR = '/srv/www/fleet/os-images';

const port = z.number().int().min(0).max(65535);

export const updateServerConfigSchema = z.strictObject({
  /** The server-schema os-update.yml listing `update: [{image, name}]`. */
  osUpdateYml: z.string().min(1).default('/etc/os-update.yml'),
  /** Where NAME.raw and NAME.raw.sha are published; versions live in `<publishDir>/.versions`. */
  publishDir: z.string().min(1).default(EOS_PUBLISH_DIR),
  /** Persistent state that is not published: the SSH host key. */
  stateDir: z.string().min(1).default('/var/lib/eos-fleet/update-server'),
  fetchIntervalSeconds: z.number().positive().default(3600),
  fetchOnStart: z.boolean().default(true),
  fetchTimeoutSeconds: z.number().positive().default(3600),
  /** Versions kept per image name, the current one included. */
  keepVersions: z.number().int().min(1).default(3),
  http: z
    .strictObject({ host: z.string().min(1).default('0.0.0.0'), port: port.default(8080) })
    .prefault({}),
  ssh: z
    .strictObject({
      host: z.string().min(1).default('0.0.0.0'),
      port: port.default(2222),
      /** OpenSSH authorized_keys format; re-read on every login, so rotating a key needs no restart. */
      authorizedKeysFile: z.string().min(1).default('/etc/eos-fleet/update-server/authorized_keys'),
      /** Generated (ed25519, OpenSSH format) on first start when missing. Default `<stateDir>/ssh_host_ed25519_key`. */
      hostKeyFile: z.string().min(1).optional(),
      /**
       * Offered ciphers. AES-GCM runs in OpenSSL here; OpenSSH clients prefer chacha20-poly1305 and
       * then AES-CTR+HMAC when offered, both slower in ssh2 (see docs/BENCHMARKS.md).
       */
      ciphers: z
        .array(z.string().min(1))
        .min(1)
        .default(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']),
      /** keepalive@openssh.com every this many seconds; `keepaliveCountMax` unanswered drop the peer. */
      keepaliveIntervalSeconds: z.number().positive().default(15),
      keepaliveCountMax: z.number().int().min(1).default(3),
    })
    .prefault({}),
  /** Bearer token for the catalog API. */
  catalogToken: z.string().min(16, 'must be at least 16 characters'),
  /** Debian's xz (package xz-utils) decompresses .xz images. */
  xzPath: z.string().min(1).default('/usr/bin/xz'),
  /**
   * A stream whose reader takes nothing for this long is cut and released (a stopped or vanished
   * reader must not hold an image version open). Real readers write to disk: seconds, not this.
   */
  streamStallSeconds: z.number().positive().default(30),
  /** How long shutdown waits for streams in progress before cutting them. */
  shutdownGraceMs: z.number().int().min(0).default(5000),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type UpdateServerConfigInput = z.input<typeof updateServerConfigSchema>;
export type UpdateServerConfig = z.output<typeof updateServerConfigSchema> & {
  ssh: { hostKeyFile: string };
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates a config object; the error lists each bad field by its dotted path. */
export function parseUpdateServerConfig(input: unknown): UpdateServerConfig {
  const result = updateServerConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid update server config:\n  ${lines.join('\n  ')}`);
  }
  const c = result.data;
  return {
    ...c,
    ssh: { ...c.ssh, hostKeyFile: c.ssh.hostKeyFile ?? join(c.stateDir, 'ssh_host_ed25519_key') },
  };
}

export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  const doc: unknown = parseYaml(text);
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ConfigError(`${path}: expected a mapping`);
  return doc as Record<string, unknown>;
}

type Layer = Record<string, unknown>;

function isObject(v: unknown): v is Layer {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges config layers; later layers win; undefined values are skipped. */
export function mergeConfigLayers(...layers: Layer[]): Layer {
  const out: Layer = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isObject(prev) && isObject(v) ? mergeConfigLayers(prev, v) : v;
    }
  }
  return out;
}
