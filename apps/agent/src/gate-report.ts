// The commit gate's verdict file (image/overlay/usr/libexec/eos-fleet/commit-gate writes it to
// REPORT_DIR/last-result before it reboots; the journal is volatile, p.spare is not). The agent of
// the boot after reads it to say WHY a new slot came back uncommitted. Lines `key=value`:
// result=commit|rollback, reason=..., boot_id=..., cmdline=..., at=...
import { readFile } from 'node:fs/promises';

export interface GateReport {
  result: 'commit' | 'rollback';
  reason: string;
  /** The boot the gate ran in (the new slot's first boot). */
  bootId: string | null;
  at: string | null;
}

/** The reason prefix the gate writes when the slot's content is not the expected image. */
export const CONTENT_MISMATCH_PREFIX = 'content_mismatch: ';

export function parseGateReport(text: string): GateReport | null {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  const result = values.get('result');
  if (result !== 'commit' && result !== 'rollback') return null;
  return {
    result,
    reason: values.get('reason') ?? '',
    bootId: values.get('boot_id') ?? null,
    at: values.get('at') ?? null,
  };
}

/** The report, or null when there is none (no gated boot yet) or it cannot be read. */
export async function readGateReport(path: string): Promise<GateReport | null> {
  try {
    return parseGateReport(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The gate refused to commit the slot of apply `commandId` because its content did not match:
 * the gate's reason, without the prefix; null when the report is about something else. The
 * `--verify-slot` line the gate quotes names the apply (`apply <id>: ...`), so a report left from
 * an earlier update never decides a later one.
 */
export function contentMismatchOf(report: GateReport | null, commandId: string): string | null {
  if (report?.result !== 'rollback' || !report.reason.startsWith(CONTENT_MISMATCH_PREFIX))
    return null;
  const detail = report.reason.slice(CONTENT_MISMATCH_PREFIX.length);
  return detail.includes(`apply ${commandId}:`) ? detail : null;
}
