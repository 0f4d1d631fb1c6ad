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
  /** The authenticated consumer (namespace/name) and its team, when a Policy authenticates. */
  consumer?: string;
  team?: string;
  /** AI routes only. */
  ai?: AIAccessRecord;
}

/** What an AI request adds to its access-log line. Token figures follow the meaning of ai/metering/usage.ts. */
export interface AIAccessRecord {
  /** The API the client spoke: openai | anthropic. */
  api: string;
  operation: string;
  stream: boolean;
  /** The model the client asked for. */
  requestModel: string;
  /** The provider that served (ns/name) and its type; absent when none did. */
  provider?: string;
  providerType?: string;
  /** The provider model sent upstream. */
  model?: string;
  /** Upstream attempts, fallbacks included. */
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  estimated: boolean;
  costMicros?: number;
  currency?: string;
  /** Time to first token (first byte of a stream reaching the client), streams only. */
  ttftMs?: number;
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
