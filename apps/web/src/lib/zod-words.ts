// What a zod issue means, in words for the person who typed the value ("Must be a whole number",
// "At most 100 characters"), instead of zod's "Invalid input: expected int, received number".
// Installed once as zod's global custom error map, by the pages' form helper and by the tRPC
// server, so a form and the server say the same thing. Messages a schema sets itself win (zod's
// precedence), so domain rules keep their own words.
import { z } from 'zod';

type RawIssue = Parameters<NonNullable<z.core.$ZodConfig['customError']>>[0];

const FORMATS: Record<string, string> = {
  email: 'Must be an email address',
  url: 'Must be a URL such as https://host:8080',
  uuid: 'Must be an id (a UUID)',
  guid: 'Must be an id (a UUID)',
  datetime: 'Must be a date and time',
  date: 'Must be a date',
  ipv4: 'Must be an IPv4 address',
  ipv6: 'Must be an IPv6 address',
  regex: 'Contains characters that are not allowed here',
  starts_with: 'Does not start as it must',
  ends_with: 'Does not end as it must',
  includes: 'Is missing a required part',
};

function count(n: number | bigint, unit: string): string {
  const value = Number(n);
  return `${value.toLocaleString('en-US')} ${unit}${value === 1 ? '' : 's'}`;
}

function lengthUnit(origin: string | undefined): string | null {
  if (origin === 'string') return 'character';
  if (origin === 'array' || origin === 'set') return 'item';
  if (origin === 'file') return 'byte';
  return null;
}

/** The words for one issue, or undefined to leave zod's own message. */
export function wordsForIssue(issue: RawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type': {
      const missing = issue.input === undefined || issue.input === null || issue.input === '';
      if (missing) return 'Required';
      if (issue.expected === 'int')
        return typeof issue.input === 'number' && Number.isFinite(issue.input)
          ? 'Must be a whole number'
          : 'Must be a whole number (digits only)';
      if (issue.expected === 'number') {
        // NaN is what a number field holds when it is not digits; say "whole" for z.int()
        const format = (issue.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod
          ?.def?.format;
        const whole = format === 'safeint' || format === 'int32' || format === 'uint32';
        return whole ? 'Must be a whole number (digits only)' : 'Must be a number';
      }
      if (issue.expected === 'string') return 'Must be text';
      if (issue.expected === 'boolean') return 'Must be yes or no';
      if (issue.expected === 'date') return 'Must be a date';
      return undefined;
    }
    case 'too_small': {
      const unit = lengthUnit(issue.origin);
      const min = Number(issue.minimum);
      if (unit === 'character' && min === 1) return 'Required';
      if (unit) return `At least ${count(min, unit)}`;
      if (issue.origin === 'date') return 'Too early';
      return issue.inclusive === false
        ? `Must be more than ${min.toLocaleString('en-US')}`
        : `At least ${min.toLocaleString('en-US')}`;
    }
    case 'too_big': {
      const unit = lengthUnit(issue.origin);
      const max = Number(issue.maximum);
      // say how far over it is: the value is refused, never cut to fit
      if (unit === 'character' && typeof issue.input === 'string')
        return `At most ${count(max, unit)} (this has ${issue.input.length.toLocaleString('en-US')})`;
      if (unit) return `At most ${count(max, unit)}`;
      if (issue.origin === 'date') return 'Too late';
      return issue.inclusive === false
        ? `Must be less than ${max.toLocaleString('en-US')}`
        : `At most ${max.toLocaleString('en-US')}`;
    }
    case 'invalid_format':
      return FORMATS[issue.format] ?? 'Has the wrong format';
    case 'not_multiple_of':
      return `Must be a multiple of ${String(issue.divisor)}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `Must be ${String(issue.values[0])}`
        : `Must be one of ${issue.values.map(String).join(', ')}`;
    case 'unrecognized_keys':
      return `Unknown field${issue.keys.length === 1 ? '' : 's'}: ${issue.keys.join(', ')}`;
    default:
      return undefined;
  }
}

let installed = false;

/** Makes the words zod's default for this process or page (idempotent). */
export function installZodWords(): void {
  if (installed) return;
  installed = true;
  z.config({ customError: (issue) => wordsForIssue(issue) });
}
