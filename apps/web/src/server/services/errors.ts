// One error type for domain failures; the tRPC layer maps `code` to its own codes (and HTTP status).
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
  constructor(
    readonly code: AppErrorCode,
    message: string,
  ) {
    super(message);
  }
}
