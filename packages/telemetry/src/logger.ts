// One logger for both components. Secrets are redacted here, at the logger, so call sites
// never have to remember to.
import { write as fsWrite, writeSync } from 'node:fs';
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
  /** Where lines go; defaults to the process's batched asynchronous stdout destination. */
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
  return pino(options, destination ?? stdoutDestination());
}

/**
 * For the hottest log call site (the access log), which formats its own line: the head of a line
 * exactly as the logger writes it (`{"level":"info","time":"…"` and the logger's bindings), and
 * the logger's stream. pino's generic serialisation of an object is then skipped.
 */
export interface RawLineWriter {
  /** Whether the logger currently writes lines of this level. */
  enabled(): boolean;
  /** The line up to its own fields, without a trailing comma. */
  head(): string;
  /** One whole line, newline included. */
  write(line: string): void;
}

export function rawLineWriter(logger: Logger, level: 'info' | 'warn' | 'error'): RawLineWriter {
  const symbols = pino.symbols;
  const internal = logger as unknown as Record<symbol, unknown>;
  const levelHead = (internal[symbols.lsCacheSym] as Record<number, string>)[logger.levels.values[level]!]!;
  const bindings = internal[symbols.chindingsSym] as string;
  const time = internal[symbols.timeSym] as () => string;
  const stream = internal[symbols.streamSym] as DestinationStream;
  let head = (): string => `${levelHead}${time()}${bindings}`;
  if (time === pino.stdTimeFunctions.isoTime) {
    // Many lines a millisecond under load: the ISO time is formatted once per millisecond.
    let lastMs = -1;
    let lastHead = '';
    head = () => {
      const now = Date.now();
      if (now !== lastMs) {
        lastMs = now;
        lastHead = `${levelHead},"time":"${new Date(now).toISOString()}"${bindings}`;
      }
      return lastHead;
    };
  }
  return {
    enabled: () => logger.isLevelEnabled(level),
    head,
    write: (line) => void stream.write(line),
  };
}

let stdout: BatchedDestination | undefined;

/** Lines the process's stdout destination dropped because stdout stopped draining (or failed). */
export function droppedLogLines(): number {
  return stdout?.dropped ?? 0;
}

/** One destination per process for fd 1, shared by every logger, flushed synchronously at exit. */
function stdoutDestination(): BatchedDestination {
  if (!stdout) {
    const destination = new BatchedDestination(1);
    process.once('exit', () => destination.flushSync());
    stdout = destination;
  }
  return stdout;
}

export interface BatchedDestinationOptions {
  /** Bytes gathered before a write is started. Default 32 KiB. */
  batchBytes?: number;
  /** Lines of a quiet process are written after at most this long. Default 250 ms. */
  flushMs?: number;
  /** Pending bytes beyond which new lines are dropped (a destination that stopped draining). Default 64 MiB. */
  maxPendingBytes?: number;
}

const EAGAIN_RETRY_MS = 10;

/**
 * Log lines gathered in memory and written to a file descriptor in large asynchronous writes: at
 * the access log's rate one write (a thread-pool round trip) per ~70 lines instead of one per ~9,
 * and each line costs an array push instead of re-measuring a growing string (sonic-boom's
 * `minLength` buffering). The writes happen off the main thread, so a log pipe that stops draining
 * never blocks the proxy: lines then wait in memory up to `maxPendingBytes`, and later ones are
 * dropped (counted in `dropped`). Lines are written whole and in order.
 */
export class BatchedDestination implements DestinationStream {
  readonly #fd: number;
  readonly #batchBytes: number;
  readonly #maxPendingBytes: number;
  #lines: string[] = [];
  /** Pending characters (≈ bytes for log lines). */
  #pending = 0;
  #writing = false;
  #waiters: Array<() => void> = [];
  #dropped = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(fd: number, options: BatchedDestinationOptions = {}) {
    this.#fd = fd;
    this.#batchBytes = options.batchBytes ?? 32 * 1024;
    this.#maxPendingBytes = options.maxPendingBytes ?? 64 * 1024 * 1024;
    this.#timer = setInterval(() => this.#startWrite(), options.flushMs ?? 250).unref();
  }

  /** Writes what is pending synchronously and stops the periodic flush; the fd stays open. */
  close(): void {
    clearInterval(this.#timer);
    this.flushSync();
  }

  /** Lines dropped because the destination did not drain or failed. */
  get dropped(): number {
    return this.#dropped;
  }

  write(line: string): boolean {
    if (this.#pending + line.length > this.#maxPendingBytes) {
      this.#dropped++;
      return false;
    }
    this.#lines.push(line);
    this.#pending += line.length;
    if (!this.#writing && this.#pending >= this.#batchBytes) this.#startWrite();
    return true;
  }

  /** Writes everything pending, then calls `callback` (pino's `logger.flush`). */
  flush(callback?: (error?: Error) => void): void {
    if (callback) this.#waiters.push(() => callback());
    if (this.#writing) return;
    if (this.#lines.length > 0) this.#startWrite();
    else this.#wake();
  }

  /**
   * Writes what is pending synchronously (at exit). A write already handed to the thread pool
   * finishes on its own.
   */
  flushSync(): void {
    const lines = this.#take();
    if (!lines) return;
    let chunk = Buffer.from(lines);
    for (let attempt = 0; chunk.length > 0 && attempt < 1000; attempt++) {
      try {
        chunk = chunk.subarray(writeSync(this.#fd, chunk));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      }
    }
  }

  #take(): string | undefined {
    const lines = this.#lines;
    if (lines.length === 0) return undefined;
    this.#lines = [];
    this.#pending = 0;
    return lines.length === 1 ? lines[0] : lines.join('');
  }

  #startWrite(): void {
    if (this.#writing) return;
    const count = this.#lines.length;
    const lines = this.#take();
    if (lines === undefined) return;
    this.#writing = true;
    this.#send(Buffer.from(lines), count);
  }

  #send(chunk: Buffer, lineCount: number): void {
    fsWrite(this.#fd, chunk, 0, chunk.length, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          // A non-blocking pipe that is full: try again shortly; new lines wait meanwhile.
          setTimeout(() => this.#send(chunk, lineCount), EAGAIN_RETRY_MS).unref();
          return;
        }
        // Nowhere left to report it: the lines are lost, the process goes on.
        this.#dropped += lineCount;
      } else if (written < chunk.length) {
        this.#send(chunk.subarray(written), lineCount);
        return;
      }
      this.#writing = false;
      if (this.#pending >= this.#batchBytes || (this.#waiters.length > 0 && this.#lines.length > 0))
        this.#startWrite();
      else if (this.#lines.length === 0) this.#wake();
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    process.nextTick(() => {
      for (const wake of waiters) wake();
    });
  }
}
