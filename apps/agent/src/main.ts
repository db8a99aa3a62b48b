// Entry point of the bundled agent: `eos-fleet-agent [--config PATH] [--check-config] [--version]`.
import { startAgent } from './agent';
import { ConfigError, loadAgentConfig, readCaFile } from './config';
import { env } from './env';
import { AGENT_VERSION } from './version';

const USAGE = `usage: eos-fleet-agent [--config PATH] [--check-config] [--version]
  --config PATH     config file (default $EOS_FLEET_AGENT_CONFIG or /etc/eos-fleet/agent.yml)
  --check-config    validate the config file and exit
  --version         print the agent version and exit`;

interface Args {
  configPath: string;
  checkConfig: boolean;
  version: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = { configPath: env.configPath, checkConfig: false, version: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') {
      const value = argv[++i];
      if (value === undefined) return '--config needs a path';
      args.configPath = value;
    } else if (arg?.startsWith('--config=')) args.configPath = arg.slice('--config='.length);
    else if (arg === '--check-config') args.checkConfig = true;
    else if (arg === '--version') args.version = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else return `unknown argument: ${String(arg)}`;
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  const config = await loadAgentConfig(args.configPath);
  if (args.checkConfig) {
    if (config.server.caFile) await readCaFile(config.server.caFile);
    process.stdout.write(`config ${args.configPath} is valid\n`);
    return 0;
  }
  const agent = await startAgent(config);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  agent.stop();
  // Give the close frame a moment, then leave: nothing is left to flush (state writes are
  // awaited where they happen), and lingering sockets must not keep systemd waiting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.exit(0);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`eos-fleet-agent: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  },
);
