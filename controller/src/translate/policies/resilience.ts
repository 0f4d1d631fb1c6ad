// Resilience sections of Policies (retries, timeouts, circuitBreaker, healthCheck, loadBalancer)
// and a Route rule's sessionPersistence, compiled into the IR.
//
// Retries and request/idle timeouts belong to the route entry: the most specific Policy that sets
// a section wins for the entry (effective.ts ranks them). Load balancing, health checks, outlier
// detection, limits and the connect timeout belong to a cluster (one upstream), which several
// entries may share: the cluster takes each section from the most specific attachment among the
// entries that send to it, then the oldest Policy (GEP-713 order). AI routes and AI provider
// clusters are left alone: their own limits, timeouts, health and fallback apply.
import type { Policy, Route } from '@tollgate/api';
import type {
  ClusterIR,
  ClusterResilienceIR,
  RetryIR,
  RouteEntryIR,
  RouteResilienceIR,
  VirtualHostIR,
} from '@tollgate/snapshot';
import { durationToMs } from '../durations.ts';
import type { ObjectIndex } from '../objects.ts';
import type { PolicyIR } from './attachment.ts';

type Spec = Policy['spec'];

export interface RankedPolicy {
  policy: PolicyIR;
  /** Lower is more specific. */
  level: number;
  /** Lower is older. */
  seniority: number;
}

const ENTRY_SECTIONS = ['retries', 'timeouts'] as const;
const CLUSTER_SECTIONS = ['loadBalancer', 'healthCheck', 'circuitBreaker', 'timeouts'] as const;

export function hasResilience(spec: Spec): boolean {
  return Boolean(
    spec.retries || spec.timeouts || spec.circuitBreaker || spec.healthCheck || spec.loadBalancer,
  );
}

/** Cluster-level candidates per entry, read back by `attachClusterResilience` in the same translation. */
const clusterCandidates = new WeakMap<RouteEntryIR, RankedPolicy[]>();

/**
 * Sets `entry.resilience` from `ranked` (most specific first) and remembers the entry's candidates
 * for cluster-level sections. Mutates the entry.
 */
export function attachEntryResilience(entry: RouteEntryIR, ranked: readonly RankedPolicy[]): void {
  // AI routes retry and time out per provider (fallback, AIProvider timeouts) in the AI gateway.
  if (entry.action.kind === 'forward' && entry.action.backends.some((b) => b.clusterId.startsWith('ai/')))
    return;
  const withResilience = ranked.filter((r) => hasResilience(r.policy.spec));
  if (withResilience.length === 0) return;
  clusterCandidates.set(entry, withResilience);
  const out: RouteResilienceIR = entry.resilience ?? {};
  const first = (section: (typeof ENTRY_SECTIONS)[number]) =>
    withResilience.find((r) => r.policy.spec[section] !== undefined)?.policy;
  const retrying = first('retries');
  if (retrying?.spec.retries) out.retries = compileRetries(retrying.id, retrying.spec.retries);
  const timing = first('timeouts');
  const timeouts = timing?.spec.timeouts;
  if (timing && timeouts) {
    const section: NonNullable<RouteResilienceIR['timeouts']> = { from: timing.id };
    const requestMs = timeouts.request === undefined ? undefined : durationToMs(timeouts.request);
    const idleMs = timeouts.idle === undefined ? undefined : durationToMs(timeouts.idle);
    if (requestMs !== undefined) section.requestMs = requestMs;
    if (idleMs !== undefined) section.idleMs = idleMs;
    if (requestMs !== undefined || idleMs !== undefined) out.timeouts = section;
  }
  if (Object.keys(out).length > 0) entry.resilience = out;
}

function compileRetries(from: string, retries: NonNullable<Spec['retries']>): RetryIR {
  const out: RetryIR = {
    from,
    attempts: retries.attempts,
    retryOn: [...retries.retryOn],
    backoffBaseMs: durationToMs(retries.backoff?.base ?? '25ms') ?? 25,
    backoffMaxMs: durationToMs(retries.backoff?.max ?? '250ms') ?? 250,
    retryNonIdempotent: retries.retryNonIdempotent,
    budgetPercent: retries.budget?.percent ?? 20,
    minRetryConcurrency: retries.budget?.minRetryConcurrency ?? 3,
    bufferBodyLimit: retries.bufferBodyLimit,
  };
  const perTry = retries.perTryTimeout === undefined ? undefined : durationToMs(retries.perTryTimeout);
  if (perTry !== undefined && perTry > 0) out.perTryTimeoutMs = perTry;
  return out;
}

/**
 * The clusters with their resilience sections, and every entry's session persistence from its Route
 * rule. Returns new cluster objects (the registry's are shared); mutates the entries.
 */
