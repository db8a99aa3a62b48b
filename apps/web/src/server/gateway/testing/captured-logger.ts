// A real pino logger whose lines are kept in memory: tests count and read what the server logs.
import pino, { type Logger } from 'pino';

export interface LogLine {
  level: number;
  msg: string;
  deviceId?: string;
  [field: string]: unknown;
}

export function capturedLogger(level = 'info'): {
  logger: Logger;
  lines: LogLine[];
  bytes: () => number;
} {
  const lines: LogLine[] = [];
  let bytes = 0;
  const logger = pino(
    { level },
    {
      write(line: string) {
        bytes += Buffer.byteLength(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines, bytes: () => bytes };
}
