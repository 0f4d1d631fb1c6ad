// Metering one AI request: the final usage (reported, completed by estimate, or estimated), its
// cost, the metrics and the access-log record. Runs exactly once per request, on whichever path
// ends it (response complete, stream cut by the client, every provider failed).
import { performance } from 'node:perf_hooks';
import type { AIAccessRecord, AIMetrics, AISeries } from '../observability/index.ts';
import { countTokens } from './metering/estimate.ts';
import { costMicros } from './metering/pricing.ts';
import type { Usage } from './metering/usage.ts';
import type { Candidate } from './plan.ts';
import type { ClientAPI, Operation } from './providers/types.ts';

export interface MeterInit {
  metrics: AIMetrics;
  route: string;
  api: ClientAPI;
  operation: Operation;
  stream: boolean;
  requestModel: string;
  startedAt: number;
  /** Input tokens of the request by the gateway's tokenizer (called only when needed). */
  estimateInput: () => number;
}

export type AttemptOutcome =
  | 'success'
  | 'rate_limited'
  | 'overloaded'
  | 'server_error'
  | 'timeout'
  | 'connect_error'
  | 'cooling_down'
  /** Passed over: failing its health checks. */
  | 'unhealthy'
  | 'rejected';

export interface MeteredResult {
  usage: Usage;
  cost: { micros: number; currency: string } | undefined;
}

export class RequestMeter {
  readonly #init: MeterInit;
  attempts = 0;
  /** The candidate that served (or was last tried). */
  candidate: Candidate | undefined;
  firstTokenAt: number | undefined;
  #result: MeteredResult | undefined;
  #record: AIAccessRecord | undefined;

  constructor(init: MeterInit) {
    this.#init = init;
  }

  get done(): boolean {
    return this.#record !== undefined;
  }

  get record(): AIAccessRecord | undefined {
    return this.#record;
  }

  attempt(candidate: Candidate, outcome: AttemptOutcome): void {
    if (outcome !== 'cooling_down' && outcome !== 'unhealthy') this.attempts++;
    const { provider } = candidate.backend;
    this.#init.metrics.attempts.labels(provider.name, provider.ir.type, outcome).inc();
  }

  firstToken(): void {
    this.firstTokenAt ??= performance.now();
  }

