// One logger for both components. Secrets are redacted here, at the logger, so call sites
// never have to remember to.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line, whatever object they sit in. */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers["api-key"]',
  '*.headers["api-key"]',
  'headers.cookie',
  '*.headers.cookie',
  'apiKey',
  '*.apiKey',
  'credentials',
  '*.credentials',
  '*.*.credentials',
  'password',
  '*.password',
  'token',
  '*.token',
];

export interface CreateLoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; defaults to an asynchronous stdout destination. */
  destination?: DestinationStream;
}

export function createLogger({ name, level, destination }: CreateLoggerOptions): Logger {
  const options: LoggerOptions = {
    name,
    level: level ?? process.env.TOLLGATE_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  // Lines are batched into writes of ≥ 4 KiB (one syscall for many lines under load) and flushed
  // every 250 ms when traffic is light; pino flushes what is left synchronously at exit.
  return pino(options, destination ?? pino.destination({ sync: false, minLength: 4096, periodicFlush: 250 }));
}
