// Policy sections about who may send what: response caching, CORS, IP filters and request size limits.
import { z } from 'zod';
import { listSet, withRules } from '../cel.ts';
import { cidr, duration, headerName } from '../common.ts';

export const Cache = z
  .object({
    ttl: duration.default('5m').meta({ description: 'How long a response is served from the cache.' }),
    maxEntryBytes: z
      .number()
      .int()
      .min(1)
      .max(67_108_864)
      .default(1_048_576)
      .meta({ description: 'Largest response body cached, in bytes.' }),
    scope: z.enum(['local', 'global']).default('global').meta({
      description:
        'global shares the cache across data-plane pods (in Redis when configured); local caches per pod.',
    }),
    perConsumer: z.boolean().default(true).meta({
      description:
        'Whether each consumer has its own cache entries. Turn off only for responses that are not personal.',
    }),
  })
  .meta({
    description:
      'Caches responses: GET responses by URL, and non-streamed AI responses by model and request body (exact match).',
  });
export type Cache = z.infer<typeof Cache>;

const corsOrigin = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*|https?:\/\/(\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?)$/, {
    message: 'must be "*" or an origin such as "https://app.example.com" or "https://*.example.com"',
  });

const corsMethod = z.enum([
  '*',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

export const CORS = withRules(
  z
    .object({
      allowOrigins: listSet(z.array(corsOrigin).max(64)).optional().meta({
        description:
          'Origins allowed to call, "scheme://host[:port]"; "*" allows any, "https://*.example.com" any subdomain.',
      }),
      allowMethods: listSet(z.array(corsMethod).max(10))
        .optional()
        .meta({ description: 'Methods allowed in cross-origin requests; "*" allows any.' }),
      allowHeaders: listSet(z.array(headerName).max(64))
        .optional()
        .meta({ description: 'Request headers allowed in cross-origin requests; "*" allows any.' }),
      exposeHeaders: listSet(z.array(headerName).max(64))
        .optional()
        .meta({ description: 'Response headers the browser lets scripts read.' }),
      maxAge: z
        .number()
        .int()
        .min(0)
        .max(86_400)
        .default(5)
        .meta({ description: 'Seconds a browser may cache the preflight response.' }),
      allowCredentials: z
        .boolean()
        .default(false)
        .meta({ description: 'Whether cookies and Authorization may accompany cross-origin requests.' }),
    })
    .meta({ description: 'Cross-origin resource sharing, in the shape of the Gateway API CORS filter.' }),
  [
    {
      rule: "!self.allowCredentials || !has(self.allowOrigins) || !('*' in self.allowOrigins)",
      message: 'allowCredentials cannot be combined with the origin "*"; list the origins',
      fieldPath: '.allowOrigins',
    },
  ],
);
export type CORS = z.infer<typeof CORS>;

export const IPFilter = withRules(
  z
    .object({
      allow: listSet(z.array(cidr).max(64))
        .optional()
        .meta({ description: 'When set, only clients in these CIDR blocks are let in.' }),
      deny: listSet(z.array(cidr).max(64))
        .optional()
        .meta({ description: 'Clients in these CIDR blocks are refused (403), even when also allowed.' }),
    })
    .meta({
      description: 'Filters clients by IP address (the peer address, or the one trusted proxies report).',
    }),
  [{ rule: 'has(self.allow) || has(self.deny)', message: 'set allow, deny or both' }],
);
export type IPFilter = z.infer<typeof IPFilter>;

export const RequestSizeLimits = withRules(
  z
    .object({
      maxRequestBodyBytes: z
        .number()
        .int()
        .min(1)
        .max(17_179_869_184)
        .optional()
        .meta({ description: 'Largest request body, in bytes; larger requests get 413.' }),
      maxRequestHeadersBytes: z.number().int().min(1).max(1_048_576).optional().meta({
        description: 'Largest total size of the request headers, in bytes; larger requests get 431.',
      }),
    })
    .meta({ description: 'Size limits on requests.' }),
  [
    {
      rule: 'has(self.maxRequestBodyBytes) || has(self.maxRequestHeadersBytes)',
      message: 'set maxRequestBodyBytes, maxRequestHeadersBytes or both',
    },
  ],
);
export type RequestSizeLimits = z.infer<typeof RequestSizeLimits>;
