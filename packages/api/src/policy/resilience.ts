// Policy sections about upstream failure: retries, timeouts, circuit breaking, health checks and
// load balancing across a backend's endpoints.
import { z } from 'zod';
import { listSet, withRules } from '../cel.ts';
import { duration, headerName } from '../common.ts';

export const retryConditions = [
  'connect-failure',
  'reset',
  'timeout',
  '5xx',
  'gateway-error',
  'retriable-4xx',
  'rate-limited',
] as const;

export const RetryBackoff = z
  .object({
    base: duration
      .default('25ms')
      .meta({ description: 'Delay before the first retry; doubles on each further retry.' }),
    max: duration.default('250ms').meta({ description: 'Largest delay between two attempts.' }),
  })
  .meta({ description: 'Exponential backoff with full jitter between attempts.' });
export type RetryBackoff = z.infer<typeof RetryBackoff>;

export const Retries = z
  .object({
    attempts: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(2)
      .meta({ description: 'Retries after the first attempt; 0 disables retries.' }),
    retryOn: listSet(z.array(z.enum(retryConditions)).min(1).max(8))
      .default(['connect-failure', 'reset', 'gateway-error'])
      .meta({
        description:
          'When to retry: connect-failure, reset (connection reset before a response), timeout (perTryTimeout hit), 5xx (any 5xx), gateway-error (502, 503, 504), retriable-4xx (409), rate-limited (429, honouring Retry-After).',
      }),
    backoff: RetryBackoff.optional(),
    perTryTimeout: duration.optional().meta({ description: 'Deadline of one attempt.' }),
    retryNonIdempotent: z.boolean().default(false).meta({
      description:
        'Whether POST and PATCH requests are retried too (a failure to connect is always retried: nothing reached the upstream). A response is never retried once its first byte was sent.',
    }),
    budget: z
      .object({
        percent: z.number().int().min(0).max(100).default(20).meta({
          description: 'Largest share of the requests in flight to one backend that may be retries.',
        }),
        minRetryConcurrency: z.number().int().min(0).max(10_000).default(3).meta({
          description: 'Retries always allowed in flight at once, whatever the share.',
        }),
      })
      .optional()
      .meta({
        description:
          'Caps retries so they cannot multiply the load on a failing backend. Default: 20% of in-flight requests, at least 3.',
      }),
    bufferBodyLimit: z.number().int().min(0).max(16_777_216).default(65_536).meta({
      description:
        'Request bodies up to this many bytes are buffered so a retry can replay them; larger ones (by Content-Length, or once a chunked body outgrows the limit) stream through and are not retried.',
    }),
  })
  .meta({ description: 'Retries failed attempts, within the request timeout.' });
export type Retries = z.infer<typeof Retries>;

export const PolicyTimeouts = z
  .object({
    request: duration.optional().meta({ description: 'Deadline for the whole request, retries included.' }),
    idle: duration.optional().meta({
      description: 'Longest silence on a response (between two chunks of a stream) before it is aborted.',
    }),
    connect: duration.optional().meta({ description: 'Deadline for opening a connection upstream.' }),
  })
  .meta({ description: 'Timeouts. A request that runs out of time gets 504.' });
export type PolicyTimeouts = z.infer<typeof PolicyTimeouts>;

export const CircuitBreaker = z
  .object({
    maxConnections: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .meta({ description: 'Most connections open to one upstream, per data-plane pod.' }),
    maxPendingRequests: z
      .number()
      .int()
      .min(0)
      .max(1_000_000)
      .optional()
      .meta({ description: 'Most requests queued for a connection; beyond it requests fail fast with 503.' }),
    maxRequests: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .meta({ description: 'Most requests in flight to one upstream, per data-plane pod.' }),
    consecutiveErrors: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .optional()
      .meta({ description: 'Consecutive 5xx or connection errors after which an endpoint is ejected.' }),
    interval: duration.optional().meta({ description: 'How often ejection decisions are made.' }),
    baseEjectionTime: duration
      .optional()
      .meta({ description: 'How long an endpoint stays ejected; multiplied by the number of times it was.' }),
    maxEjectionTime: duration
      .optional()
      .meta({ description: 'Upper bound of the growing ejection time. Default 300s.' }),
    maxEjectionPercent: z
      .number()
      .int()
      .min(0)
      .max(100)
      .optional()
      .meta({ description: 'Largest share of endpoints ejected at once.' }),
  })
  .meta({
    description: 'Bounds the load on upstreams and ejects failing endpoints (passive health checking).',
  });
