// EOS's os-update as the agent drives it (see /work/shared/EOS.md): argv builders and the parsers
// for its output. Its exit code is not trusted: --check exits 1 both for "update available" and
// for any error, so the printed hashes decide.
import { type CheckParams } from '@eos-fleet/shared/protocol/index';

/** sha1 of zero bytes: what `head -c 10M | sha1sum` prints when the ssh stream was empty. */
export const EMPTY_STREAM_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

export type CheckOutcome =
  | {
      ok: true;
      currentRootPrefixHash: string;
      updateRootPrefixHash: string;
      updateAvailable: boolean;
    }
  | { ok: false; reason: string };

const CURRENT_LINE = /^Current OS\s*:\s*([0-9a-f]{40})\b/m;
const UPDATE_LINE = /^Update OS\s*:\s*([0-9a-f]{40})\b/m;
const NOT_DIFFERENT = /Update stream not different from current OS/;

export function parseCheckOutput(stdout: string): CheckOutcome {
  const current = CURRENT_LINE.exec(stdout)?.[1];
  const update = UPDATE_LINE.exec(stdout)?.[1];
  if (current === undefined)
    return { ok: false, reason: 'os-update --check printed no current OS hash' };
  if (update === undefined)
    return { ok: false, reason: 'os-update --check printed no update OS hash' };
  if (update === EMPTY_STREAM_SHA1) {
    return {
      ok: false,
      reason:
        'the update stream was empty (update server unreachable, image missing or key refused)',
    };
  }
  const updateAvailable = current !== update;
  if (updateAvailable && NOT_DIFFERENT.test(stdout)) {
    // os-update prints the "not different" line only when the hashes are equal.
    return { ok: false, reason: 'os-update --check output is inconsistent' };
  }
  return {
    ok: true,
    currentRootPrefixHash: current,
    updateRootPrefixHash: update,
    updateAvailable,
  };
}

function overrides(params: CheckParams): string[] {
  return [
    ...(params.server !== undefined ? ['--server', params.server] : []),
    ...(params.imageName !== undefined ? ['--read', params.imageName] : []),
  ];
}

export const osUpdateArgv = {
  check: (osUpdate: string, params: CheckParams) => [osUpdate, ...overrides(params), '--check'],
  apply: (osUpdate: string, params: CheckParams) => [osUpdate, ...overrides(params), '--apply'],
  /** `--reboot` is a modifier ("reboot after commit or rollback"), not an action of its own. */
  rollback: (osUpdate: string) => [osUpdate, '--rollback', '--reboot'],
  getKey: (fleet: string) => [fleet, '--getkey'],
};

export const KEXEC_LINE = 'kexec into updated system';

/**
 * Follows dd's `status=progress` output on stderr: records separated by "\r" (or "\n") such as
 * "12345678 bytes (12 MB, 12 MiB) copied, 1 s, 12 MB/s". Calls back with the byte count.
 */
export class DdProgressParser {
  private pending = '';
  bytesWritten: number | null = null;

  constructor(private readonly onBytes: (bytes: number) => void) {}

  push(chunk: string): void {
    const records = (this.pending + chunk).split(/[\r\n]/);
    this.pending = records.pop() ?? '';
    for (const record of records) this.parse(record);
  }

  private parse(record: string): void {
    const match = /^\s*(\d+) bytes\b.*\bcopied\b/.exec(record);
    if (!match?.[1]) return;
    const bytes = Number(match[1]);
    if (!Number.isSafeInteger(bytes)) return;
    this.bytesWritten = bytes;
    this.onBytes(bytes);
  }
}
