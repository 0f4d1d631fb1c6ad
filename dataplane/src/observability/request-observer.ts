// Everything recorded once per finished request beyond the route's RED metrics: bytes, backend
// RED, per-consumer tokens and cost, time per output token, and the usage aggregation behind the
// admin /usage endpoint. Label children are cached by key so a request costs a few map lookups.
import type { Counter, Histogram } from 'prom-client';
import type { AccessRecord } from './access-log.ts';
import type { DataplaneMetrics } from './metrics.ts';
import type { UsageAggregator } from './usage.ts';

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];
/** Most distinct model names kept as label values; later ones are counted as "other". */
export const MAX_MODEL_LABELS = 200;

interface RouteChildren {
  bytesIn: Counter.Internal;
  bytesOut: Counter.Internal;
}

interface BackendChildren {
  /** By status class index (1xx … 5xx, then other). */
  classes: Array<Counter.Internal | undefined>;
  duration: Histogram.Internal<string>;
}

export class RequestObserver {
  readonly #metrics: DataplaneMetrics;
  readonly #usage: UsageAggregator | undefined;
  // Children per route and backend, resolved once: the plain-request path does no key building.
  readonly #routes = new Map<string, RouteChildren>();
  readonly #backends = new Map<string, BackendChildren>();
  readonly #counters = new Map<string, Counter.Internal>();
  readonly #histograms = new Map<string, Histogram.Internal<string>>();
  readonly #models = new Set<string>();

  constructor(metrics: DataplaneMetrics, usage?: UsageAggregator) {
    this.#metrics = metrics;
    this.#usage = usage;
  }

  /**
   * Drops a route's byte series and cached children: the route left the configuration (a request
   * still finishing on the old generation then counts into a fresh series, removed by the next pass).
   */
  forgetRoute(route: string): void {
    if (!this.#routes.delete(route)) return;
    this.#metrics.requestBytes.remove(route);
    this.#metrics.responseBytes.remove(route);
  }

  /** Called once per request, after its access-log record is built (before sampling). */
  finished(record: AccessRecord): void {
    const m = this.#metrics;
    const route = record.route ?? '';
    let routeChildren = this.#routes.get(route);
    if (!routeChildren) {
      routeChildren = { bytesIn: m.requestBytes.labels(route), bytesOut: m.responseBytes.labels(route) };
      this.#routes.set(route, routeChildren);
    }
    if (record.bytesIn > 0) routeChildren.bytesIn.inc(record.bytesIn);
    if (record.bytesOut > 0) routeChildren.bytesOut.inc(record.bytesOut);
    const backend = record.cluster;
    if (backend !== undefined) {
      let backendChildren = this.#backends.get(backend);
      if (!backendChildren) {
        backendChildren = {
          classes: [],
          duration: m.backendDuration.labels(backend) as Histogram.Internal<string>,
        };
        this.#backends.set(backend, backendChildren);
      }
      const index = Math.floor(record.status / 100) - 1;
      const slot = index >= 0 && index < STATUS_CLASSES.length ? index : STATUS_CLASSES.length;
      let counter = backendChildren.classes[slot];
      if (!counter) {
        counter = m.backendRequests.labels(backend, STATUS_CLASSES[slot] ?? 'other');
        backendChildren.classes[slot] = counter;
      }
      counter.inc();
      if (record.upstreamMs !== undefined) backendChildren.duration.observe(record.upstreamMs / 1000);
    }
    const { ai } = record;
    if (ai?.provider !== undefined) {
      const consumer = record.consumer ?? '';
      // The team follows from the consumer, so it adds no series: it lets dashboards sum by team.
      const team = record.team ?? '';
      const model = this.#modelLabel(ai.model ?? ai.requestModel);
      const provider = ai.provider;
      const tokens = m.consumerTokens;
      if (ai.inputTokens > 0)
        this.#counter(tokens, 't', consumer, provider, model, 'input', team).inc(ai.inputTokens);
      if (ai.outputTokens > 0)
        this.#counter(tokens, 't', consumer, provider, model, 'output', team).inc(ai.outputTokens);
      if (ai.cachedInputTokens > 0)
        this.#counter(tokens, 't', consumer, provider, model, 'cached_input', team).inc(ai.cachedInputTokens);
      if (ai.costMicros !== undefined && ai.costMicros > 0)
        this.#counter(m.consumerCost, 'c', consumer, provider, model, ai.currency ?? '', team).inc(
          ai.costMicros,
        );
      if (ai.stream && ai.ttftMs !== undefined && ai.outputTokens > 1) {
        const perToken = (record.durationMs - ai.ttftMs) / (ai.outputTokens - 1) / 1000;
        if (perToken >= 0) {
          // Label order: ai-metrics.ts SERIES (the shared labels every AI histogram carries).
          this.#histogram(
            m.ai.timePerOutputToken,
            'tpot',
            ai.operation === 'chat' ? 'chat' : 'embeddings',
            ai.providerType ?? '',
            model,
            provider,
            route,
          ).observe(perToken);
        }
      }
    }
    this.#usage?.record(record);
  }

  /** A rate-limit decision taken by a route's policy chain. (Budgets count theirs in tollgate_budget_*.) */
  decision(kind: 'rate_limit', route: string, decision: string): void {
    this.#counter(this.#metrics.rateLimitDecisions, kind, route, decision).inc();
  }

  #modelLabel(model: string): string {
    if (this.#models.has(model)) return model;
    if (this.#models.size >= MAX_MODEL_LABELS) return 'other';
    this.#models.add(model);
    return model;
  }

  #counter<L extends string>(metric: Counter<L>, tag: string, ...values: string[]): Counter.Internal {
    const key = `${tag}\u0000${values.join('\u0000')}`;
    let child = this.#counters.get(key);
    if (!child) {
      child = metric.labels(...values);
      this.#counters.set(key, child);
    }
    return child;
  }

  #histogram<L extends string>(
    metric: Histogram<L>,
    tag: string,
    ...values: string[]
  ): Histogram.Internal<string> {
    const key = `${tag}\u0000${values.join('\u0000')}`;
    let child = this.#histograms.get(key);
    if (!child) {
      child = metric.labels(...values) as Histogram.Internal<string>;
      this.#histograms.set(key, child);
    }
    return child;
  }
}

/** Maps an admission refusal code (or success with rate-limit headers) to a rate-limit decision. */
export function admissionDecision(
  code: string | undefined,
  rateLimited: boolean,
): { kind: 'rate_limit'; decision: string } | undefined {
  switch (code) {
    case 'TG_ERR_RATE_LIMITED':
      return { kind: 'rate_limit', decision: 'limited' };
    case 'TG_ERR_RATE_LIMIT_UNAVAILABLE':
      return { kind: 'rate_limit', decision: 'unavailable' };
    case undefined:
      return rateLimited ? { kind: 'rate_limit', decision: 'allowed' } : undefined;
    default:
      return undefined;
  }
}
