// Data-plane metrics, on a registry of our own (not prom-client's global one) so tests and
// embedded use never collide. Labels are bounded: route ids and cluster ids, never raw paths.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type AIMetrics, createAIMetrics } from './ai-metrics.ts';

export interface DataplaneMetrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status_class'>;
  requestDuration: Histogram<'route'>;
  upstreamErrors: Counter<'cluster' | 'code'>;
  mirrorErrors: Counter<'cluster' | 'code'>;
  snapshotInfo: Gauge<'version'>;
  snapshotSwaps: Counter;
  snapshotRejections: Counter;
  inflightRequests: Gauge;
  ai: AIMetrics;
}

export function createDataplaneMetrics(): DataplaneMetrics {
  const registry = new Registry();
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
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: 'tollgate_upstream_errors_total',
      help: 'Upstream requests that failed (connect, reset, timeout, no endpoint), by cluster and error code.',
      labelNames: ['cluster', 'code'],
      registers: [registry],
    }),
    mirrorErrors: new Counter({
      name: 'tollgate_mirror_errors_total',
      help: 'Mirrored requests that failed; they never affect the client response.',
      labelNames: ['cluster', 'code'],
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
    inflightRequests: new Gauge({
      name: 'tollgate_inflight_requests',
      help: 'Requests being served right now.',
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
}
