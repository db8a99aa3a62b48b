// Telling "PostgreSQL is not answering" apart from a bug, so the API can say so (503) instead of
// a bare internal error. The pool's bounds (prisma/src/client.ts) turn a frozen or unreachable
// server into these errors within seconds.
const UNAVAILABLE_PATTERNS = [
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  // Prisma's interactive transaction found no connection within its maxWait
  /Unable to start a transaction in the given time/i,
  /canceling statement due to statement timeout/i,
  /Connection terminated/i,
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT/,
  /Can't reach database server/i,
  /terminating connection/i,
];

function messagesOf(error: unknown): string[] {
  const messages: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth += 1) {
    messages.push(current.message);
    current = current.cause;
  }
  return messages;
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return messagesOf(error).some((message) =>
    UNAVAILABLE_PATTERNS.some((pattern) => pattern.test(message)),
  );
}

/** A reason in words for /healthz: never the driver's whole message (it may name hosts). */
export function describeDatabaseFailure(error: unknown): string {
  return isDatabaseUnavailable(error)
    ? 'PostgreSQL is not answering in time'
    : 'PostgreSQL answered with an error';
}
