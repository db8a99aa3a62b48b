// Entry point of the device's stand-in executables (usr/sbin/os-update, usr/bin/fleet,
// usr/bin/flake-ctl) and of the dd pacing (hardware.ts): `device-command.ts TOOL DEVICE_DIR ARGS...`.
// Bundled into each device.
import { type Writable } from 'node:stream';
import { flakeCtlMain } from './flake-ctl';
import { fleetMain } from './fleet';
import { osUpdateMain } from './os-update';
import { paceMain } from './pace';

type Main = (
  dir: string,
  argv: string[],
  io: { stdout: Writable; stderr: Writable },
) => Promise<number>;
const mains: Record<string, Main> = {
  'os-update': osUpdateMain,
  fleet: fleetMain,
  'flake-ctl': flakeCtlMain,
  'testbed-pace': paceMain,
};

const [tool, dir, ...args] = process.argv.slice(2);
const main = tool === undefined ? undefined : mains[tool];
if (main === undefined || dir === undefined) {
  process.stderr.write(
    'usage: device-command.ts os-update|fleet|flake-ctl|testbed-pace DEVICE_DIR [ARGS...]\n',
  );
  process.exit(2);
}
main(dir, args, { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
