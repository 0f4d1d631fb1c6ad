// Upstream health as the admin port shows it: a JSON view (GET /upstreams) and the Prometheus
// series the observability module defines (endpoint health, ejections, circuit breaker state and
// rejections). Label values are cluster ids and endpoint addresses of the active configuration,
// so series stay bounded by it: an endpoint's series go away with the endpoint.
import { performance } from 'node:perf_hooks';
import type { Counter, Gauge } from 'prom-client';
import type { ClusterState, ClusterStates } from './cluster-state.ts';

export interface EndpointView {
  address: string;
  available: boolean;
  activeHealthy: boolean;
  circuit: 'closed' | 'open' | 'half-open';
  /** Milliseconds until an open circuit half-opens. */
  ejectedForMs?: number;
  ejections: number;
  consecutiveErrors: number;
  inFlight: number;
  latencyMs: number;
}

export interface ClusterView {
  id: string;
  active: number;
  pending: number;
  retriesActive: number;
  endpoints: EndpointView[];
}

export function upstreamView(states: ClusterStates): { clusters: ClusterView[] } {
  const now = performance.now();
  return {
    clusters: states
      .all()
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((cluster) => ({
        id: cluster.id,
        active: cluster.active,
        pending: cluster.pendingCount,
        retriesActive: cluster.retriesActive,
        endpoints: cluster.endpoints().map((ep) => ({
          address: ep.address,
          available: ep.available,
          activeHealthy: ep.activeHealthy,
          circuit: ep.circuit,
          ...(ep.circuit === 'open' ? { ejectedForMs: Math.max(0, Math.round(ep.ejectedUntil - now)) } : {}),
          ejections: ep.ejections,
          consecutiveErrors: ep.consecutiveErrors,
          inFlight: ep.inFlight,
          latencyMs: Math.round(ep.latencyMs * 1000) / 1000,
        })),
      })),
  };
}

/** The series of DataplaneMetrics this module feeds. */
export interface UpstreamMetricSet {
  endpointHealthy: Gauge<'backend' | 'endpoint'>;
  ejections: Counter<'backend' | 'reason'>;
  circuitBreakerState: Gauge<'backend'>;
  circuitBreakerRejections: Counter<'backend'>;
}

const CIRCUIT_VALUE = { closed: 0, open: 1, 'half-open': 2 } as const;

/** Keeps the upstream series in step with the cluster states. */
export function connectUpstreamMetrics(metrics: UpstreamMetricSet, states: ClusterStates): void {
  const update = (cluster: ClusterState): void => {
    let circuit: keyof typeof CIRCUIT_VALUE = 'closed';
    for (const ep of cluster.endpoints()) {
      metrics.endpointHealthy.labels(cluster.id, ep.address).set(ep.available ? 1 : 0);
      if (ep.circuit === 'open') circuit = 'open';
      else if (ep.circuit === 'half-open' && circuit === 'closed') circuit = 'half-open';
    }
    metrics.circuitBreakerState.labels(cluster.id).set(CIRCUIT_VALUE[circuit]);
  };
  states.events = {
    ejected: (cluster, reason) => metrics.ejections.labels(cluster, reason).inc(),
    overflow: (cluster) => metrics.circuitBreakerRejections.labels(cluster).inc(),
    changed: update,
    removed: (cluster, address) => {
      if (address === undefined) metrics.circuitBreakerState.remove(cluster);
      else metrics.endpointHealthy.remove(cluster, address);
    },
  };
}
