// The audit log as CSV (RFC 4180), safe to open in a spreadsheet: a cell a spreadsheet would run
// as a formula (= + - @, or a tab / carriage return first) gets a leading apostrophe.
import { auditSentence } from './audit-sentence';
import type { AuditEventView } from './list-audit-events';

export const AUDIT_CSV_COLUMNS = [
  'id',
  'time',
  'actor_type',
  'actor_id',
  'actor',
  'action',
  'target_type',
  'target_id',
  'summary',
  'ip_address',
  'data',
] as const;

export function csvCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  const defused = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(defused) ? `"${defused.replaceAll('"', '""')}"` : defused;
}

export function csvRow(cells: readonly (string | null | undefined)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function auditCsvRow(event: AuditEventView): string {
  return csvRow([
    event.id,
    event.createdAt.toISOString(),
    event.actorType,
    event.actorId,
    event.actorLabel,
    event.action,
    event.targetType,
    event.targetId,
    auditSentence(event),
    event.ipAddress,
    event.data === null ? null : JSON.stringify(event.data),
  ]);
}