export type CircuitBreaker = z.infer<typeof CircuitBreaker>;

export const ActiveHealthCheck = z
  .object({
    path: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^\//, { message: 'must start with "/"' })
      .default('/')
      .meta({ description: 'Path requested with GET.' }),
    interval: duration.default('10s').meta({ description: 'Time between probes.' }),
    timeout: duration.default('1s').meta({ description: 'Deadline of one probe.' }),
    healthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(2)
      .meta({ description: 'Consecutive successful probes after which an endpoint is healthy.' }),
    unhealthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .meta({ description: 'Consecutive failed probes after which an endpoint is unhealthy.' }),
    expectedStatuses: listSet(z.array(z.number().int().min(100).max(599)).min(1).max(16))
      .optional()
      .meta({ description: 'Response statuses counted as success. Unset: any 2xx.' }),
    jitter: duration.optional().meta({
      description:
        'Up to this much random delay added to each interval, so probes from many pods spread out.',
    }),
  })
  .meta({ description: 'Probes each endpoint over HTTP.' });
export type ActiveHealthCheck = z.infer<typeof ActiveHealthCheck>;

export const HealthCheck = z
  .object({ active: ActiveHealthCheck })
  .meta({ description: 'Health checking of the endpoints behind the target.' });
export type HealthCheck = z.infer<typeof HealthCheck>;

export const loadBalancerTypes = [
  'RoundRobin',
  'LeastRequest',
  'Random',
  'ConsistentHash',
  'PeakEWMA',
] as const;

export const ConsistentHash = withRules(
  z
    .object({
      header: headerName.optional().meta({ description: 'Hash the value of this request header.' }),
      cookie: z
        .string()
        .min(1)
        .max(256)
        .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: 'must be a cookie name' })
        .optional()
        .meta({ description: 'Hash the value of this cookie.' }),
      queryParameter: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .meta({ description: 'Hash the value of this query parameter.' }),
      sourceIP: z.boolean().optional().meta({ description: "Hash the client's IP address." }),
      algorithm: z.enum(['Maglev', 'Ring']).default('Maglev').meta({
        description:
          'Maglev: a lookup table, even spread, few keys move when endpoints change. Ring: a hash ring with virtual nodes.',
      }),
    })
    .meta({
      description:
        'Requests with the same key go to the same endpoint while it is available; requests without the key are spread at random.',
    }),
  [
    {
      rule: '(has(self.header) ? 1 : 0) + (has(self.cookie) ? 1 : 0) + (has(self.queryParameter) ? 1 : 0) + (has(self.sourceIP) && self.sourceIP ? 1 : 0) == 1',
      message: 'set exactly one of header, cookie, queryParameter and sourceIP: true',
    },
  ],
);
export type ConsistentHash = z.infer<typeof ConsistentHash>;

export const LoadBalancer = withRules(
  z
    .object({
      type: z.enum(loadBalancerTypes).default('RoundRobin').meta({
        description:
          'RoundRobin: in turn. LeastRequest: the fewer requests in flight of two endpoints picked at random. Random. ConsistentHash: by a request key (see consistentHash). PeakEWMA: the lowest peak-EWMA latency times requests in flight.',
      }),
      consistentHash: ConsistentHash.optional(),
      panicThreshold: z.number().int().min(0).max(100).default(50).meta({
        description:
          'When fewer than this percentage of endpoints are available (healthy and not ejected), traffic goes to all endpoints instead of overloading the few left. 0 disables.',
      }),
    })
    .meta({
      description:
        "How requests spread across the endpoints of each Service or URL backend of the target (not AIProviders: their rules' loadBalancing applies).",
    }),
  [
    {
      rule: "(self.type == 'ConsistentHash') == has(self.consistentHash)",
      message: 'consistentHash is required with type ConsistentHash, and only then',
    },
  ],
);
export type LoadBalancer = z.infer<typeof LoadBalancer>;
