// Data-plane metrics, on a registry of our own (not prom-client's global one) so tests and
// embedded use never collide. Labels are bounded: route ids and cluster ids, never raw paths; one
// label name and value format per concept (docs/observability.md, "Label conventions").
import type { Server } from 'node:net';
import { droppedLogLines } from '@tollgate/telemetry';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type AIMetrics, createAIMetrics } from './ai-metrics.ts';

export interface DataplaneMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status_class'>;
  requestDuration: Histogram<'route'>;
  upstreamErrors: Counter<'backend' | 'code'>;
  mirrorErrors: Counter<'backend' | 'code'>;
  snapshotInfo: Gauge<'version'>;
  snapshotSwaps: Counter;
  snapshotRejections: Counter;
  logLinesDropped: Counter;
  inflightRequests: Gauge;
  activeConnections: Gauge;
  connections: Counter;
  requestBytes: Counter<'route'>;
  responseBytes: Counter<'route'>;
  backendRequests: Counter<'backend' | 'status_class'>;
  backendDuration: Histogram<'backend'>;
  upstreamConnectErrors: Counter<'backend' | 'reason'>;
  upstreamRetries: Counter<'backend'>;
  /** Set by the health checker and outlier detection (1 healthy, 0 not). */
  endpointHealthy: Gauge<'backend' | 'endpoint'>;
  ejections: Counter<'backend' | 'reason'>;
  /** Set by the circuit breaker: 0 closed, 1 open, 2 half-open. */
  circuitBreakerState: Gauge<'backend'>;
  circuitBreakerRejections: Counter<'backend'>;
  rateLimitDecisions: Counter<'route' | 'decision'>;
  /** Set by budget enforcement: share of the current window's budget spent, per budget and key. */
  budgetUsedRatio: Gauge<'budget' | 'per' | 'consumer' | 'team' | 'tenant'>;
  consumerTokens: Counter<
    'consumer' | 'tollgate_provider' | 'gen_ai_request_model' | 'gen_ai_token_type' | 'team'
  >;
  consumerCost: Counter<'consumer' | 'tollgate_provider' | 'gen_ai_request_model' | 'currency' | 'team'>;
  ai: AIMetrics;
}

/** Seconds, 1 ms to 60 s: what request and backend durations share, so their panels line up. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface DataplaneMetricsOptions {
  /** Log lines dropped so far (a monotonic count); default: the process's stdout destination's. */
  droppedLogLines?: () => number;
}

