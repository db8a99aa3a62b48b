// The device agent's config file (/etc/eos-fleet/agent.yml). Strict objects: a misspelt key is an
// error naming it rather than a silently ignored setting on a device nobody can log in to.
import { z } from 'zod';
import { EOS_PROFILES } from './domain';

const filePath = z.string().min(1).regex(/^\//, 'expected an absolute path');

export const AGENT_CONFIG_PATH = '/etc/eos-fleet/agent.yml';
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/containers/storage/eos-fleet';

export const agentConfigSchema = z.strictObject({
  server: z.strictObject({
    /** WebSocket URL of the gateway, including the protocol path: wss://fleet.example.org/agent/v1 */
    url: z.url({ protocol: /^wss?$/, error: 'expected a ws:// or wss:// URL' }),
    /** Used until the device is enrolled; may be removed from the file afterwards. */
    enrollmentToken: z.string().min(1).optional(),
    /** PEM file of the CA that signed the gateway's certificate (when not a public CA). */
    caFile: filePath.optional(),
  }),
  /** Identity, key and journal. On EOS the only persistent writable place. */
  stateDir: filePath.default(DEFAULT_AGENT_STATE_DIR),
  paths: z
    .strictObject({
      osUpdate: filePath.default('/usr/sbin/os-update'),
      fleet: filePath.default('/usr/bin/fleet'),
      flakeCtl: filePath.default('/usr/bin/flake-ctl'),
      /** The running root partition; by default /dev/disk/by-partuuid/<root=PARTUUID= of cmdline>. */
      rootDevice: filePath.optional(),
      /** Where by-partuuid/ and by-partlabel/ links live (a testbed points this elsewhere). */
      diskByDir: filePath.default('/dev/disk'),
      flakesDir: filePath.default('/usr/share/flakes'),
      osUpdateConfig: filePath.default('/etc/os-update.yml'),
      cmdline: filePath.default('/proc/cmdline'),
      bootId: filePath.default('/proc/sys/kernel/random/boot_id'),
      osRelease: filePath.default('/etc/os-release'),
      /**
       * The commit gate's verdict file (REPORT_DIR/last-result of /etc/eos-fleet/commit-gate.conf):
       * after a gated boot the agent reads why a new slot was not committed (content_mismatch).
       */
      commitGateReport: filePath.default('/var/lib/containers/storage/eos-fleet-gate/last-result'),
    })
    .prefault({}),
  /** Overrides the profile derived from the image name. */
  profile: z.enum(EOS_PROFILES).optional(),
  reconnect: z
    .strictObject({
      initialDelayMs: z.int().positive().default(1000),
      maxDelayMs: z.int().positive().default(300_000),
      /** The first connection after start waits a random time up to this. */
      firstConnectJitterMs: z.int().nonnegative().default(15_000),
    })
    .prefault({}),
  /** How often the agent looks for inventory changes (a report is sent only on change). */
  inventoryIntervalMs: z.int().min(1000).default(60_000),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;
export type AgentConfigInput = z.input<typeof agentConfigSchema>;
