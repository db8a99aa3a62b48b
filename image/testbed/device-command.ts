// Entry point of the device's stand-in executables (usr/sbin/os-update, usr/bin/fleet,
// usr/bin/flake-ctl): `device-command.ts TOOL DEVICE_DIR ARGS...`.
import { flakeCtlMain } from './flake-ctl';
import { fleetMain } from './fleet';
import { osUpdateMain } from './os-update';

const [tool, dir, ...args] = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr };
const mains: Record<string, (dir: string, argv: string[], io: typeof process) => Promise<number>> = {
  'os-update': (device, argv) => osUpdateMain(device, argv, io),
  fleet: (device, argv) => fleetMain(device, argv, io),
  'flake-ctl': (device, argv) => flakeCtlMain(device, argv, io),
};
const main = tool === undefined ? undefined : mains[tool];
if (main === undefined || dir === undefined) {
  process.stderr.write('usage: device-command.ts os-update|fleet|flake-ctl DEVICE_DIR [ARGS...]\n');
  process.exit(2);
}
main(dir, args, process).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
