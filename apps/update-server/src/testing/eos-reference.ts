// EOS's own scripts are located in one place, @eos-fleet/image's locateEosReference (env
// EOS_REFERENCE_DIR, default ../shared/eos-reference from the repository root). This adds what a
// conformance suite does when they are missing: under CI=true that is an error; elsewhere the
// suite is reported as not run, with the reason. Tests only.
import { locateEosReference as locate } from '@eos-fleet/image';

export type EosReference =
  { found: true; dir: string; osUpdate: string } | { found: false; reason: string };

export function locateEosReference(env: NodeJS.ProcessEnv = process.env): EosReference {
  const ref = locate(env);
  return 'missing' in ref ? { found: false, reason: ref.missing } : { found: true, ...ref };
}

export function missingEosReferenceVerdict(
  ref: EosReference,
  env: NodeJS.ProcessEnv = process.env,
): 'fail' | 'not-run' | 'run' {
  if (ref.found) return 'run';
  return env.CI === 'true' || env.CI === '1' ? 'fail' : 'not-run';
}