export function attachClusterResilience(
  hosts: readonly VirtualHostIR[],
  clusters: readonly ClusterIR[],
  index: ObjectIndex,
): ClusterIR[] {
  const byCluster = new Map<string, RankedPolicy[]>();
  for (const host of hosts) {
    for (const entry of host.routes) {
      if (entry.action.kind !== 'forward') continue;
      attachSessionPersistence(entry, index);
      const candidates = clusterCandidates.get(entry);
      if (!candidates) continue;
      for (const backend of entry.action.backends) {
        byCluster.set(backend.clusterId, [...(byCluster.get(backend.clusterId) ?? []), ...candidates]);
      }
    }
  }
  return clusters.map((cluster) => {
    const candidates = byCluster.get(cluster.id);
    if (!candidates || cluster.kind === 'ai-provider') return cluster;
    const ranked = [...candidates].sort((a, b) => a.level - b.level || a.seniority - b.seniority);
    const resilience = compileClusterResilience(ranked);
    return Object.keys(resilience).length > 0 ? { ...cluster, resilience } : cluster;
  });
}

function compileClusterResilience(ranked: readonly RankedPolicy[]): ClusterResilienceIR {
  const out: ClusterResilienceIR = {};
  const first = (section: (typeof CLUSTER_SECTIONS)[number]) =>
    ranked.find((r) => r.policy.spec[section] !== undefined)?.policy;

  const balancing = first('loadBalancer');
  const lb = balancing?.spec.loadBalancer;
  if (balancing && lb) {
    const hash = lb.consistentHash;
    const section: NonNullable<ClusterResilienceIR['loadBalancer']> = {
      from: balancing.id,
      type: lb.type === 'ConsistentHash' ? (hash?.algorithm === 'Ring' ? 'RingHash' : 'Maglev') : lb.type,
      panicThresholdPercent: lb.panicThreshold,
    };
    if (hash?.header) section.hashOn = { source: 'header', name: hash.header.toLowerCase() };
    else if (hash?.cookie) section.hashOn = { source: 'cookie', name: hash.cookie };
    else if (hash?.queryParameter) section.hashOn = { source: 'query', name: hash.queryParameter };
    else if (hash?.sourceIP) section.hashOn = { source: 'clientIP' };
    out.loadBalancer = section;
  }

  const checking = first('healthCheck');
  const active = checking?.spec.healthCheck?.active;
  if (checking && active) {
    out.healthCheck = {
      from: checking.id,
      path: active.path,
      intervalMs: Math.max(1, durationToMs(active.interval) ?? 10_000),
      timeoutMs: Math.max(1, durationToMs(active.timeout) ?? 1_000),
      jitterMs: active.jitter === undefined ? 0 : (durationToMs(active.jitter) ?? 0),
      healthyThreshold: active.healthyThreshold,
      unhealthyThreshold: active.unhealthyThreshold,
      expectedStatuses: [...(active.expectedStatuses ?? [])].sort((a, b) => a - b),
    };
  }

  const breaking = first('circuitBreaker');
  const breaker = breaking?.spec.circuitBreaker;
  if (breaking && breaker) {
    const limits: NonNullable<ClusterResilienceIR['limits']> = { from: breaking.id };
    if (breaker.maxConnections !== undefined) limits.maxConnections = breaker.maxConnections;
    if (breaker.maxRequests !== undefined) limits.maxRequests = breaker.maxRequests;
    if (breaker.maxPendingRequests !== undefined) limits.maxPendingRequests = breaker.maxPendingRequests;
    if (Object.keys(limits).length > 1) out.limits = limits;
    if (breaker.consecutiveErrors !== undefined) {
      const baseEjectionMs = Math.max(1, msOr(breaker.baseEjectionTime, 30_000));
      out.outlierDetection = {
        from: breaking.id,
        consecutiveErrors: breaker.consecutiveErrors,
        baseEjectionMs,
        maxEjectionMs: Math.max(baseEjectionMs, msOr(breaker.maxEjectionTime, 300_000)),
        maxEjectionPercent: breaker.maxEjectionPercent ?? 10,
      };
    }
  }

  const connect = ranked.find((r) => r.policy.spec.timeouts?.connect !== undefined)?.policy;
  const connectMs = connect?.spec.timeouts?.connect ? durationToMs(connect.spec.timeouts.connect) : undefined;
  if (connectMs !== undefined && connectMs > 0) out.connectTimeoutMs = connectMs;
  return out;
}

function msOr(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : (durationToMs(value) ?? fallback);
}

function attachSessionPersistence(entry: RouteEntryIR, index: ObjectIndex): void {
  const route = index.get('Route', entry.route.namespace, entry.route.name)?.object as Route | undefined;
  const rule = route?.spec.rules[entry.route.rule];
  const session = rule?.sessionPersistence;
  if (!session) return;
  if (rule.backendRefs?.some((b) => b.kind === 'AIProvider')) return;
  const maxAgeMs = session.absoluteTimeout === undefined ? undefined : durationToMs(session.absoluteTimeout);
  entry.resilience = {
    ...entry.resilience,
    sessionPersistence: {
      type: session.type,
      name: session.type === 'Header' ? session.sessionName.toLowerCase() : session.sessionName,
      ...(maxAgeMs !== undefined && maxAgeMs >= 1000 ? { maxAgeSeconds: Math.floor(maxAgeMs / 1000) } : {}),
    },
  };
}
