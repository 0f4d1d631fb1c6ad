// The provider adapter interface. Every provider type (openai, azure-openai, anthropic, mistral,
// openai-compatible, gemini, vertex-ai, bedrock, …) is one folder under providers/ exporting one
// `ProviderAdapter`, registered in registry.ts, and passing the shared conformance suite in
// dataplane/test/ai/conformance/. Inside a folder the STYLE split applies: request.ts (unified →
// provider), response.ts (provider → unified), stream.ts (provider stream → unified chunks),
// errors.ts, usage.ts. Wire shapes shared by several adapters live in ai/formats/<format>/.
//
// The unified format is OpenAI chat completions' (see ../unified.ts). When the client speaks the
// provider's own format (`nativeAPI`), the gateway skips translation: the body goes up with at most
// the model rewritten and usage reporting switched on, and the stream comes back event by event,
// only observed for metering.
import type { AIProviderIR } from '@tollgate/snapshot';
import type { Usage } from '../metering/usage.ts';
import type {
  ChatChunk,
  ChatCompletion,
  ChatRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
} from '../unified.ts';

/** The client-facing API formats the gateway serves. */
export type ClientAPI = 'openai' | 'anthropic';

/** What a request asks for. */
export type Operation = 'chat' | 'embeddings';

/** The provider as compiled from the snapshot, handed to every adapter call. */
export interface ProviderTarget {
  readonly ir: AIProviderIR;
  /** The path part of the provider's baseURL without a trailing "/" ("" for none), e.g. "/v1". */
  readonly basePath: string;
  /** Provider-specific settings from the AIProvider spec (azure, bedrock, vertex, …). */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * The request body as the client sent it, parsed once. `native` is offered only when the client's
 * API is the adapter's `nativeAPI`; the adapter should then forward `text` with the least change
 * (see `spliceJson` in ../json-splice.ts) instead of serialising `json` again.
 */
export type RequestBody =
  | { kind: 'native'; text: string; json: Record<string, unknown> }
  | { kind: 'chat'; request: ChatRequest }
  | { kind: 'embeddings'; request: EmbeddingsRequest };

export interface PrepareInput {
  target: ProviderTarget;
  operation: Operation;
  /** The provider model to ask for: aliases resolved, the route's per-backend rewrite applied. */
  model: string;
  stream: boolean;
  body: RequestBody;
  /** Client request headers (lowercase names) an adapter may forward, e.g. anthropic-beta on pass-through. */
  clientHeaders: Readonly<Record<string, string | string[] | undefined>>;
}

/** One upstream HTTP exchange. The origin comes from the provider's cluster. */
export interface UpstreamRequest {
  method: 'GET' | 'POST';
  /** Path and query, starting with "/" (basePath included). */
  path: string;
  /** Lowercase names. Credentials go here and nowhere else (never into logs or errors). */
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

/** A provider error, normalised. `status` is what the provider answered (0 when none: connect, timeout). */
export interface ProviderError {
  status: number;
  kind: ProviderErrorKind;
  message: string;
  /** The provider's own error code, for the caller (e.g. "context_length_exceeded", "ValidationException"). */
  providerCode?: string;
  /** The provider's error type where its format has one besides the code (e.g. "invalid_request_error"). */
  providerType?: string;
  /** The request field the provider blamed (OpenAI's `param`). */
  param?: string;
  /** From Retry-After / retry-after-ms (or a provider-specific hint), in milliseconds. */
  retryAfterMs?: number;
}

export type ProviderErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'request_too_large'
  | 'rate_limit'
  | 'overloaded'
  | 'server'
  | 'timeout'
  | 'connect';

/** What the gateway knows about a streamed response so far; read by the meter and the fallback logic. */
export interface StreamState {
  /** Usage reported so far (providers may report it in parts); undefined until any arrives. */
  readonly usage: Usage | undefined;
  /** An error event the provider sent in the stream. */
  readonly error: ProviderError | undefined;
  /** The model the provider says answered. */
  readonly responseModel: string | undefined;
  /** True once the provider signalled the end of the response (finish/stop event). */
  readonly finished: boolean;
  /** The provider's finish reasons as sent (`stop`, `end_turn`, `STOP`, …), once the stream says why it ended. */
  readonly finishReasons?: readonly string[] | undefined;
  /** Text and tool-call arguments generated so far, for estimating output when no usage arrives. */
  generatedText(): string;
}

/** Translating decoder: provider stream bytes → unified chunks. One per upstream response. */
export interface StreamDecoder {
  readonly state: StreamState;
  /** Bytes exactly as they arrived (any split); returns the chunks now complete. */
  push(bytes: Buffer): ChatChunk[];
  /** The upstream body ended; returns what is left. */
  end(): ChatChunk[];
}

/**
 * Pass-through stream (client speaks the provider's format): provider bytes → what to send to the
 * client (re-framed text, or the provider's own bytes where they need no re-framing; never
 * re-serialised), observing usage on the way.
 */
export interface PassthroughStream {
  readonly state: StreamState;
  push(bytes: Buffer): string | Buffer;
  end(): string | Buffer;
}

export interface PassthroughOptions {
  /**
   * The gateway asked for usage the client did not (OpenAI `stream_options.include_usage`): drop
   * the usage-only event so the client sees the stream it asked for.
   */
  dropUsageEvent: boolean;
}

export interface ProviderAdapter {
  /** The AIProvider `spec.type` values served by this adapter. */
  readonly types: readonly string[];
  /** The client API this provider speaks natively (pass-through when the client speaks it too). */
  readonly nativeAPI: ClientAPI | undefined;
  supports(operation: Operation): boolean;
  /**
   * The upstream request for one attempt. May be async (a token to fetch, a signature to compute);
   * throw a ProviderRequestError for a request this provider cannot serve.
   */
  prepare(input: PrepareInput): UpstreamRequest | Promise<UpstreamRequest>;
  /** A successful non-streaming chat response (parsed JSON) → unified completion and usage. */
  chatResponse(json: unknown, input: PrepareInput): { completion: ChatCompletion; usage: Usage | undefined };
  /**
   * A successful embeddings response → unified response and usage (only when supports('embeddings')).
   * Usage undefined ⇒ the provider reported none: the gateway estimates it and fills the response's.
   */
  embeddingsResponse?(
    json: unknown,
    input: PrepareInput,
    headers: Readonly<Record<string, string | string[] | undefined>>,
  ): { response: EmbeddingsResponse; usage: Usage | undefined };
  /** Usage of a successful native response body, for pass-through (non-streaming). */
  nativeUsage(json: unknown, operation: Operation): Usage | undefined;
  streamDecoder(input: PrepareInput): StreamDecoder;
  /** Only adapters with a nativeAPI. */
  passthroughStream?(input: PrepareInput, options: PassthroughOptions): PassthroughStream;
  /**
   * The health-check probe: a cheap authenticated request (the model list where the API has one).
   * Absent ⇒ GET of the base path, which proves the provider answers at all.
   */
  probe?(target: ProviderTarget): UpstreamRequest | Promise<UpstreamRequest>;
  /** A non-2xx answer → normalised error. `body` is the raw text (may not be JSON). */
  parseError(
    status: number,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    body: string,
  ): ProviderError;
}

/** Thrown by `prepare` when the request cannot be expressed for this provider (answered 400). */
export class ProviderRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderRequestError';
  }
}

/**
 * Thrown by `prepare` when the gateway cannot obtain the provider's credentials (a token exchange
 * refused, a key that is not a key): the caller gets the provider-auth error with this reason,
 * and the access log records it. The message must never hold a secret.
 */
export class ProviderAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderAuthError';
  }
}

/**
 * A tool call's arguments as an object, for providers that take them parsed (the unified format
 * carries them as a JSON string). Unparsable arguments are the caller's mistake: a 400.
 */
export function toolCallArguments(call: { id: string; function: { arguments?: string } }): unknown {
  if (!call.function.arguments) return {};
  try {
    return JSON.parse(call.function.arguments);
  } catch {
    throw new ProviderRequestError(`messages: tool call ${call.id} has arguments that are not JSON`);
  }
}
