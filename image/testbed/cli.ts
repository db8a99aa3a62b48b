// testbed CLI: create a device from an EOS image, boot it (the supervisor runs in the foreground),
// power-cycle / reboot / halt it, print its status and the agent config paths.
import { parseArgs } from 'node:util';
import { requestBoot } from './boot-control';
import { createTestbedDevice, testbedAgentPaths } from './create-device';
import { FLAKE_LIST_STYLES, type FlakeListStyle } from './device-layout';
import { readTestbedStatus } from './device-state';
import { Supervisor } from './supervisor';

const USAGE = `usage:
  cli.ts create DIR --image IMAGE --server USER@HOST:PORT --fleet-key FILE --name STREAM
                [--flake-list-style legacy|formats] [--service NAME=COMMAND]... [--unavailable URI]...
                [--gate-agent 'AGENT CLI' --gate-agent-config PATH | --no-gate] [--stand-in-os-update]
  cli.ts boot DIR             run the device in the foreground until SIGTERM/SIGINT
  cli.ts power-cycle DIR | reboot DIR | halt DIR
  cli.ts status DIR           JSON: phase, slots, cmdline, boot id, agent paths
`;

async function main(argv: string[]): Promise<number> {
  const [command, dir, ...rest] = argv;
  if (command === undefined || dir === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  switch (command) {
    case 'create': {
      const { values } = parseArgs({
        args: rest,
        options: {
          image: { type: 'string' },
          server: { type: 'string' },
          'fleet-key': { type: 'string' },
          name: { type: 'string' },
          'flake-list-style': { type: 'string' },
          service: { type: 'string', multiple: true },
          unavailable: { type: 'string', multiple: true },
          'gate-agent': { type: 'string' },
          'gate-agent-config': { type: 'string' },
          'no-gate': { type: 'boolean' },
          'stand-in-os-update': { type: 'boolean' },
        },
      });
      const server = /^([^@]+)@(.+):(\d+)$/.exec(values.server ?? '');
      const style = values['flake-list-style'] ?? 'formats';
      if (
        !values.image ||
        !server ||
        !values['fleet-key'] ||
        !values.name ||
        !FLAKE_LIST_STYLES.includes(style as FlakeListStyle)
      ) {
        process.stderr.write(USAGE);
        return 2;
      }
      const services = (values.service ?? []).map((spec) => {
        const [name = '', command = ''] = spec.split(/=(.*)/s, 2);
        return { name, command: ['/bin/sh', '-c', command] };
      });
      const device = await createTestbedDevice({
        dir,
        image: values.image,
        updateServer: { user: server[1] ?? '', host: server[2] ?? '', sshPort: Number(server[3]) },
        fleetKeyPath: values['fleet-key'],
        name: values.name,
        services,
        flakeListStyle: style as FlakeListStyle,
        unavailablePulls: values.unavailable ?? [],
        // A CLI service is a shell line: the gate cannot take the agent's CLI from it, so say it here.
        gate: {
          ...(values['no-gate'] ? { enabled: false } : {}),
          ...(values['gate-agent']
            ? { agent: ['/bin/sh', '-c', `${values['gate-agent']} "$@"`, 'agent'] }
            : {}),
          ...(values['gate-agent-config'] ? { agentConfig: values['gate-agent-config'] } : {}),
        },
        ...(values['stand-in-os-update'] ? { osUpdate: 'stand-in' as const } : {}),
      });
      const summary = {
        dir: device.dir,
        osUpdate: device.config.osUpdate,
        ...testbedAgentPaths(device.dir),
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return 0;
    }
    case 'boot': {
      const { values } = parseArgs({
        args: rest,
        options: { 'exit-with-parent': { type: 'boolean' } },
      });
      const supervisor = await Supervisor.start(dir);
      if (values['exit-with-parent']) {
        // Started by a test: when the test process dies, the device goes down with it.
        const parent = process.ppid;
        setInterval(() => {
          if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
        }, 500).unref();
      }
      await supervisor.halted;
      return 0;
    }
    case 'power-cycle':
    case 'reboot':
    case 'halt': {
      const delivered = await requestBoot(dir, command);
      if (!delivered)
        process.stderr.write(
          `${dir}: no supervisor running (the request waits for the next boot)\n`,
        );
      return delivered ? 0 : 1;
    }
    case 'status': {
      const status = await readTestbedStatus(dir);
      process.stdout.write(
        `${JSON.stringify({ ...status, ...testbedAgentPaths(dir) }, null, 2)}\n`,
      );
      return 0;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