export function createDataplaneMetrics(options: DataplaneMetricsOptions = {}): DataplaneMetrics {
  const registry = new Registry();
  const dropped = options.droppedLogLines ?? droppedLogLines;
  let droppedSeen = 0;
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: 'tollgate_requests_total',
      help: 'Requests answered, by route id ("" when no route matched), method and status class.',
      labelNames: ['route', 'method', 'status_class'],
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: 'tollgate_request_duration_seconds',
      help: 'Time from receiving a request to finishing its response, by route id.',
      labelNames: ['route'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'tollgate_upstream_errors_total',
      help: 'Upstream requests that failed (connect, reset, timeout, no endpoint), by backend (cluster id) and error code.',
      labelNames: ['backend', 'code'],
      registers: [registry],
    }),
    mirrorErrors: new Counter({
      name: 'tollgate_mirror_errors_total',
      help: 'Mirrored requests that failed, by backend (cluster id) and error code; they never affect the client response.',
      labelNames: ['backend', 'code'],
      registers: [registry],
    }),
    snapshotInfo: new Gauge({
      name: 'tollgate_snapshot_info',
      help: 'The active snapshot version (value 1).',
      labelNames: ['version'],
      registers: [registry],
    }),
    snapshotSwaps: new Counter({
      name: 'tollgate_snapshot_swaps_total',
      help: 'Snapshots applied (swapped in).',
      registers: [registry],
    }),
    snapshotRejections: new Counter({
      name: 'tollgate_snapshot_rejections_total',
      help: 'Snapshots rejected by validation or compilation (NACKed).',
      registers: [registry],
    }),
    logLinesDropped: new Counter({
      name: 'tollgate_log_lines_dropped_total',
      help: 'Log lines (access log included) dropped because stdout stopped draining or failed.',
      registers: [registry],
      // Read at scrape time from the log destination, which counts them without knowing metrics.
      collect() {
        const now = dropped();
        if (now > droppedSeen) this.inc(now - droppedSeen);
        droppedSeen = now;
      },
    }),
    inflightRequests: new Gauge({
      name: 'tollgate_inflight_requests',
      help: 'Requests being served right now.',
      registers: [registry],
    }),
    activeConnections: new Gauge({
      name: 'tollgate_active_connections',
      help: 'Client connections open on the proxy listener.',
      registers: [registry],
    }),
    connections: new Counter({
      name: 'tollgate_connections_total',
      help: 'Client connections accepted on the proxy listener.',
      registers: [registry],
    }),
    requestBytes: new Counter({
      name: 'tollgate_request_bytes_total',
      help: 'Request body bytes received from clients and sent upstream, by route id.',
      labelNames: ['route'],
      registers: [registry],
    }),
    responseBytes: new Counter({
      name: 'tollgate_response_bytes_total',
      help: 'Response body bytes sent to clients, by route id.',
      labelNames: ['route'],
      registers: [registry],
    }),
    backendRequests: new Counter({
      name: 'tollgate_backend_requests_total',
      help: 'Requests answered through a backend (cluster id: service, url or AI provider), by status class of the client response.',
      labelNames: ['backend', 'status_class'],
      registers: [registry],
    }),
    backendDuration: new Histogram({
      name: 'tollgate_backend_duration_seconds',
      help: 'Time from sending a request upstream to the end of its response, by backend.',
      labelNames: ['backend'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    upstreamConnectErrors: new Counter({
      name: 'tollgate_upstream_connect_errors_total',
      help: 'Upstream connections that could not be opened, by backend and reason (refused, timeout, dns, tls, unreachable, other).',
      labelNames: ['backend', 'reason'],
      registers: [registry],
    }),
    upstreamRetries: new Counter({
      name: 'tollgate_upstream_retries_total',
      help: 'Upstream attempts beyond the first (retries) on plain routes, by backend.',
      labelNames: ['backend'],
      registers: [registry],
    }),
    endpointHealthy: new Gauge({
      name: 'tollgate_upstream_endpoint_healthy',
      help: 'Whether an upstream endpoint receives traffic (1) or is marked unhealthy or ejected (0), by backend and endpoint (host:port).',
      labelNames: ['backend', 'endpoint'],
      registers: [registry],
    }),
    ejections: new Counter({
      name: 'tollgate_upstream_ejections_total',
      help: 'Endpoints taken out of rotation, by backend and reason (health_check, outlier).',
      labelNames: ['backend', 'reason'],
      registers: [registry],
    }),
    circuitBreakerState: new Gauge({
      name: 'tollgate_circuit_breaker_state',
      help: "A backend's circuit breaker: 0 closed, 1 open, 2 half-open.",
      labelNames: ['backend'],
      registers: [registry],
    }),
    circuitBreakerRejections: new Counter({
      name: 'tollgate_circuit_breaker_rejections_total',
      help: 'Requests refused because the backend circuit breaker was open or at its limits.',
      labelNames: ['backend'],
      registers: [registry],
    }),
    rateLimitDecisions: new Counter({
      name: 'tollgate_rate_limit_decisions_total',
      help: 'Rate-limit decisions on routes with limits, by route id and decision (allowed, limited, unavailable).',
      labelNames: ['route', 'decision'],
      registers: [registry],
    }),
    budgetUsedRatio: new Gauge({
      name: 'tollgate_budget_used_ratio',
      help: 'Share (0..1) of the current window of a budget spent, by budget (namespace/policy/name) and key (consumer namespace/name, team or tenant, as per says).',
      labelNames: ['budget', 'per', 'consumer', 'team', 'tenant'],
      registers: [registry],
    }),
    consumerTokens: new Counter({
      name: 'tollgate_consumer_tokens_total',
      help: 'AI tokens by consumer (namespace/name, "" when anonymous), provider, model and type (input, output, cached_input), with the consumer\'s team ("" when none).',
      labelNames: ['consumer', 'tollgate_provider', 'gen_ai_request_model', 'gen_ai_token_type', 'team'],
      registers: [registry],
    }),
    consumerCost: new Counter({
      name: 'tollgate_consumer_cost_micros_total',
      help: 'AI cost by consumer, provider and model, in micro-units of the currency, with the consumer\'s team ("" when none).',
      labelNames: ['consumer', 'tollgate_provider', 'gen_ai_request_model', 'currency', 'team'],
      registers: [registry],
    }),
    ai: createAIMetrics(registry),
  };
}

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
]);
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * The label children of one route id, kept across snapshots, so a request only looks up a small
 * map instead of hashing label sets.
 */
export class RouteMetrics {
  readonly #metrics: DataplaneMetrics;
  readonly #route: string;
  #duration: Histogram.Internal<'route'> | undefined;
  readonly #counters = new Map<string, Counter.Internal>();

  constructor(metrics: DataplaneMetrics, route: string) {
    this.#metrics = metrics;
    this.#route = route;
  }

  record(method: string, status: number, seconds: number): void {
    const methodLabel = KNOWN_METHODS.has(method) ? method : 'OTHER';
    const statusClass = STATUS_CLASSES[Math.floor(status / 100) - 1] ?? 'other';
    const key = `${methodLabel} ${statusClass}`;
    let counter = this.#counters.get(key);
    if (!counter) {
      counter = this.#metrics.requests.labels(this.#route, methodLabel, statusClass);
      this.#counters.set(key, counter);
    }
    counter.inc();
    // Created on first use: a series per configured route that never saw traffic is only noise.
    this.#duration ??= this.#metrics.requestDuration.labels(this.#route);
    this.#duration.observe(seconds);
  }

  /** Drops this route's series: the route left the configuration (requests still finishing on
   * the old generation then count into detached series, which nobody scrapes). */
  forget(): void {
    for (const key of this.#counters.keys()) {
      const [method, statusClass] = key.split(' ') as [string, string];
      this.#metrics.requests.remove(this.#route, method, statusClass);
    }
    this.#counters.clear();
    if (this.#duration) this.#metrics.requestDuration.remove(this.#route);
    this.#duration = undefined;
  }
}

/** Why an upstream connection could not be opened, as a bounded label value. */
export function connectErrorReason(error: Error): string {
  const code = (error as { code?: string }).code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'unreachable';
  if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|SSL/.test(code))
    return 'tls';
  return 'other';
}

/** Counts the proxy listener's open client connections. */
export function trackConnections(
  server: Server,
  metrics: Pick<DataplaneMetrics, 'activeConnections' | 'connections'>,
): void {
  server.on('connection', (socket) => {
    metrics.connections.inc();
    metrics.activeConnections.inc();
    socket.once('close', () => metrics.activeConnections.dec());
  });
}