  /**
   * Settles usage and cost for a response a provider served. `reported` is what the provider said;
   * when it is missing or the response did not finish, the gateway's tokenizer fills the gap and
   * the figures are marked estimated.
   */
  served(
    reported: Usage | undefined,
    finished: boolean,
    generatedText: () => string,
    errorType?: string,
  ): MeteredResult {
    if (this.#result) return this.#result;
    const usage = completeUsage(reported, finished, generatedText, this.#init.estimateInput);
    const pricing = this.candidate?.model.pricing;
    const cost = pricing ? { micros: costMicros(usage, pricing), currency: pricing.currency } : undefined;
    this.#result = { usage, cost };
    this.#finish(usage, cost, errorType);
    return this.#result;
  }

  /** No provider served: only the attempt and the duration are recorded. */
  failed(errorType: string, reason?: string): void {
    if (this.#record) return;
    this.#finish(undefined, undefined, errorType);
    if (reason) this.#record!.error = reason;
  }

  #finish(usage: Usage | undefined, cost: MeteredResult['cost'], errorType: string | undefined): void {
    const init = this.#init;
    const candidate = this.candidate;
    const provider = candidate?.backend.provider;
    const model = candidate?.model.upstream;
    const labels = candidate
      ? seriesLabelsOf(candidate, init.operation, init.route)
      : new SeriesLabels(seriesOf(init.operation, init.route, undefined));
    const now = performance.now();
    const { metrics } = init;
    metrics.operationDuration.observe(labels.duration(errorType ?? ''), (now - init.startedAt) / 1000);
    const ttftMs = this.firstTokenAt === undefined ? undefined : this.firstTokenAt - init.startedAt;
    if (usage && provider) {
      metrics.tokenUsage.observe(labels.tokenUsage('input'), usage.inputTokens);
      metrics.tokenUsage.observe(labels.tokenUsage('output'), usage.outputTokens);
      const estimated = usage.estimated;
      if (usage.inputTokens > 0) metrics.tokens.inc(labels.tokens('input', estimated), usage.inputTokens);
      if (usage.outputTokens > 0) metrics.tokens.inc(labels.tokens('output', estimated), usage.outputTokens);
      if (usage.cachedInputTokens > 0)
        metrics.tokens.inc(labels.tokens('cached_input', estimated), usage.cachedInputTokens);
      if (usage.cacheWriteTokens > 0)
        metrics.tokens.inc(labels.tokens('cache_write', estimated), usage.cacheWriteTokens);
      if (usage.reasoningTokens > 0)
        metrics.tokens.inc(labels.tokens('reasoning', estimated), usage.reasoningTokens);
      if (cost && cost.micros > 0) metrics.cost.inc(labels.cost(cost.currency), cost.micros);
      if (ttftMs !== undefined) metrics.timeToFirstToken.observe(labels.series, ttftMs / 1000);
    }
    const record: AIAccessRecord = {
      api: init.api,
      operation: init.operation,
      stream: init.stream,
      requestModel: init.requestModel,
      attempts: this.attempts,
      inputTokens: usage?.inputTokens ?? 0,
      outputTokens: usage?.outputTokens ?? 0,
      cachedInputTokens: usage?.cachedInputTokens ?? 0,
      cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
      reasoningTokens: usage?.reasoningTokens ?? 0,
      estimated: usage?.estimated ?? false,
    };
    if (provider && usage) {
      record.provider = provider.name;
      record.providerType = provider.ir.type;
      if (model) record.model = model;
    }
    if (cost) {
      record.costMicros = cost.micros;
      record.currency = cost.currency;
    }
    if (ttftMs !== undefined) record.ttftMs = Math.round(ttftMs * 1000) / 1000;
    this.#record = record;
  }
}

function seriesOf(operation: Operation, route: string, candidate: Candidate | undefined): AISeries {
  const provider = candidate?.backend.provider;
  const model = candidate?.model.upstream;
  return {
    gen_ai_operation_name: operation === 'chat' ? 'chat' : 'embeddings',
    gen_ai_provider_name: provider?.ir.type ?? '',
    gen_ai_request_model: provider && model ? provider.modelLabel(model) : '',
    tollgate_provider: provider?.name ?? '',
    tollgate_route: route,
  };
}

/**
 * The label sets of one series (backend, model, operation, route), built once and reused: every
 * request it serves would otherwise copy the series into a new object per metric.
 */
class SeriesLabels {
  readonly series: AISeries;
  readonly #sets = new Map<string, Record<string, string>>();

  constructor(series: AISeries) {
    this.series = series;
  }

  duration(errorType: string): Record<string, string> {
    return this.#set(`d${errorType}`, () => ({ ...this.series, error_type: errorType }));
  }

  tokenUsage(type: string): Record<string, string> {
    return this.#set(`u${type}`, () => ({ ...this.series, gen_ai_token_type: type }));
  }

  tokens(type: string, estimated: boolean): Record<string, string> {
    return this.#set(`t${type}${estimated}`, () => ({
      ...this.series,
      gen_ai_token_type: type,
      estimated: String(estimated),
    }));
  }

  cost(currency: string): Record<string, string> {
    return this.#set(`c${currency}`, () => ({ ...this.series, currency }));
  }

  #set(key: string, build: () => Record<string, string>): Record<string, string> {
    let set = this.#sets.get(key);
    if (!set) {
      set = build();
      this.#sets.set(key, set);
    }
    return set;
  }
}

/** Per backend of a compiled route plan (so per snapshot): its series by operation and model. */
const seriesByBackend = new WeakMap<Candidate['backend'], Map<string, SeriesLabels>>();

function seriesLabelsOf(candidate: Candidate, operation: Operation, route: string): SeriesLabels {
  let byKey = seriesByBackend.get(candidate.backend);
  if (!byKey) {
    byKey = new Map();
    seriesByBackend.set(candidate.backend, byKey);
  }
  const key = `${operation}\u0000${route}\u0000${candidate.model.upstream}`;
  let labels = byKey.get(key);
  if (!labels) {
    labels = new SeriesLabels(seriesOf(operation, route, candidate));
    byKey.set(key, labels);
  }
  return labels;
}

function completeUsage(
  reported: Usage | undefined,
  finished: boolean,
  generatedText: () => string,
  estimateInput: () => number,
): Usage {
  if (reported && finished) return reported;
  if (!reported) {
    return {
      inputTokens: estimateInput(),
      outputTokens: countTokens(generatedText()),
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      estimated: true,
    };
  }
  // Partial usage (a stream cut short): keep what the provider said, count what it had not yet.
  const output = Math.max(reported.outputTokens, countTokens(generatedText()));
  const input = reported.inputTokens > 0 ? reported.inputTokens : estimateInput();
  return { ...reported, inputTokens: input, outputTokens: output, estimated: true };
}
