// One error type for domain failures; the tRPC layer maps `code` to its own codes (and HTTP status).
// And the one reading of database errors: which are about the data sent (the caller's fault, or one
// device's bad row) and which are about the database or our code.
import { Prisma } from '@eos-fleet/db';

export const APP_ERROR_CODES = [
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'BAD_REQUEST',
  'PRECONDITION_FAILED',
  'TOO_MANY_REQUESTS',
] as const;
export type AppErrorCode = (typeof APP_ERROR_CODES)[number];

export class AppError extends Error {
  override name = 'AppError';
  /** the input field the error is about, when one is (a form shows the message there) */
  readonly field: string | undefined;
  constructor(
    readonly code: AppErrorCode,
    message: string,
    options: { field?: string } = {},
  ) {
    super(message);
    this.field = options.field;
  }
}

/** PostgreSQL's SQLSTATE behind a Prisma error (through the pg driver adapter), if any. */
export function sqlStateOf(error: unknown): string | undefined {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return undefined;
  const adapter = (error.meta as { driverAdapterError?: { cause?: { originalCode?: unknown } } })
    ?.driverAdapterError;
  const code = adapter?.cause?.originalCode;
  return typeof code === 'string' ? code : undefined;
}

/** Prisma's own codes for a value the database refused (too long, malformed, out of range). */
const PRISMA_VALUE_ERRORS: Record<string, string> = {
  P2000: 'a value is too long',
  P2007: 'a value has the wrong format',
  P2020: 'a number is out of range',
  P2033: 'a number is out of range',
};

/** What PostgreSQL's data exceptions (SQLSTATE class 22) mean, in words for the caller. */
const SQLSTATE_MESSAGES: Record<string, string> = {
  '22001': 'a value is too long',
  '22003': 'a number is out of range',
  '22021': 'text must not contain NUL (U+0000) or characters that are not valid UTF-8',
  '22P05': 'text must not contain NUL (U+0000) or characters that are not valid UTF-8',
  '22P02': 'a value has the wrong format',
  '22007': 'a date or time has the wrong format',
  '22008': 'a date or time is out of range',
};

/**
 * When the database refused a statement because of a value in it (not because it is down or our
 * SQL is wrong): a short message in words, without the database's text. Retrying the same value
 * fails the same way; other values in the same batch may be fine.
 */
export function databaseValueError(error: unknown): string | null {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return null;
  const state = sqlStateOf(error);
  if (state?.startsWith('22')) return SQLSTATE_MESSAGES[state] ?? 'a value is not valid';
  return PRISMA_VALUE_ERRORS[error.code] ?? null;
}
