// Policy section `rateLimits`: requests or tokens per time window, counted per key.
import { z } from 'zod';
import { listMap, withRules } from '../cel.ts';
import { dnsLabel, duration, headerName } from '../common.ts';

export const tokenCounts = ['input', 'output', 'total'] as const;

export const RequestRateLimit = z
  .object({
    limit: z.number().int().min(1).max(1_000_000_000).meta({ description: 'Requests allowed per window.' }),
    window: duration.meta({ description: 'Length of the window, e.g. "1s", "1m", "1h".' }),
  })
  .meta({ description: 'Limits the number of requests.' });
export type RequestRateLimit = z.infer<typeof RequestRateLimit>;

export const TokenRateLimit = z
  .object({
    limit: z.number().int().min(1).max(1_000_000_000_000).meta({ description: 'Tokens allowed per window.' }),
    window: duration.meta({ description: 'Length of the window, e.g. "1m", "1h".' }),
    count: z
      .enum(tokenCounts)
      .default('total')
      .meta({ description: 'Which tokens count: input (prompt), output (completion) or total.' }),
  })
  .meta({
    description:
      'Limits LLM tokens. A request is admitted while the key is under the limit; its tokens are counted when the response ends.',
  });
export type TokenRateLimit = z.infer<typeof TokenRateLimit>;

export const rateLimitKeys = ['consumer', 'team', 'tenant', 'route', 'model', 'header', 'clientIP'] as const;

export const RateLimit = withRules(
  z
    .object({
      name: dnsLabel.meta({
        description: 'Name of the limit, unique in the policy; used in metrics and headers.',
      }),
      requests: RequestRateLimit.optional(),
      tokens: TokenRateLimit.optional(),
      key: z.enum(rateLimitKeys).default('consumer').meta({
        description:
          'What is counted separately: each consumer, team, tenant, route, model, value of a header, or client IP address.',
      }),
      header: headerName.optional().meta({ description: 'The header whose value is the key (key: header).' }),
      scope: z.enum(['local', 'global']).default('global').meta({
        description:
          'global shares counters across data-plane pods (in Redis when configured, else in-process); local counts per pod.',
      }),
      failureMode: z.enum(['open', 'closed']).default('open').meta({
        description:
          'When the shared counter store is unreachable: open lets requests through, closed refuses them (503).',
      }),
    })
    .meta({ description: 'One rate limit. Requests over it get 429 with a Retry-After header.' }),
  [
    { rule: 'has(self.requests) != has(self.tokens)', message: 'set exactly one of requests and tokens' },
    {
      rule: "(self.key == 'header') == has(self.header)",
      message: 'header is required with key: header, and applies to no other key',
      fieldPath: '.header',
    },
  ],
);
export type RateLimit = z.infer<typeof RateLimit>;

export const RateLimits = listMap(z.array(RateLimit).max(16), ['name']).meta({
  description: 'Rate limits; a request must be under every one of them.',
});
