// The EOS Fleet commit gate on a testbed device: the overlay's real script
// (image/overlay/usr/libexec/eos-fleet/commit-gate), run as eos-fleet-commit-gate.service would
// run it, with a conf of this device's paths. The supervisor orders it as the units do: on a
// COMMIT_UPDATE boot the services start, the gate runs, and update_commit.service
// (`os-update --commit --reboot`) runs only after the gate exited 0 (its drop-in's Requires=).
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { devicePaths, type DeviceConfig } from './device-layout';
import { shellQuote } from './hardware';

/** The overlay's script itself, from this checkout: the testbed runs what the image ships. */
export const COMMIT_GATE_SCRIPT = fileURLToPath(
  new URL('../overlay/usr/libexec/eos-fleet/commit-gate', import.meta.url),
);

function agentServiceOf(config: DeviceConfig): DeviceConfig['services'][number] | undefined {
  return config.services.find((service) => service.name === config.gate.agentService);
}

/** On unless switched off; by default only on devices that run the agent's service. */
export function gateEnabled(config: DeviceConfig): boolean {
  return config.gate.enabled ?? agentServiceOf(config) !== undefined;
}

/** The agent's CLI and config: gate settings first, else the agent service's command. */
function agentCommand(config: DeviceConfig): { command: string[]; agentConfig: string } {
  const service = agentServiceOf(config);
  const serviceCommand = service?.command ?? [];
  const configAt = serviceCommand.indexOf('--config');
  const serviceConfig = configAt >= 0 ? serviceCommand[configAt + 1] : undefined;
  const withoutConfig =
    configAt >= 0
      ? serviceCommand.filter((_, index) => index !== configAt && index !== configAt + 1)
      : serviceCommand;
  const command = config.gate.agent ?? withoutConfig;
  return {
    command: command.length > 0 ? command : ['false'],
    agentConfig: config.gate.agentConfig ?? serviceConfig ?? '/dev/null',
  };
}

/** Writes the device's gate conf (paths into DIR) and the `AGENT` program it names. */
export async function writeGateConf(dir: string, config: DeviceConfig): Promise<void> {
  const paths = devicePaths(dir);
  const { command, agentConfig } = agentCommand(config);
  const agent = path.join(paths.standInDir, 'eos-fleet-agent');
  await mkdir(path.dirname(agent), { recursive: true });
  await writeFile(
    agent,
    `#!/bin/sh\n# The agent's CLI for the commit gate (device.json).\nexec ${command.map(shellQuote).join(' ')} "$@"\n`,
    { mode: 0o755 },
  );
  await chmod(agent, 0o755);
  const { gate } = config;
  const settings: Record<string, string> = {
    REQUIRE_GATEWAY: gate.requireGateway ? 'yes' : 'no',
    HEALTH_TIMEOUT: String(gate.healthTimeoutSeconds),
    SETTLE_SECONDS: String(gate.settleSeconds),
    POLL_SECONDS: String(gate.pollSeconds),
    CHECK_WORKLOADS: gate.checkWorkloads ? 'yes' : 'no',
    FLAKES_DIR: paths.flakesDir,
    STORAGE_DIR: paths.stateDir,
    ON_FAILURE: gate.onFailure,
    REPORT_DIR: paths.gateReportDir,
    AGENT: agent,
    AGENT_CONFIG: agentConfig,
    AGENT_UNIT: `${gate.agentService}.service`,
    CMDLINE: paths.cmdline,
    BOOT_ID_FILE: paths.bootId,
  };
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${shellQuote(value)}`);
  await writeFile(
    paths.gateConf,
    `# EOS testbed: commit-gate.conf of this device, from testbed/device.json "gate".\n${lines.join('\n')}\n`,
  );
}
