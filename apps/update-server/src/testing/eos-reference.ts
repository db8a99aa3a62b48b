// Where EOS's own, unmodified scripts are (../shared/eos-reference/README.md): ONE setting, the
// environment variable EOS_REFERENCE_DIR, default `../shared/eos-reference` from the repository
// root; a relative value is taken from the repository root too, never from the cwd. A user's clone
// has no such folder: the conformance tests then say plainly that they did not run (and fail under
// CI=true, where the folder must be there). Tests only: this reads process.env on purpose.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const EOS_REFERENCE_ENV = 'EOS_REFERENCE_DIR';
export const EOS_REFERENCE_DEFAULT = '../shared/eos-reference';

export type EosReference =
  { found: true; dir: string; osUpdate: string } | { found: false; dir: string; reason: string };

/** The repository root: the nearest directory above `from` whose package.json has workspaces. */
export function repositoryRoot(from: string = import.meta.dirname): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { workspaces?: unknown }).workspaces)
          return dir;
      } catch {
        // not the root's package.json; keep looking up
      }
    }
    if (dirname(dir) === dir)
      throw new Error(`no repository root (package.json with workspaces) above ${from}`);
  }
}

export function locateEosReference(env: NodeJS.ProcessEnv = process.env): EosReference {
  const setting = env[EOS_REFERENCE_ENV]?.trim() || EOS_REFERENCE_DEFAULT;
  const root = repositoryRoot();
  const dir = isAbsolute(setting) ? setting : resolve(root, setting);
  const how = env[EOS_REFERENCE_ENV]
    ? `${EOS_REFERENCE_ENV}=${setting}`
    : `default ${EOS_REFERENCE_DEFAULT} from ${root}`;
  const osUpdate = join(dir, 'os-update');
  if (!existsSync(dir))
    return {
      found: false,
      dir,
      reason: `EOS's reference scripts not found: ${dir} does not exist (${how})`,
    };
  try {
    accessSync(osUpdate, constants.X_OK);
  } catch {
    return {
      found: false,
      dir,
      reason: `EOS's reference scripts incomplete: ${osUpdate} is missing or not executable (${how})`,
    };
  }
  return { found: true, dir, osUpdate };
}

/**
 * What a conformance suite does when the scripts are missing: under CI=true that is an error
 * (throw it from a test); elsewhere the suite is reported as not run, with the reason.
 */
export function missingEosReferenceVerdict(
  ref: EosReference,
  env: NodeJS.ProcessEnv = process.env,
): 'fail' | 'not-run' | 'run' {
  if (ref.found) return 'run';
  return env.CI === 'true' || env.CI === '1' ? 'fail' : 'not-run';
}
