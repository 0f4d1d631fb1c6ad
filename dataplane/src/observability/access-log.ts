// The access log: one line per request, written once when the response is over.
import type { Logger } from '@tollgate/telemetry';

export interface AccessRecord {
  method: string;
  host: string;
  path: string;
  status: number;
  route: string | undefined;
  cluster: string | undefined;
  upstream: string | undefined;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  upstreamMs: number | undefined;
  requestId: string;
  errorCode: string | undefined;
}

export class AccessLog {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger.child({ log: 'access' });
  }

  write(record: AccessRecord): void {
    this.#logger.info(record, 'request');
  }
}
