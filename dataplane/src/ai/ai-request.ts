// One request on an AI route: read and parse the body once, route on the model, then try the
// route's providers in order (priority, weight) until one answers. Fallback happens only before
// the first byte reaches the client; after that a stream is never duplicated.
import { performance } from 'node:perf_hooks';
import type { ErrorCode, ErrorParams } from '../errors.ts';
import {
  type AIAttemptResult,
  type AttemptSpan,
  aiResponseFacts,
  budgetDecisionOf,
  genAIInputMessages,
  genAIOutputMessages,
  maskedCompletion,
  recordAIResult,
  recordGenAIContent,
  startAIAttemptSpan,
  streamFacts,
} from '../observability/index.ts';
import {
  type GuardrailRecorder,
  type Guardrails,
  guardrailRecorder,
  guardrailStreamError,
} from '../policies/guardrails/index.ts';
import type { BudgetHold, Refusal } from '../policies/index.ts';
import type { RoutePlan } from '../proxy/route-plan.ts';
import { StreamOutputCount, spendDemand, spentOf } from './budget-spend.ts';
import { anthropicClient } from './clients/anthropic/index.ts';
import { decodeOpenAIEmbeddings, openAIClient } from './clients/openai/index.ts';
import { decodeOpenAIChat } from './clients/openai/request.ts';
import { type ChatClientCodec, ClientRequestError } from './clients/types.ts';
import { DEFAULT_COOLDOWN_MS } from './cooldown.ts';
import { type AIEndpoint, apiOfPath, classifyEndpoint } from './endpoints.ts';
import { isRecord, parseJson } from './formats/http.ts';
import type { AIGatewaySettings, AIServeContext } from './gateway.ts';
import { type AttemptOutcome, RequestMeter } from './meter.ts';
import { estimateInputTokens } from './metering/estimate.ts';
import type { Usage } from './metering/usage.ts';
import { formatUsageHeader, USAGE_HEADER } from './metering/usage-header.ts';
import { modelsOfHost, renderModelList } from './models-list.ts';
import type { AIPlan, Candidate } from './plan.ts';
import { PROVIDER_REJECTED, rejectionBody, rejectionStatus } from './provider-rejection.ts';
import {
  type ClientAPI,
  type Operation,
  type PrepareInput,
  ProviderAuthError,
  type ProviderError,
  ProviderRequestError,
  type RequestBody,
  type StreamState,
  type UpstreamRequest,
} from './providers/types.ts';
import { readRequestBody } from './request-body.ts';
import { responseText } from './response-text.ts';
import type { ChatRequest, EmbeddingsRequest } from './unified.ts';
import {
  AttemptTimeoutError,
  callUpstream,
  readBodyText,
  transportError,
  type UpstreamResponse,
} from './upstream-call.ts';

/** How an attempt ended. */
type Attempt =
  | { kind: 'done' }
  | { kind: 'client-gone' }
  /** The provider failed in a way another provider may not: try the next one. */
  | { kind: 'retry'; error: ProviderError }
  /** The request itself is the problem (or the provider refused it for good): answer now. */
  | { kind: 'final'; error: ProviderError };

const RETRIABLE = new Set(['rate_limit', 'overloaded', 'server', 'timeout', 'connect']);
const SLOW_FAILURES = new Set(['server', 'timeout', 'connect']);
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

interface Prepared {
  endpoint: Extract<AIEndpoint, { kind: 'operation' }>;
  plan: RoutePlan & { ai: AIPlan };
  text: string;
  json: Record<string, unknown>;
  model: string;
  stream: boolean;
  client: ChatClientCodec;
  wantsUsage: boolean;
  /** The caller's guardrails (Policy guardrails); undefined ⇒ none apply. */
  guardrails: Guardrails | undefined;
}

export class AIRequest {
  readonly #gateway: AIGatewaySettings;
  readonly #context: AIServeContext;
  readonly #startedAt = performance.now();
  #meter: RequestMeter | undefined;
  #unified: ChatRequest | EmbeddingsRequest | undefined;
  /** The stream being relayed, for metering a client that leaves mid-stream. */
  #streamState: StreamState | undefined;
  #clientGone = false;
  /** Set when the route's request timeout passed; aborts the attempt in flight through #abortAttempt. */
  #deadline: AttemptTimeoutError | undefined;
  #abortAttempt: ((reason: Error) => void) | undefined;
  /** The budgets reservation, settled once the request is over. */
  #budget: BudgetHold | undefined;
  /** Records the attempt's time to first byte with the balancer's latency figures. */
  #firstByte: (() => void) | undefined;
  /** The CLIENT span of the attempt in flight (tracing on only) and what its response said. */
  #attemptSpan: AttemptSpan | undefined;
  #attemptFacts: AIAttemptResult | undefined;

