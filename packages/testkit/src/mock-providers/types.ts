// What every mock LLM provider offers tests: a real HTTP server speaking one provider's documented
// wire format, a record of what it received, scripted faults, and the usage it reported so tests
// can compare the gateway's metering with it exactly.

/** How SSE events are framed on the wire: all legal, some awkward. */
export interface SSEFraming {
  /** Line ends: "\n" (default) or "\r\n". */
  lineEnd?: '\n' | '\r\n';
  /** Split every event across several TCP writes (with a pause between them). */
  splitWrites?: boolean;
  /** Send ": keep-alive"-style comment lines between events. */
  comments?: boolean;
}

/** A scripted answer for the next matching request, instead of the normal reply. */
export type MockFault =
  | {
      kind: 'status';
      status: number;
      retryAfterSeconds?: number;
      message?: string;
      /** The exact error body to send (JSON), instead of the provider's shape around `message`. */
      body?: unknown;
    }
  /** Accept the connection, then never answer (the gateway's timeout must fire). */
  | { kind: 'hang' }
  /** Close the socket without an answer. */
  | { kind: 'reset' }
  /** Streaming only: a 200 whose first event is the provider's error event. */
  | { kind: 'stream-error'; message?: string }
  /** Streaming only: send this many events, then cut the connection. */
  | { kind: 'stream-cut'; afterEvents: number };

/** Usage in one meaning for every mock (the gateway's: input includes cached and cache-write tokens). */
export interface MockUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (undefined for GET or a body that is not JSON). */
  body: Record<string, unknown> | undefined;
}

export interface MockProvider {
  /** The value for the AIProvider's spec.baseURL. */
  readonly baseURL: string;
  /** The API key the mock accepts (others get the provider's 401). */
  readonly apiKey: string;
  /** Requests received, oldest first (faults included). */
  readonly requests: RecordedRequest[];
  /** Usage reported in each successful answer, oldest first. */
  readonly reported: MockUsage[];
  /** Faults answered to the next requests, one per request, before normal replies resume. */
  enqueue(...faults: MockFault[]): void;
  close(): Promise<void>;
}

export interface MockProviderOptions {
  /** Port to listen on (0 or absent: a free one). */
  port?: number;
  apiKey?: string;
  framing?: SSEFraming;
  /** When false the mock never reports usage (some OpenAI-compatible servers), so the gateway must estimate. */
  usage?: boolean;
}
