// Spans of the data plane: one SERVER span per client request and one CLIENT span per upstream
// attempt (retries and AI fallbacks each get their own), W3C trace context extracted from the
// client and injected towards the upstream so it sees the attempt span as its parent.
//
// Cost when tracing is off: the proxy holds no DataplaneTracer, `Exchange.trace` stays undefined
// and every helper here returns at its first line; no attribute object is ever built.
import type { IncomingMessage } from 'node:http';
import {
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/** The SERVER span of one client request and the context its child spans hang from. */
export interface RequestTrace {
  readonly span: Span;
  readonly context: Context;
  readonly traceId: string;
  readonly method: string;
  /** Where the attempt spans come from. */
  readonly tracer: Tracer;
}

export interface ServerSpanInput {
  method: string;
  path: string;
  host: string | undefined;
  scheme: 'http' | 'https';
}

/** What the access log and the SERVER span learn at the end of a request. */
export interface ServerSpanResult {
  status: number;
  route: string | undefined;
  cluster: string | undefined;
  consumer: string | undefined;
  errorCode: string | undefined;
  bytesIn: number;
  bytesOut: number;
  ai?: {
    operation: string;
    requestModel: string;
    providerType?: string;
    model?: string;
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
    attempts: number;
  };
}

export class DataplaneTracer {
  readonly #tracer: Tracer;

  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** Starts the SERVER span, continuing the client's trace when it sent a traceparent. */
  startRequest(req: IncomingMessage, input: ServerSpanInput): RequestTrace {
    const { headers } = req;
    // Most requests carry no trace context: skip the propagators (two header parsers) for them.
    const parent =
      headers.traceparent === undefined && headers.baggage === undefined
        ? ROOT_CONTEXT
        : propagation.extract(ROOT_CONTEXT, headers);
    const span = this.#tracer.startSpan(input.method, { kind: SpanKind.SERVER }, parent);
    // Attributes go straight onto the span (no intermediate object), and only when it records:
    // a span sampled out costs its ids and nothing else.
    if (span.isRecording()) {
      span.setAttribute('http.request.method', input.method);
      span.setAttribute('url.path', input.path);
      span.setAttribute('url.scheme', input.scheme);
      const { host } = input;
      if (host) {
        const colon = host.lastIndexOf(':');
        const bracket = host.lastIndexOf(']');
        if (colon > bracket && colon > 0) {
          span.setAttribute('server.address', host.slice(0, colon));
          span.setAttribute('server.port', Number(host.slice(colon + 1)));
        } else span.setAttribute('server.address', host);
      }
      const address = req.socket.remoteAddress;
      if (address)
        span.setAttribute('client.address', address.startsWith('::ffff:') ? address.slice(7) : address);
      const agent = headers['user-agent'];
      if (agent) span.setAttribute('user_agent.original', agent);
    }
    const context = trace.setSpan(parent, span);
    return { span, context, traceId: span.spanContext().traceId, method: input.method, tracer: this.#tracer };
  }
}

/** Ends the SERVER span with what the request turned out to be. */
export function endServerSpan(requestTrace: RequestTrace, result: ServerSpanResult): void {
  const { span } = requestTrace;
  if (span.isRecording()) {
    span.setAttribute('http.response.status_code', result.status);
    span.setAttribute('http.request.body.size', result.bytesIn);
    span.setAttribute('http.response.body.size', result.bytesOut);
    if (result.route) {
      // The route id stands in for the path template: bounded, and what operators configured.
      span.setAttribute('http.route', result.route);
      span.updateName(`${requestTrace.method} ${result.route}`);
    }
    if (result.cluster) span.setAttribute('tollgate.backend', result.cluster);
    if (result.consumer) span.setAttribute('tollgate.consumer', result.consumer);
    if (result.errorCode) span.setAttribute('error.type', result.errorCode);
    const { ai } = result;
    if (ai) {
      span.setAttribute('gen_ai.operation.name', ai.operation);
      span.setAttribute('gen_ai.request.model', ai.requestModel);
      if (ai.providerType) span.setAttribute('gen_ai.provider.name', genAIProviderName(ai.providerType));
      if (ai.model) span.setAttribute('gen_ai.response.model', ai.model);
      span.setAttribute('gen_ai.usage.input_tokens', ai.inputTokens);
      span.setAttribute('gen_ai.usage.output_tokens', ai.outputTokens);
      if (ai.cachedInputTokens > 0)
        span.setAttribute('gen_ai.usage.cache_read.input_tokens', ai.cachedInputTokens);
      span.setAttribute('tollgate.attempts', ai.attempts);
    }
    // Server spans mark 5xx as errors; 4xx is the client's doing (HTTP semantic conventions).
    if (result.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** One upstream attempt of a plain (non-AI) route. */
export interface UpstreamAttemptAttributes {
  method: string;
  cluster: string;
  /** host:port of the endpoint. */
  address: string;
  /** The request target sent upstream. */
  target: string;
  /** 0 for the first attempt, n for the n-th retry (http.request.resend_count). */
  resendCount?: number;
}

/** A CLIENT span for one upstream attempt. `end` may be called more than once; the first wins. */
export interface AttemptSpan {
  readonly span: Span;
  /** Writes traceparent (and tracestate) for the upstream, naming this attempt as the parent. */
  inject(headers: Record<string, string | string[]>): void;
  /** Ends the attempt: a response status, or an error type (connect, timeout, reset, …). */
  end(outcome: { status?: number; error?: string }): void;
}

class UpstreamAttempt implements AttemptSpan {
  readonly span: Span;
  readonly #context: Context;
  #ended = false;

  constructor(span: Span, context: Context) {
    this.span = span;
    this.#context = context;
  }

  inject(headers: Record<string, string | string[]>): void {
    propagation.inject(this.#context, headers);
  }

  end(outcome: { status?: number; error?: string }): void {
    if (this.#ended) return;
    this.#ended = true;
    const { span } = this;
    if (span.isRecording()) {
      if (outcome.status !== undefined && outcome.status > 0)
        span.setAttribute('http.response.status_code', outcome.status);
      const failed = outcome.error !== undefined || (outcome.status ?? 0) >= 400;
      if (outcome.error !== undefined) span.setAttribute('error.type', outcome.error);
      else if (failed) span.setAttribute('error.type', String(outcome.status));
      if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

function startAttempt(requestTrace: RequestTrace, name: string): UpstreamAttempt {
  const span = requestTrace.tracer.startSpan(name, { kind: SpanKind.CLIENT }, requestTrace.context);
  return new UpstreamAttempt(span, trace.setSpan(requestTrace.context, span));
}

/** Starts the CLIENT span of one upstream attempt; undefined when the request is not traced. */
export function startUpstreamAttemptSpan(
  requestTrace: RequestTrace | undefined,
  attrs: UpstreamAttemptAttributes,
): AttemptSpan | undefined {
  if (!requestTrace) return undefined;
  const attempt = startAttempt(requestTrace, attrs.method);
  const { span } = attempt;
  if (span.isRecording()) {
    const colon = attrs.address.lastIndexOf(':');
    const query = attrs.target.indexOf('?');
    span.setAttribute('http.request.method', attrs.method);
    span.setAttribute('server.address', colon > 0 ? attrs.address.slice(0, colon) : attrs.address);
    if (colon > 0) span.setAttribute('server.port', Number(attrs.address.slice(colon + 1)));
    span.setAttribute('url.path', query === -1 ? attrs.target : attrs.target.slice(0, query));
    span.setAttribute('tollgate.backend', attrs.cluster);
    if (attrs.resendCount) span.setAttribute('http.request.resend_count', attrs.resendCount);
  }
  return attempt;
}

/**
 * Runs one upstream attempt inside its CLIENT span: `fn` gets the span (to inject headers and
 * add attributes) and the span ends when `fn` settles, with the status it returns or the error it
 * throws. When the request is not traced `fn` runs with undefined and nothing else happens.
 */
export async function withUpstreamAttemptSpan<T>(
  requestTrace: RequestTrace | undefined,
  attrs: UpstreamAttemptAttributes,
  fn: (attempt: AttemptSpan | undefined) => Promise<T>,
  statusOf?: (result: T) => number | undefined,
): Promise<T> {
  const attempt = startUpstreamAttemptSpan(requestTrace, attrs);
  if (!attempt) return fn(undefined);
  try {
    const result = await fn(attempt);
    attempt.end({ status: statusOf?.(result) });
    return result;
  } catch (error) {
    attempt.end({ error: (error as { code?: string }).code ?? (error as Error).name });
    throw error;
  }
}

/** One attempt to an AI provider (fallbacks are separate attempts). */
export interface AIAttemptAttributes {
  /** chat | embeddings. */
  operation: string;
  /** The AIProvider type (openai, anthropic, bedrock, …). */
  providerType: string;
  /** The AIProvider (namespace/name). */
  provider: string;
  /** The model the client asked for and the model sent to this provider. */
  requestModel: string;
  upstreamModel: string;
  cluster: string;
  stream: boolean;
  /** 1-based position of this attempt among the request's attempts. */
  attempt: number;
}

/** Starts the CLIENT span of one provider attempt, named per the GenAI conventions ("chat gpt-4o"). */
export function startAIAttemptSpan(
  requestTrace: RequestTrace | undefined,
  attrs: AIAttemptAttributes,
): AttemptSpan | undefined {
  if (!requestTrace) return undefined;
  const attempt = startAttempt(requestTrace, `${attrs.operation} ${attrs.upstreamModel}`);
  const { span } = attempt;
  if (span.isRecording()) {
    const provider = genAIProviderName(attrs.providerType);
    span.setAttribute('gen_ai.operation.name', attrs.operation);
    span.setAttribute('gen_ai.provider.name', provider);
    span.setAttribute('gen_ai.system', provider);
    span.setAttribute('gen_ai.request.model', attrs.upstreamModel);
    span.setAttribute('tollgate.request_model', attrs.requestModel);
    span.setAttribute('tollgate.provider', attrs.provider);
    span.setAttribute('tollgate.backend', attrs.cluster);
    span.setAttribute('tollgate.stream', attrs.stream);
    span.setAttribute('tollgate.attempt', attrs.attempt);
  }
  return attempt;
}

/** What a served AI attempt adds to its span (GenAI response and usage attributes). */
export interface AIAttemptResult {
  responseModel?: string;
  responseId?: string;
  finishReasons?: string[];
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  /** Time to first token, streams only. */
  ttftMs?: number;
}

export function recordAIResult(attempt: AttemptSpan | undefined, result: AIAttemptResult): void {
  if (!attempt?.span.isRecording()) return;
  const { span } = attempt;
  if (result.responseModel) span.setAttribute('gen_ai.response.model', result.responseModel);
  if (result.responseId) span.setAttribute('gen_ai.response.id', result.responseId);
  if (result.finishReasons && result.finishReasons.length > 0)
    span.setAttribute('gen_ai.response.finish_reasons', result.finishReasons);
  if (result.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', result.inputTokens);
  if (result.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', result.outputTokens);
  if (result.cachedInputTokens)
    span.setAttribute('gen_ai.usage.cache_read.input_tokens', result.cachedInputTokens);
  if (result.ttftMs !== undefined) span.setAttribute('tollgate.time_to_first_token_ms', result.ttftMs);
}

/** Response model, id and finish reasons read from a complete response body in either API's shape. */
export function aiResponseFacts(json: unknown): AIAttemptResult {
  if (typeof json !== 'object' || json === null) return {};
  const body = json as Record<string, unknown>;
  const facts: AIAttemptResult = {};
  if (typeof body.model === 'string') facts.responseModel = body.model;
  if (typeof body.id === 'string') facts.responseId = body.id;
  const reasons: string[] = [];
  if (Array.isArray(body.choices)) {
    for (const choice of body.choices) {
      const reason = (choice as { finish_reason?: unknown } | null)?.finish_reason;
      if (typeof reason === 'string') reasons.push(reason);
    }
  }
  if (Array.isArray(body.candidates)) {
    for (const candidate of body.candidates) {
      const reason = (candidate as { finishReason?: unknown } | null)?.finishReason;
      if (typeof reason === 'string') reasons.push(reason);
    }
  }
  if (typeof body.stop_reason === 'string') reasons.push(body.stop_reason);
  if (typeof body.stopReason === 'string') reasons.push(body.stopReason);
  if (reasons.length > 0) facts.finishReasons = reasons;
  return facts;
}

/** Response model and finish reasons a stream reported, once it ended. */
export function streamFacts(state: {
  readonly responseModel: string | undefined;
  readonly finishReasons?: readonly string[] | undefined;
}): AIAttemptResult {
  const facts: AIAttemptResult = {};
  if (state.responseModel) facts.responseModel = state.responseModel;
  if (state.finishReasons && state.finishReasons.length > 0) facts.finishReasons = [...state.finishReasons];
  return facts;
}

/**
 * THE HOOK FOR PROMPT AND COMPLETION CONTENT ON SPANS. Content never reaches a span unless a
 * policy opts in (`optIn`), because prompts carry user data. `content` is called only then; the
 * caller passes what the guardrails left (masked text), never the raw body.
 */
export function recordGenAIContent(
  attempt: AttemptSpan | undefined,
  optIn: boolean,
  content: () => { input?: unknown; output?: unknown },
): void {
  if (!optIn || !attempt?.span.isRecording()) return;
  const { input, output } = content();
  if (input !== undefined) attempt.span.setAttribute('gen_ai.input.messages', JSON.stringify(input));
  if (output !== undefined) attempt.span.setAttribute('gen_ai.output.messages', JSON.stringify(output));
}

const PROVIDER_NAMES: Record<string, string> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  'vertex-ai': 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  mistral: 'mistral_ai',
  ollama: 'ollama',
};

/** gen_ai.provider.name for an AIProvider type (the conventions' well-known values where one exists). */
export function genAIProviderName(type: string): string {
  return PROVIDER_NAMES[type] ?? type;
}

/** The trace id a client sent in its traceparent, for the access log when tracing is off. */
export function traceIdOf(traceparent: string | string[] | undefined): string | undefined {
  if (typeof traceparent !== 'string' || traceparent.length < 55) return undefined;
  const id = traceparent.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '00000000000000000000000000000000' ? id : undefined;
}