  constructor(gateway: AIGatewaySettings, context: AIServeContext) {
    this.#gateway = gateway;
    this.#context = context;
    this.#recordGuardrail = guardrailRecorder({
      count: (labels) => gateway.metrics.guardrailDecisions.inc(labels),
      logger: gateway.logger,
      subject: context.exchange,
    });
  }

  get #exchange() {
    return this.#context.exchange;
  }

  async run(): Promise<void> {
    const exchange = this.#exchange;
    const { req } = exchange;
    const endpoint = classifyEndpoint(exchange.method, exchange.path, req.headers);
    exchange.errorShape = endpoint?.api ?? apiOfPath(exchange.path);
    if (!endpoint) {
      exchange.fail('TG_ERR_AI_ENDPOINT_NOT_FOUND', { method: exchange.method, path: exchange.path });
      return;
    }
    if (endpoint.kind === 'models') {
      this.#listModels(endpoint.api);
      return;
    }
    exchange.onClientClosed = () => {
      this.#clientGone = true;
    };
    const read = await readRequestBody(req, this.#gateway.maxRequestBodyBytes);
    if (!read.ok) {
      if (read.reason === 'too-large')
        exchange.fail('TG_ERR_AI_BODY_TOO_LARGE', { limit: this.#gateway.maxRequestBodyBytes });
      return;
    }
    const text = read.body.toString('utf8');
    const json = parseJson(text);
    if (json === undefined) return this.#invalid('the body is not valid JSON');
    if (!isRecord(json)) return this.#invalid('the body must be a JSON object');
    const model = json.model;
    if (typeof model !== 'string' || model === '') return this.#invalid('model: a model name is required');

    const match = this.#context.rematch(model);
    if (!match) {
      exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model, models: this.#modelsPath() });
      return;
    }
    if (this.#context.admit && !this.#context.admit(match, model)) return;
    const plan = match.entry.data;
    exchange.route = plan.id;
    exchange.routeMetrics = plan.metrics;
    if (!plan.ai) {
      this.#context.serveEntry(match, read.body);
      return;
    }
    exchange.bytesIn += read.body.length;
    const client = endpoint.api === 'openai' ? openAIClient : anthropicClient;
    const prepared: Prepared = {
      endpoint,
      plan: plan as RoutePlan & { ai: AIPlan },
      text,
      json,
      model,
      stream: endpoint.operation === 'chat' && json.stream === true,
      client,
      wantsUsage: client.wantsStreamUsage(json),
      guardrails: plan.guardrails?.for(exchange.policy?.caller?.id),
    };
    if (prepared.guardrails && !this.#guardRequest(prepared)) return;
    // OpenAI bodies are checked here (they may pass through untranslated); Anthropic ones when translated.
    if (endpoint.api === 'openai') {
      try {
        this.#unified = endpoint.operation === 'chat' ? decodeOpenAIChat(json) : decodeOpenAIEmbeddings(json);
      } catch (error) {
        if (error instanceof ClientRequestError) return this.#invalid(error.message);
        throw error;
      }
    }
    await this.#serve(prepared);
  }

  /** Guardrails on the request: false when refused (answered). Masking rewrites the body sent. */
  #guardRequest(p: Prepared): boolean {
    const verdict = p.guardrails!.checkRequest(
      { body: p.json, model: p.model, estimateInputTokens: () => estimateInputTokens(p.json) },
      this.#recordGuardrail,
    );
    if (!verdict.ok) {
      this.#exchange.fail(verdict.refusal.code, verdict.refusal.params);
      return false;
    }
    if (verdict.masked) p.text = JSON.stringify(p.json);
    return true;
  }

  /** Guardrail decisions: counted, named on the access-log line, logged when `action: log`. */
  readonly #recordGuardrail: GuardrailRecorder;

  /** Last resort for a bug: answer 500 rather than leave the client hanging. */
  internalError(error: Error): void {
    this.#meter?.failed('internal');
    if (this.#meter) this.#exchange.ai = this.#meter.record;
    this.#exchange.fail('TG_ERR_INTERNAL', { reason: error.message });
  }

  async #serve(p: Prepared): Promise<void> {
    const exchange = this.#exchange;
    const { operation, api } = p.endpoint;
    const meter = new RequestMeter({
      metrics: this.#gateway.metrics,
      route: p.plan.id,
      api,
      operation,
      stream: p.stream,
      requestModel: p.model,
      startedAt: this.#startedAt,
      estimateInput: () => estimateInputTokens(p.json),
    });
    this.#meter = meter;
    exchange.onClientClosed = () => this.#onClientGone();
    if (this.#clientGone) return this.#onClientGone();

    const gateway = this.#gateway;
    const found = p.plan.ai.candidates(p.model, operation, {
      load: gateway.load,
      available: (b) =>
        gateway.cooldowns.remaining(b.provider.id) === 0 &&
        gateway.limits.available(b.provider.id, b.provider.limits) &&
        gateway.health.healthy(b.provider.id),
    });
    if (!found.ok) {
      meter.failed(found.reason);
      exchange.ai = meter.record;
      if (found.reason === 'model-not-found')
        exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model: p.model, models: this.#modelsPath() });
      else exchange.fail('TG_ERR_AI_OPERATION_UNSUPPORTED', { model: p.model, operation });
      return;
    }
    if (!(await this.#holdBudget(p, found.candidates))) return;

    // The route's request timeout bounds the whole exchange: every attempt, and the stream.
    const requestMs = p.plan.ir.timeouts.requestMs ?? 0;
    const deadline =
      requestMs > 0
        ? setTimeout(() => {
            this.#deadline = new AttemptTimeoutError(requestMs);
            this.#abortAttempt?.(this.#deadline);
          }, requestMs)
        : undefined;
    try {
      await this.#tryCandidates(p, found.candidates);
    } finally {
      clearTimeout(deadline);
      this.#budget?.settle(spentOf(meter.record));
    }
  }

  /**
   * Budgets: reserves the most the request can cost before any provider is called. False ⇒
   * refused (answered already).
   */
  async #holdBudget(p: Prepared, candidates: readonly Candidate[]): Promise<boolean> {
    const exchange = this.#exchange;
    const caller = exchange.policy?.caller;
    const guard = (p.plan.policy ?? this.#context.match.entry.data.policy)?.budgets(caller);
    if (!guard) return true;
    const demand = spendDemand(p.json, p.endpoint.operation, candidates, estimateInputTokens(p.json));
    const outcome = await guard.reserve(caller, demand);
    this.#gateway.metrics.budgetDecisions.inc({
      route: p.plan.id,
      decision: budgetDecisionOf('code' in outcome ? outcome.code : undefined),
    });
    if ('code' in outcome) {
      this.#meter!.failed('budget_exceeded');
      exchange.ai = this.#meter!.record;
      exchange.fail(outcome.code, outcome.params, outcome.headers);
      return false;
    }
    this.#budget = outcome;
    for (const [name, value] of Object.entries(outcome.headers)) exchange.res.setHeader(name, value);
    if (this.#clientGone) {
      this.#onClientGone();
      outcome.settle(undefined);
      return false;
    }
    return true;
  }

  async #tryCandidates(p: Prepared, candidates: readonly Candidate[]): Promise<void> {
    const exchange = this.#exchange;
    const meter = this.#meter!;
    let last: { candidate: Candidate; error: ProviderError } | undefined;
    let onlyRateLimits = true;
    let soonestRetryMs = Number.POSITIVE_INFINITY;
    const { health } = this.#gateway;
    // When every provider fails its health checks, they are all tried anyway: a probe may be
    // wrong, and trying beats refusing outright.
    const someHealthy = candidates.some((c) => health.healthy(c.backend.provider.id));
    for (const candidate of candidates) {
      const { provider } = candidate.backend;
      if (this.#deadline) break;
      if (someHealthy && !health.healthy(provider.id)) {
        meter.attempt(candidate, 'unhealthy');
        continue;
      }
      if (!provider.adapter) {
        meter.attempt(candidate, 'rejected');
        onlyRateLimits = false;
        last ??= {
          candidate,
          error: { status: 501, kind: 'invalid_request', message: `type ${provider.ir.type} unsupported` },
        };
        continue;
      }
      const cooling = this.#gateway.cooldowns.remaining(provider.id);
      if (cooling > 0) {
        meter.attempt(candidate, 'cooling_down');
        soonestRetryMs = Math.min(soonestRetryMs, cooling);
        last ??= {
          candidate,
          error: {
            status: 429,
            kind: 'rate_limit',
            message: 'cooling down after a rate limit',
            retryAfterMs: cooling,
          },
        };
        continue;
      }
      const admission = this.#gateway.limits.admit(provider.id, provider.limits);
      if (!admission.ok) {
        // Over this pod's share of the provider's quota: as good as a 429, without asking.
        meter.attempt(candidate, 'cooling_down');
        soonestRetryMs = Math.min(soonestRetryMs, admission.retryAfterMs);
        last ??= {
          candidate,
          error: {
            status: 429,
            kind: 'rate_limit',
            message: `the provider's ${admission.reason} limit is reached`,
            retryAfterMs: admission.retryAfterMs,
          },
        };
        continue;
      }
      meter.candidate = candidate;
      exchange.cluster = candidate.backend.cluster.id;
      const { key } = candidate.backend;
      const endLoad = this.#gateway.load.begin(key);
      const startedAt = performance.now();
      this.#firstByte = () => {
        this.#firstByte = undefined;
        this.#gateway.load.observe(key, performance.now() - startedAt);
      };
      const span = exchange.trace
        ? startAIAttemptSpan(exchange.trace, {
            operation: p.endpoint.operation,
            providerType: provider.ir.type,
            provider: provider.name,
            requestModel: p.model,
            upstreamModel: candidate.model.upstream,
            cluster: candidate.backend.cluster.id,
            stream: p.stream,
            attempt: meter.attempts + 1,
          })
        : undefined;
      this.#attemptSpan = span;
      this.#attemptFacts = undefined;
      // Content only with a Policy's opt-in, and the prompt as the guardrails left it (masked).
      if (span?.span.isRecording())
        recordGenAIContent(span, recordsContent(p), () => ({ input: genAIInputMessages(p.json) }));
      let outcome: Attempt | undefined;
      try {
        outcome = await this.#attempt(p, candidate);
      } finally {
        if (span) this.#endAttemptSpan(span, outcome);
        endLoad();
        const record = meter.record;
        admission.permit.release(record ? record.inputTokens + record.outputTokens : undefined);
      }
      // A failure that cost time (timeout, broken connection, bad answer) counts as a slow answer.
      if (outcome.kind === 'retry' && SLOW_FAILURES.has(outcome.error.kind)) this.#firstByte?.();
      this.#firstByte = undefined;
      if (outcome.kind === 'done' || outcome.kind === 'client-gone') return;
      if (outcome.kind === 'final') return this.#answerProviderError(p, candidate, outcome.error);
      meter.attempt(candidate, outcomeOf(outcome.error));
      last = { candidate, error: outcome.error };
      if (
        outcome.error.kind === 'rate_limit' ||
        (outcome.error.kind === 'overloaded' && outcome.error.retryAfterMs)
      ) {
        const ms = outcome.error.retryAfterMs ?? DEFAULT_COOLDOWN_MS;
        this.#gateway.cooldowns.start(provider.id, ms);
        soonestRetryMs = Math.min(soonestRetryMs, ms);
      } else {
        onlyRateLimits = false;
      }
      if (this.#clientGone) return;
    }
    if (this.#deadline && last) {
      meter.failed('timeout');
      exchange.ai = meter.record;
      exchange.fail('TG_ERR_UPSTREAM_TIMEOUT', {
        upstream: last.candidate.backend.provider.name,
        timeoutMs: this.#deadline.timeoutMs,
      });
      return;
    }
    if (!last) return;
    if (last.candidate.backend.provider.adapter === undefined && candidates.length === 1) {
      const { provider } = last.candidate.backend;
      meter.failed('unsupported_provider');
      exchange.ai = meter.record;
      exchange.fail('TG_ERR_AI_PROVIDER_TYPE_UNSUPPORTED', {
        provider: provider.name,
        type: provider.ir.type,
      });
      return;
    }
    if (onlyRateLimits && Number.isFinite(soonestRetryMs)) {
      last = {
        ...last,
        error: { ...last.error, kind: 'rate_limit', status: 429, retryAfterMs: soonestRetryMs },
      };
    }
    this.#answerProviderError(p, last.candidate, last.error);
  }

  #endAttemptSpan(span: AttemptSpan, outcome: Attempt | undefined): void {
    this.#attemptSpan = undefined;
    if (outcome?.kind === 'done') {
      // A sampled-out attempt builds nothing: it only ends.
      if (span.span.isRecording()) {
        const record = this.#meter?.record;
        recordAIResult(span, {
          ...this.#attemptFacts,
          ...(record
            ? {
                inputTokens: record.inputTokens,
                outputTokens: record.outputTokens,
                cachedInputTokens: record.cachedInputTokens,
                ...(record.ttftMs !== undefined ? { ttftMs: record.ttftMs } : {}),
              }
            : {}),
        });
      }
      span.end({ status: 200, ...(this.#exchange.errorCode ? { error: this.#exchange.errorCode } : {}) });
    } else if (outcome?.kind === 'retry' || outcome?.kind === 'final') {
      span.end({ status: outcome.error.status, error: outcome.error.kind });
    } else {
      span.end({ error: outcome ? 'client_closed' : 'internal' });
    }
  }

  /** One provider, one try. */
  async #attempt(p: Prepared, candidate: Candidate): Promise<Attempt> {
    const exchange = this.#exchange;
    const { provider } = candidate.backend;
    const adapter = provider.adapter!;
    const { operation, api } = p.endpoint;
    const native = adapter.nativeAPI === api;
    let body: RequestBody;
    try {
      body = native ? { kind: 'native', text: p.text, json: p.json } : this.#unifiedBody(p, operation);
    } catch (error) {
      if (error instanceof ClientRequestError) return final(400, 'invalid_request', error.message);
      throw error;
    }
    const input: PrepareInput = {
      target: provider.target,
      operation,
      model: candidate.model.upstream,
      stream: p.stream,
      body,
      clientHeaders: exchange.req.headers,
    };
    let request: UpstreamRequest;
    try {
      request = await adapter.prepare(input);
    } catch (error) {
      if (error instanceof ProviderRequestError) return final(400, 'invalid_request', error.message);
      if (error instanceof ProviderAuthError) return final(0, 'authentication', error.message);
      throw error;
    }

    const attemptMs = attemptTimeoutMs(p, provider);
    const controller = new AbortController();
    this.#abortAttempt = (reason) => controller.abort(reason);
    if (this.#deadline) controller.abort(this.#deadline);
    const timer =
      attemptMs > 0
        ? setTimeout(() => controller.abort(new AttemptTimeoutError(attemptMs)), attemptMs)
        : undefined;
    const stopTimer = (): void => clearTimeout(timer);
    exchange.onClientClosed = (error) => {
      this.#onClientGone();
      controller.abort(error);
    };
    if (exchange.upstreamStartedAt === 0) exchange.upstreamStartedAt = performance.now();
    const extraHeaders: Record<string, string> = { 'x-request-id': exchange.requestId };
    p.plan.requestHeaders?.apply(extraHeaders);
    this.#attemptSpan?.inject(extraHeaders);
    const call = await callUpstream({
      cluster: candidate.backend.cluster,
      request,
      extraHeaders,
      controller,
      idleMs: p.plan.timeouts.idleMs,
      connectMs: provider.connectTimeoutMs,
    });
    if (this.#clientGone) {
      stopTimer();
      if (call.ok) call.response.body.destroy();
      return { kind: 'client-gone' };
    }
    if (!call.ok) {
      stopTimer();
      return { kind: 'retry', error: call.error };
    }
    const { response } = call;
    if (response.status >= 400) {
      const text = await readBodyText(response.body, MAX_ERROR_BODY_BYTES).catch(() => '');
      stopTimer();
      const error = adapter.parseError(response.status, response.headers, text);
      return RETRIABLE.has(error.kind) ? { kind: 'retry', error } : { kind: 'final', error };
    }
    if (!p.stream) {
      let text: string;
      try {
        text = await readBodyText(response.body, this.#gateway.maxResponseBodyBytes);
      } catch (error) {
        stopTimer();
        if (this.#clientGone) return { kind: 'client-gone' };
        return { kind: 'retry', error: transportError(error as Error, controller.signal) };
      }
      stopTimer();
      return this.#respondComplete(p, candidate, input, native, text, response.headers);
    }
    return this.#relayStream(p, input, native, response, controller, stopTimer);
  }

  #unifiedBody(p: Prepared, operation: Operation): RequestBody {
    if (operation === 'embeddings')
      return { kind: 'embeddings', request: this.#unified as EmbeddingsRequest };
    this.#unified ??= p.client.decode(p.json);
    return { kind: 'chat', request: this.#unified as ChatRequest };
  }

  #respondComplete(
    p: Prepared,
    candidate: Candidate,
    input: PrepareInput,
    native: boolean,
    text: string,
    responseHeaders: UpstreamResponse['headers'],
  ): Attempt {
    const exchange = this.#exchange;
    const adapter = candidate.backend.provider.adapter!;
    const meter = this.#meter!;
    const json = parseJson(text);
    if (json === undefined) return { kind: 'retry', error: badResponse('the response is not JSON') };
    // Translate first: a response that cannot be read is a failed attempt, not a success.
    let out: string;
    let reported: Usage | undefined;
    let generated: () => string;
    let encode: ((usage: Usage) => string) | undefined;
    /** What response guardrails read: the client-format body, or the completion before encoding. */
    let checked: unknown;
    try {
      if (native) {
        reported = adapter.nativeUsage(json, input.operation);
        generated = () => responseText(json);
        out = text;
        checked = json;
      } else if (input.operation === 'embeddings') {
        const converted = adapter.embeddingsResponse!(json, input, responseHeaders);
        reported = converted.usage;
        generated = () => '';
        // The response's usage is the metered one (estimated when the provider reported none).
        encode = (usage) =>
          JSON.stringify({
            ...converted.response,
            usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens },
          });
        out = '';
      } else {
        const converted = adapter.chatResponse(json, input);
        reported = converted.usage;
        generated = () => responseText(converted.completion);
        encode = (usage) => p.client.encodeCompletion(converted.completion, usage);
        checked = converted.completion;
        out = '';
      }
    } catch (error) {
      return { kind: 'retry', error: badResponse((error as Error).message) };
    }
    meter.attempt(candidate, 'success');
    this.#firstByte?.();
    // Only a recording span reads the response's facts: a sampled-out request costs nothing here.
    if (this.#attemptSpan?.span.isRecording()) this.#attemptFacts = aiResponseFacts(json);
    const metered = meter.served(reported, true, generated);
    if (p.guardrails && isRecord(checked)) {
      const verdict = p.guardrails.checkResponse(checked, this.#recordGuardrail);
      if (!verdict.ok) {
        exchange.ai = meter.record;
        exchange.upstreamEnded();
        exchange.fail(verdict.refusal.code, verdict.refusal.params);
        return { kind: 'done' };
      }
      if (verdict.masked && native) out = JSON.stringify(checked);
    }
    if (this.#attemptSpan?.span.isRecording() && input.operation === 'chat')
      recordGenAIContent(this.#attemptSpan, recordsContent(p), () => ({
        output: genAIOutputMessages(generated(), this.#attemptFacts?.finishReasons?.[0]),
      }));
    if (encode) out = encode(metered.usage);
    exchange.ai = meter.record;
    exchange.upstreamEnded();
    const headers: Record<string, string | string[] | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(out),
      'x-request-id': exchange.requestId,
      [USAGE_HEADER]: formatUsageHeader(metered.usage, metered.cost),
    };
    p.plan.responseHeaders?.apply(headers as Record<string, string | string[]>);
    const { res } = exchange;
    if (res.destroyed) return { kind: 'client-gone' };
    res.writeHead(200, headers);
    exchange.bytesOut += Buffer.byteLength(out);
    res.end(exchange.method === 'HEAD' ? undefined : out);
    return { kind: 'done' };
  }

  async #relayStream(
    p: Prepared,
    input: PrepareInput,
    native: boolean,
    response: UpstreamResponse,
    controller: AbortController,
    stopTimer: () => void,
  ): Promise<Attempt> {
    const exchange = this.#exchange;
    const { res } = exchange;
    const meter = this.#meter!;
    const candidate = meter.candidate!;
    const adapter = candidate.backend.provider.adapter!;
    const passthrough = native
      ? adapter.passthroughStream!(input, { dropUsageEvent: p.endpoint.api === 'openai' && !p.wantsUsage })
      : undefined;
    const decoder = native ? undefined : adapter.streamDecoder(input);
    const encoder = native
      ? undefined
      : p.client.streamEncoder({ includeUsage: p.wantsUsage, model: p.model });
    const state = (passthrough ?? decoder)!.state;
    const translate = (chunk: Buffer | undefined): string => {
      if (passthrough) return chunk ? passthrough.push(chunk) : passthrough.end();
      return encoder!.chunks(chunk ? decoder!.push(chunk) : decoder!.end());
    };
    let committed = false;
    const commit = (): void => {
      stopTimer();
      committed = true;
      this.#streamState = state;
      meter.attempt(candidate, 'success');
      meter.firstToken();
      this.#firstByte?.();
      const headers: Record<string, string | string[]> = {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-request-id': exchange.requestId,
        trailer: USAGE_HEADER,
      };
      p.plan.responseHeaders?.apply(headers);
      res.writeHead(200, headers);
    };

    let broken: ProviderError | undefined;
    const watcher = p.guardrails?.streamWatcher(this.#recordGuardrail);
    let cut: Refusal | undefined;
    // A stream granted less than its most (its budget nearly spent) stops where the grant ends.
    const budgetCount = this.#budget?.partial ? new StreamOutputCount(p.endpoint.api) : undefined;
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        const text = translate(chunk);
        if (!committed) {
          if (state.error) {
            stopTimer();
            response.body.destroy();
            return retryOrFinal(state.error);
          }
          if (!text) continue;
          commit();
        }
        cut = watcher?.push(text);
        if (cut) break;
        if (budgetCount && !this.#budget!.fits(budgetCount.push(text))) {
          cut = this.#budget!.cutRefusal();
          break;
        }
        if (!(await write(res, text))) break;
        exchange.bytesOut += Buffer.byteLength(text);
      }
    } catch (error) {
      if (this.#clientGone) return { kind: 'client-gone' };
      const failure = transportError(error as Error, controller.signal);
      if (!committed) {
        stopTimer();
        return { kind: 'retry', error: failure };
      }
      broken = failure;
    }
    if (this.#clientGone || res.destroyed) {
      this.#onClientGone();
      return { kind: 'client-gone' };
    }
    if (cut) return this.#cutStream(p, cut);
    let tail = translate(undefined);
    if (!committed) {
      stopTimer();
      if (state.error) return retryOrFinal(state.error);
      if (!tail) return { kind: 'retry', error: badResponse('the stream ended without any event') };
      commit();
    }
    const error = state.error ?? broken;
    if (this.#attemptSpan?.span.isRecording()) {
      this.#attemptFacts = streamFacts(state);
      recordGenAIContent(this.#attemptSpan, recordsContent(p), () => {
        const text = maskedCompletion(state.generatedText(), p.guardrails);
        return text === undefined ? {} : { output: genAIOutputMessages(text, state.finishReasons?.[0]) };
      });
    }
    const metered = meter.served(
      state.usage,
      state.finished,
      () => state.generatedText(),
      error ? 'stream_error' : undefined,
    );
    if (error) exchange.errorCode = 'TG_ERR_AI_STREAM_ERROR';
    if (encoder) tail += error ? encoder.error(error) : encoder.end(metered.usage);
    exchange.ai = meter.record;
    exchange.upstreamEnded();
    if (tail) {
      res.write(tail);
      exchange.bytesOut += Buffer.byteLength(tail);
    }
    res.addTrailers({ [USAGE_HEADER]: formatUsageHeader(metered.usage, metered.cost) });
    res.end();
    return { kind: 'done' };
  }

  /** A guardrail blocked the stream's text: meter what was generated, end with an error event. */
  #cutStream(p: Prepared, cut: Refusal): Attempt {
    const exchange = this.#exchange;
    const meter = this.#meter!;
    const state = this.#streamState!;
    const why = cut.code === 'TG_ERR_BUDGET_EXCEEDED' ? 'budget_exceeded' : 'guardrail';
    const metered = meter.served(state.usage, false, () => state.generatedText(), why);
    exchange.errorCode = cut.code;
    exchange.ai = meter.record;
    exchange.upstreamEnded();
    const event = guardrailStreamError(p.endpoint.api, cut);
    exchange.res.write(event);
    exchange.bytesOut += Buffer.byteLength(event);
    exchange.res.addTrailers({ [USAGE_HEADER]: formatUsageHeader(metered.usage, metered.cost) });
    exchange.res.end();
    return { kind: 'done' };
  }

  /** The client left: meter what was generated so far, once, before the access log is written. */
  #onClientGone(): void {
    this.#clientGone = true;
    const meter = this.#meter;
    if (!meter || meter.done) return;
    const state = this.#streamState;
    if (state) meter.served(state.usage, state.finished, () => state.generatedText(), 'client_closed');
    else if (meter.candidate) meter.served(undefined, false, () => '', 'client_closed');
    else meter.failed('client_closed');
    this.#exchange.ai = meter.record;
  }

  #answerProviderError(p: Prepared, candidate: Candidate, error: ProviderError): void {
    const exchange = this.#exchange;
    const meter = this.#meter!;
    const { provider } = candidate.backend;
    meter.candidate = candidate;
    const reason = redact(error.message, provider.ir.credentials);
    meter.failed(error.kind, reason);
    exchange.ai = meter.record;
    const common = { provider: provider.name, model: p.model, reason };
    const retryHeader =
      error.retryAfterMs !== undefined
        ? { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) }
        : undefined;
    const timeoutMs = attemptTimeoutMs(p, provider);
    const answers: Partial<Record<ProviderError['kind'], [ErrorCode, ErrorParams, Record<string, string>?]>> =
      {
        // Status 0: the gateway could not obtain credentials to send (a refused token exchange).
        authentication: ['TG_ERR_AI_PROVIDER_AUTH', { providerStatus: error.status || 'not sent' }],
        permission: ['TG_ERR_AI_PROVIDER_AUTH', { providerStatus: error.status || 'not sent' }],
        rate_limit: [
          'TG_ERR_AI_RATE_LIMITED',
          { seconds: retryHeader?.['retry-after'] ?? '1' },
          retryHeader ?? { 'retry-after': '1' },
        ],
        overloaded: ['TG_ERR_AI_PROVIDER_OVERLOADED', {}, retryHeader],
        timeout: ['TG_ERR_UPSTREAM_TIMEOUT', { upstream: provider.name, timeoutMs }],
        connect: ['TG_ERR_UPSTREAM_CONNECT', { upstream: provider.name }],
        server: ['TG_ERR_AI_PROVIDER_ERROR', {}],
      };
    const answer = answers[error.kind];
    if (answer) {
      const [code, params, headers] = answer;
      exchange.fail(code, { ...common, ...params }, headers);
      return;
    }
    // The provider refused the request itself: keep its status (400, 404, 413, 422, …), code and words.
    const status = rejectionStatus(error);
    const body = rejectionBody(
      p.endpoint.api,
      error,
      `provider ${provider.name} rejected the request: ${reason}`,
    );
    exchange.errorCode = PROVIDER_REJECTED;
    const { res } = exchange;
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-tollgate-error-code': PROVIDER_REJECTED,
      'x-request-id': exchange.requestId,
    };
    res.writeHead(status, headers);
    exchange.bytesOut += Buffer.byteLength(body);
    res.end(exchange.method === 'HEAD' ? undefined : body);
  }

  #invalid(reason: string): void {
    this.#exchange.fail('TG_ERR_AI_INVALID_REQUEST', { reason });
  }

  #listModels(api: ClientAPI): void {
    const exchange = this.#exchange;
    const body = renderModelList(api, modelsOfHost(this.#context.match.vhost));
    exchange.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-request-id': exchange.requestId,
    });
    exchange.bytesOut += Buffer.byteLength(body);
    exchange.res.end(exchange.method === 'HEAD' ? undefined : body);
  }

  #modelsPath(): string {
    const path = this.#exchange.path;
    const at = path.lastIndexOf('/');
    return `${at > 0 ? path.slice(0, at) : ''}/models`.replace(/\/chat\/models$/, '/models');
  }
}

