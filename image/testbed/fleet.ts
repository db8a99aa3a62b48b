// Stand-in for the `fleet` flake of EOS: `fleet --getkey` puts the fleet's shared ssh key, which the
// read-only fleet container carries, on tmpfs at /run/id_fleet (gone after every boot).
import { copyFile, chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type Writable } from 'node:stream';
import { devicePaths } from './device-layout';

export async function fleetMain(
  dir: string,
  argv: string[],
  io: { stdout: Writable; stderr: Writable },
): Promise<number> {
  if (argv.length !== 1 || argv[0] !== '--getkey') {
    io.stderr.write('usage: fleet --getkey\n');
    return 1;
  }
  const paths = devicePaths(dir);
  await mkdir(path.dirname(paths.fleetKey), { recursive: true });
  await copyFile(paths.fleetContainerKey, paths.fleetKey);
  // ssh refuses a private key that others can read.
  await chmod(paths.fleetKey, 0o600);
  return 0;
}
