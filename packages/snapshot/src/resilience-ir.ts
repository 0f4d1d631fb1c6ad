// The IR of upstream resilience: how a cluster balances and health-checks its endpoints and bounds
// its load (cluster-level), and how a route entry retries, times out and keeps sessions
// (entry-level). Durations are milliseconds; every section is optional and absent means "off".
import { z } from 'zod';

export const LoadBalancerIR = z.object({
  type: z.enum(['RoundRobin', 'LeastRequest', 'Random', 'RingHash', 'Maglev', 'PeakEWMA']),
  /** With RingHash and Maglev: where the key comes from (header and cookie names lowercased for headers). */
  hashOn: z
    .object({ source: z.enum(['header', 'cookie', 'query', 'clientIP']), name: z.string().optional() })
    .optional(),
  /** Below this percentage of available endpoints, every endpoint takes traffic. 0 disables. */
  panicThresholdPercent: z.number().int().min(0).max(100),
});
export type LoadBalancerIR = z.infer<typeof LoadBalancerIR>;

export const HealthCheckIR = z.object({
  path: z.string(),
  intervalMs: z.number().int().min(1),
  timeoutMs: z.number().int().min(1),
  jitterMs: z.number().int().min(0),
  healthyThreshold: z.number().int().min(1),
  unhealthyThreshold: z.number().int().min(1),
  /** Statuses counted as success; empty ⇒ any 2xx. */
  expectedStatuses: z.array(z.number().int()),
});
export type HealthCheckIR = z.infer<typeof HealthCheckIR>;

export const OutlierDetectionIR = z.object({
  /** Consecutive 5xx, connect failures, resets or timeouts that eject an endpoint. */
  consecutiveErrors: z.number().int().min(1),
  baseEjectionMs: z.number().int().min(1),
  maxEjectionMs: z.number().int().min(1),
  maxEjectionPercent: z.number().int().min(0).max(100),
});
export type OutlierDetectionIR = z.infer<typeof OutlierDetectionIR>;

export const UpstreamLimitsIR = z.object({
  maxConnections: z.number().int().min(1).optional(),
  maxRequests: z.number().int().min(1).optional(),
  maxPendingRequests: z.number().int().min(0).optional(),
});
export type UpstreamLimitsIR = z.infer<typeof UpstreamLimitsIR>;

/** Cluster-level settings; `from` names the Policy of each section. */
export const ClusterResilienceIR = z.object({
  loadBalancer: LoadBalancerIR.extend({ from: z.string() }).optional(),
  healthCheck: HealthCheckIR.extend({ from: z.string() }).optional(),
  outlierDetection: OutlierDetectionIR.extend({ from: z.string() }).optional(),
  limits: UpstreamLimitsIR.extend({ from: z.string() }).optional(),
  connectTimeoutMs: z.number().int().min(1).optional(),
});
export type ClusterResilienceIR = z.infer<typeof ClusterResilienceIR>;

export const retryConditionsIR = [
  'connect-failure',
  'reset',
  'timeout',
  '5xx',
  'gateway-error',
  'retriable-4xx',
  'rate-limited',
] as const;

export const RetryIR = z.object({
  from: z.string(),
  /** Retries after the first attempt. */
  attempts: z.number().int().min(0),
  retryOn: z.array(z.enum(retryConditionsIR)),
  backoffBaseMs: z.number().int().min(0),
  backoffMaxMs: z.number().int().min(0),
  perTryTimeoutMs: z.number().int().min(1).optional(),
  retryNonIdempotent: z.boolean(),
  budgetPercent: z.number().int().min(0).max(100),
  minRetryConcurrency: z.number().int().min(0),
  bufferBodyLimit: z.number().int().min(0),
});
export type RetryIR = z.infer<typeof RetryIR>;

export const SessionPersistenceIR = z.object({
  type: z.enum(['Cookie', 'Header']),
  /** Cookie name as given; header names lowercased. */
  name: z.string(),
  maxAgeSeconds: z.number().int().min(1).optional(),
});
export type SessionPersistenceIR = z.infer<typeof SessionPersistenceIR>;

export const RouteResilienceIR = z.object({
  retries: RetryIR.optional(),
  /** A Policy's timeouts; the rule's own timeouts win where both set the request deadline. */
  timeouts: z
    .object({
      from: z.string(),
      requestMs: z.number().int().min(0).optional(),
      idleMs: z.number().int().min(0).optional(),
    })
    .optional(),
  sessionPersistence: SessionPersistenceIR.optional(),
});
export type RouteResilienceIR = z.infer<typeof RouteResilienceIR>;
