import { type CreateLoggerOptions, createLogger, type Logger } from '@tollgate/telemetry';

/** A logger whose lines the test can read. */
export function captureLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const raw: string[] = [];
  const destination: NonNullable<CreateLoggerOptions['destination']> = {
    write: (line: string) => void raw.push(line),
  };
  const logger = createLogger({ name: 'test', level: 'debug', destination });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** A promise with its resolve function, to hold a step until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
