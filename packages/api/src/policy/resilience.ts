// Policy sections about upstream failure: retries, timeouts, circuit breaking and active health checks.
import { z } from 'zod';
import { listSet } from '../cel.ts';
import { duration } from '../common.ts';

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
        'Whether POST and PATCH requests are retried too. A streamed response is never retried once its first byte was sent.',
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
  })
  .meta({ description: 'Probes each endpoint over HTTP.' });
export type ActiveHealthCheck = z.infer<typeof ActiveHealthCheck>;

export const HealthCheck = z
  .object({ active: ActiveHealthCheck })
  .meta({ description: 'Health checking of the endpoints behind the target.' });
export type HealthCheck = z.infer<typeof HealthCheck>;
