// Where EOS's own, unmodified scripts are (../shared/eos-reference beside the clone, see its
// README): ONE setting, env EOS_REFERENCE_DIR, relative paths taken from the repository root, not
// from the working directory. A user's clone has no such folder: callers fall back and say so.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: image/src/ is two levels below it. */
const REPOSITORY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_DIR = '../shared/eos-reference';

export type EosReference = { dir: string; osUpdate: string } | { missing: string };

export function locateEosReference(env: NodeJS.ProcessEnv = process.env): EosReference {
  const setting = env.EOS_REFERENCE_DIR;
  const dir = path.resolve(
    REPOSITORY_ROOT,
    setting === undefined || setting === '' ? DEFAULT_DIR : setting,
  );
  const osUpdate = path.join(dir, 'os-update');
  try {
    accessSync(osUpdate, constants.R_OK | constants.X_OK);
  } catch {
    const source = setting
      ? `EOS_REFERENCE_DIR=${setting}`
      : `the default ${DEFAULT_DIR} (set EOS_REFERENCE_DIR)`;
    return { missing: `EOS's os-update not found at ${osUpdate} (from ${source})` };
  }
  return { dir, osUpdate };
}
