// Builds one EOS-shaped test image:
//   npx tsx image/src/cli/build-image.ts --version 2 --out /tmp/x.raw [--xz] [--root-mib 24]
//     [--uefi-mib 4] [--spare-mib 4] [--arch x86_64|aarch64] [--profile AB|Static|EC2|RPI|RPI5] [--name NAME]
// Prints the image facts as JSON (sha1, root prefix hash, partition offsets) on stdout.
import { parseArgs } from 'node:util';
import { EOS_PROFILES, type EosProfile } from '@eos-fleet/shared';
import { buildEosImage } from '../build-eos-image';
import { EOS_ARCHES, type EosArch } from '../root-header';

function mib(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of MiB >= 1`);
  return n;
}

function oneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  flag: string,
): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => a === value);
  if (!found) throw new Error(`${flag} must be one of ${allowed.join(', ')}`);
  return found;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      version: { type: 'string' },
      out: { type: 'string' },
      xz: { type: 'boolean', default: false },
      'root-mib': { type: 'string' },
      'uefi-mib': { type: 'string' },
      'spare-mib': { type: 'string' },
      arch: { type: 'string' },
      profile: { type: 'string' },
      name: { type: 'string' },
    },
    strict: true,
  });
  if (!values.version || !values.out) throw new Error('--version and --out are required');
  const arch: EosArch | undefined = oneOf(values.arch, EOS_ARCHES, '--arch');
  const profile: EosProfile | undefined = oneOf(values.profile, EOS_PROFILES, '--profile');
  const sizes = {
    ...(mib(values['root-mib'], '--root-mib') !== undefined
      ? { root: mib(values['root-mib'], '--root-mib') }
      : {}),
    ...(mib(values['uefi-mib'], '--uefi-mib') !== undefined
      ? { uefi: mib(values['uefi-mib'], '--uefi-mib') }
      : {}),
    ...(mib(values['spare-mib'], '--spare-mib') !== undefined
      ? { spare: mib(values['spare-mib'], '--spare-mib') }
      : {}),
  };
  const built = await buildEosImage({
    outPath: values.out,
    version: values.version,
    xz: values.xz,
    sizes,
    ...(arch ? { arch } : {}),
    ...(profile ? { profile } : {}),
    ...(values.name ? { imageName: values.name } : {}),
  });
  process.stdout.write(`${JSON.stringify(built, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`build-image: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