/**
 * One attempt's deadline: the shorter of the route's (backendRequest, else the proxy's headers
 * timeout) and the provider's own timeouts.request.
 */
function attemptTimeoutMs(p: Prepared, provider: Candidate['backend']['provider']): number {
  const route = p.plan.ir.timeouts.backendRequestMs || p.plan.timeouts.headersMs;
  const own = provider.attemptTimeoutMs;
  if (!own) return route;
  return route > 0 ? Math.min(route, own) : own;
}

function final(status: number, kind: ProviderError['kind'], message: string): Attempt {
  return { kind: 'final', error: { status, kind, message } };
}

function retryOrFinal(error: ProviderError): Attempt {
  return RETRIABLE.has(error.kind) ? { kind: 'retry', error } : { kind: 'final', error };
}

function badResponse(message: string): ProviderError {
  return { status: 502, kind: 'server', message };
}

function outcomeOf(error: ProviderError): AttemptOutcome {
  switch (error.kind) {
    case 'rate_limit':
      return 'rate_limited';
    case 'overloaded':
      return 'overloaded';
    case 'timeout':
      return 'timeout';
    case 'connect':
      return 'connect_error';
    case 'server':
      return 'server_error';
    default:
      return 'rejected';
  }
}

/** Provider messages sometimes quote the credential they refused; it never reaches the client. */
function redact(message: string, credentials: Readonly<Record<string, string>>): string {
  let out = message;
  for (const value of Object.values(credentials)) {
    if (value.length >= 6) out = out.split(value).join('[REDACTED]');
  }
  return out;
}

/** Writes with backpressure; false when the client is gone. */
function write(res: import('node:http').ServerResponse, text: string): Promise<boolean> | boolean {
  if (res.destroyed) return false;
  if (res.write(text)) return true;
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!res.destroyed);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Whether a Policy opted the request's route into prompt/completion content on spans. */
function recordsContent(p: Prepared): boolean {
  return p.plan.ir.policy?.observability?.recordContent === true;
}
