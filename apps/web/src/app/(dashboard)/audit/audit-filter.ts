// The audit log's filter as it lives in the URL (so a view can be shared) and in the form.
import { AUDIT_ACTIONS, AUDIT_ENTITIES } from '~/server/services/audit/audit-actions';
import {
  ACTOR_TYPES,
  auditFilterInput,
  type AuditFilter,
} from '~/server/services/audit/list-audit-events';

export const FILTER_KEYS = [
  'action',
  'actorType',
  'actor',
  'targetType',
  'targetId',
  'from',
  'to',
] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
/** The form's values: strings, '' for "any"; from/to as ISO instants. */
export type FilterValues = Record<FilterKey, string>;

export const EMPTY_FILTER: FilterValues = {
  action: '',
  actorType: '',
  actor: '',
  targetType: '',
  targetId: '',
  from: '',
  to: '',
};

export const TARGET_TYPES = ['device', 'operator', 'enrollment_token'] as const;

export { ACTOR_TYPES, AUDIT_ACTIONS, AUDIT_ENTITIES };

export function filterFromParams(params: URLSearchParams): FilterValues {
  const values = { ...EMPTY_FILTER };
  for (const key of FILTER_KEYS) values[key] = params.get(key) ?? '';
  return values;
}

export function paramsOf(values: FilterValues): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) if (values[key].trim() !== '') params.set(key, values[key].trim());
  return params;
}

/** The same schema as the procedure: errors per field, in words. */
export function parseFilter(
  values: FilterValues,
): { ok: true; filter: AuditFilter } | { ok: false; errors: Partial<Record<FilterKey, string>> } {
  const raw: Partial<Record<FilterKey, string>> = {};
  for (const key of FILTER_KEYS) if (values[key].trim() !== '') raw[key] = values[key].trim();
  const parsed = auditFilterInput.safeParse(raw);
  if (parsed.success) return { ok: true, filter: parsed.data };
  const errors: Partial<Record<FilterKey, string>> = {};
  for (const issue of parsed.error.issues) {
    const key = issue.path[0] as FilterKey | undefined;
    if (key && !errors[key]) errors[key] = issue.message;
  }
  return { ok: false, errors };
}

/** An ISO instant as the value of a datetime-local input (the browser's time zone). */
export function toLocalInput(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local input's value (local time) as an ISO instant; '' stays ''. */
export function fromLocalInput(value: string): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

const RELATIVE = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

export function relativeTime(value: Date | string, now = Date.now()): string {
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  if (Math.abs(seconds) < 10) return 'just now';
  for (const [unit, size] of UNITS)
    if (Math.abs(seconds) >= size) return RELATIVE.format(Math.round(seconds / size), unit);
  return RELATIVE.format(seconds, 'second');
}
