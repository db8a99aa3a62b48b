import pino, { type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ name: 'eos-fleet', level, base: { pid: process.pid } });
}
