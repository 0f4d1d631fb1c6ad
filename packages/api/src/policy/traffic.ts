// Policy sections about traffic at the edge: response caching and compression, CORS, IP filters and
// request size limits.
import { z } from 'zod';
import { listSet, withRules } from '../cel.ts';
import { cidr, duration, headerName } from '../common.ts';

export const Cache = z
  .object({
    ttl: duration.default('5m').meta({
      description:
        'Freshness of a cacheable response that states no lifetime of its own, and the longest any response is served from the cache (Cache-Control max-age / s-maxage beyond it are cut to it).',
    }),
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
        description:
          'Largest total size of the request headers (names and values), in bytes; larger requests get 431. The listener itself refuses headers over 16 KiB.',
      }),
      maxRequestHeaders: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .optional()
        .meta({ description: 'Most request header lines; requests with more get 431.' }),
    })
    .meta({ description: 'Size limits on requests.' }),
  [
    {
      rule: 'has(self.maxRequestBodyBytes) || has(self.maxRequestHeadersBytes) || has(self.maxRequestHeaders)',
      message: 'set maxRequestBodyBytes, maxRequestHeadersBytes, maxRequestHeaders or a combination',
    },
  ],
);
export type RequestSizeLimits = z.infer<typeof RequestSizeLimits>;

const mediaRange = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/, {
    message: 'must be a lowercase media type such as "application/json" or "text/*"',
  });

export const Compression = z
  .object({
    algorithms: listSet(
      z
        .array(z.enum(['br', 'gzip']))
        .min(1)
        .max(2),
    )
      .default(['br', 'gzip'])
      .meta({
        description:
          "Encodings offered, most preferred first; the client's Accept-Encoding (q-values) chooses among them.",
      }),
    minBytes: z.number().int().min(0).max(1_073_741_824).default(1024).meta({
      description:
        'Responses whose Content-Length is smaller are sent as they are (compressing them costs more than it saves).',
    }),
    contentTypes: listSet(z.array(mediaRange).max(64)).optional().meta({
      description:
        'Media types compressed ("text/*" covers a family). Default: every type known to be compressible (text, JSON, JavaScript, XML, SVG, …); images, video and archives never are.',
    }),
  })
  .meta({
    description:
      'Compresses responses with brotli or gzip as the client accepts. Responses already encoded, marked Cache-Control: no-transform, or of a type not listed are sent as they are; Vary: Accept-Encoding is added.',
  });
export type Compression = z.infer<typeof Compression>;
