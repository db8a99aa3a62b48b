// The only place the update server reads process.env and argv: turns them into config layers.
import { parseArgs } from 'node:util';
import { ConfigError } from './config';

function num(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new ConfigError(`${name}: expected a number, got "${value}"`);
  return n;
}

export interface CommandLine {
  configFile: string | undefined;
  /** Flags as a config layer (highest precedence). */
  flags: Record<string, unknown>;
  /** Environment as a config layer (below flags). */
  env: Record<string, unknown>;
}

export function readCommandLine(argv = process.argv.slice(2), env = process.env): CommandLine {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      'os-update-yml': { type: 'string' },
      'publish-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      'http-host': { type: 'string' },
      'http-port': { type: 'string' },
      'ssh-host': { type: 'string' },
      'ssh-port': { type: 'string' },
      'authorized-keys': { type: 'string' },
      'host-key': { type: 'string' },
      'fetch-interval': { type: 'string' },
      'keep-versions': { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  return {
    configFile: values.config ?? env.EOS_FLEET_UPDATE_SERVER_CONFIG,
    env: {
      catalogToken: env.EOS_FLEET_CATALOG_TOKEN,
      logLevel: env.EOS_FLEET_LOG_LEVEL,
      http: {
        port: num(env.EOS_FLEET_UPDATE_SERVER_HTTP_PORT, 'EOS_FLEET_UPDATE_SERVER_HTTP_PORT'),
      },
      ssh: { port: num(env.EOS_FLEET_UPDATE_SERVER_SSH_PORT, 'EOS_FLEET_UPDATE_SERVER_SSH_PORT') },
    },
    flags: {
      osUpdateYml: values['os-update-yml'],
      publishDir: values['publish-dir'],
      stateDir: values['state-dir'],
      fetchIntervalSeconds: num(values['fetch-interval'], '--fetch-interval'),
      keepVersions: num(values['keep-versions'], '--keep-versions'),
      logLevel: values['log-level'],
      http: { host: values['http-host'], port: num(values['http-port'], '--http-port') },
      ssh: {
        host: values['ssh-host'],
        port: num(values['ssh-port'], '--ssh-port'),
        authorizedKeysFile: values['authorized-keys'],
        hostKeyFile: values['host-key'],
      },
    },
  };
}
