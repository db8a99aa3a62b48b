// Entry point of the bundled agent:
// `eos-fleet-agent [--config PATH] [--check-config | --health | --verify-slot | --version]`.
import { type AgentConfig } from '@eos-fleet/shared/agent-config';
import { startAgent } from './agent';
import { evaluateHealth, readAgentStatus, readBootId } from './agent-status';
import { systemClock } from './clock';
import { ConfigError, loadAgentConfig, readCaFile } from './config';
import { env } from './env';
import { Journal } from './journal';
import { killAllToolGroups } from './process-runner';
import { VERIFY_SLOT_EXIT, verifySlot } from './slot-verification';
import { StateStore } from './state-store';
import { AGENT_VERSION } from './version';

const USAGE = `usage: eos-fleet-agent [--config PATH] [--check-config | --health [--wait SECONDS] | --verify-slot | --version]
  --config PATH     config file (default $EOS_FLEET_AGENT_CONFIG or /etc/eos-fleet/agent.yml)
  --check-config    validate the config file and exit
  --health          exit 0 when the agent of this boot has reached the server, 1 otherwise
  --wait SECONDS    with --health: wait up to this long for it
  --verify-slot     for the commit gate: hash the running root device and compare it with the
                    journaled apply; exit 0 on a match (or when no apply is journaled), 3 on a
                    mismatch, 4 when it cannot be checked
  --version         print the agent version and exit`;

interface Args {
  configPath: string;
  checkConfig: boolean;
  health: boolean;
  verifySlot: boolean;
  waitSeconds: number;
  version: boolean;
  help: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const args: Args = {
    configPath: env.configPath,
    checkConfig: false,
    health: false,
    verifySlot: false,
    waitSeconds: 0,
    version: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--config') {
      const value = argv[++i];
      if (value === undefined) return '--config needs a path';
      args.configPath = value;
    } else if (arg?.startsWith('--config=')) args.configPath = arg.slice('--config='.length);
    else if (arg === '--check-config') args.checkConfig = true;
    else if (arg === '--health') args.health = true;
    else if (arg === '--verify-slot') args.verifySlot = true;
    else if (arg === '--wait') {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) return '--wait needs a number of seconds';
      args.waitSeconds = value;
    } else if (arg === '--version') args.version = true;
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
  if (args.health) return healthCheck(config, args.waitSeconds);
  if (args.verifySlot) return verifySlotCheck(config);
  // Whatever way the agent ends, the tools it started (each in its own process group) end too.
  process.on('exit', () => killAllToolGroups());
  // Listen before starting, so a stop during start-up is still an orderly one.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const agent = await startAgent(config);
  await stopRequested;
  agent.stop();
  // Give the close frame a moment, then leave: nothing is left to flush (state writes are
  // awaited where they happen), and lingering sockets must not keep systemd waiting.
  await new Promise((resolve) => setTimeout(resolve, 200));
  process.exit(0);
}

/** For a unit that gates the commit of a new slot: polls the running agent's status file. */
async function healthCheck(config: AgentConfig, waitSeconds: number): Promise<number> {
  const store = new StateStore(config.stateDir);
  const until = Date.now() + waitSeconds * 1000;
  for (;;) {
    const health = evaluateHealth(
      await readAgentStatus(store),
      await readBootId(config.paths.bootId),
    );
    if (health.healthy) {
      process.stdout.write('healthy\n');
      return 0;
    }
    if (Date.now() >= until) {
      process.stderr.write(`unhealthy: ${health.reason}\n`);
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** For the commit gate: is the running slot the image the journaled apply asked for? */
async function verifySlotCheck(config: AgentConfig): Promise<number> {
  let verdict;
  try {
    verdict = await verifySlot(
      config,
      await Journal.load(new StateStore(config.stateDir)),
      systemClock,
    );
  } catch (error) {
    // A journal that cannot be read cannot say the slot is right: fail closed.
    verdict = {
      kind: 'error' as const,
      message: `cannot read the journal: ${(error as Error).message}`,
    };
  }
  (verdict.kind === 'match' || verdict.kind === 'nothing' ? process.stdout : process.stderr).write(
    `${verdict.message}\n`,
  );
  return VERIFY_SLOT_EXIT[verdict.kind];
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `eos-fleet-agent: ${error instanceof ConfigError ? error.message : ((error as Error).stack ?? String(error))}\n`,
    );
    process.exitCode = error instanceof ConfigError ? 2 : 1;
  },
);
