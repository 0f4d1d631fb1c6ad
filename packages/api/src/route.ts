// Route: hostnames + ordered rules. The vocabulary follows Gateway API HTTPRoute wherever the
// two overlap (matches, filters, weighted backendRefs, precedence), so HTTPRoute can later
// compile into the same snapshot.
import { z } from 'zod';
import { listSet, withRules } from './cel.ts';
import { duration, headerName, ObjectMeta, ObjectStatus, objectName } from './common.ts';

export const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message:
      'must be a lowercase DNS name, optionally starting with "*." (e.g. shop.example.com, *.example.com)',
  })
  .meta({
    description: 'A DNS name, or a wildcard "*.example.com" matching exactly one or more leading labels.',
  });

/** A DNS name without wildcard, e.g. for a rewritten Host header. */
const preciseHostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: 'must be a lowercase DNS name without wildcard (e.g. api.example.com)',
  });

export const PathMatch = z
  .object({
    type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']).default('PathPrefix').meta({
      description:
        'Exact matches the whole path; PathPrefix matches whole path segments ("/a" matches "/a" and "/a/b", not "/ab"); RegularExpression matches the whole path with an RE2-compatible expression.',
    }),
    value: z
      .string()
      .min(1)
      .max(1024)
      .default('/')
      .meta({ description: 'The path, prefix or regular expression.' }),
  })
  .meta({ description: 'How the request path is matched.' });
export type PathMatch = z.infer<typeof PathMatch>;

const StringMatchType = z
  .enum(['Exact', 'RegularExpression'])
  .default('Exact')
  .meta({ description: 'Exact compares the whole value; RegularExpression matches the whole value.' });

export const HeaderMatch = z
  .object({
    type: StringMatchType,
    name: headerName.meta({ description: 'Header name, matched case-insensitively.' }),
    value: z.string().max(4096).meta({ description: 'Value to match.' }),
  })
  .meta({ description: 'Matches one request header.' });
export type HeaderMatch = z.infer<typeof HeaderMatch>;

export const QueryParamMatch = z
  .object({
    type: StringMatchType,
    name: z.string().min(1).max(256).meta({ description: 'Query parameter name, matched exactly.' }),
    value: z.string().max(1024).meta({ description: 'Value to match.' }),
  })
  .meta({ description: 'Matches one query parameter.' });
export type QueryParamMatch = z.infer<typeof QueryParamMatch>;

export const ModelMatch = z
  .object({
    type: z.enum(['Exact', 'Glob']).default('Exact').meta({
      description: 'Exact compares the model name (or alias); Glob allows "*" wildcards ("gpt-4*").',
    }),
    value: z.string().min(1).max(256).meta({ description: 'Requested model name, alias or glob.' }),
  })
  .meta({ description: 'Matches the model an AI request asks for (the "model" field of the body).' });
export type ModelMatch = z.infer<typeof ModelMatch>;

export const httpMethod = z.enum([
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

export const RouteMatch = z
  .object({
    path: PathMatch.optional().meta({ description: 'Path match. Defaults to PathPrefix "/".' }),
    headers: z
      .array(HeaderMatch)
      .max(16)
      .optional()
      .meta({ description: 'All of these headers must match.' }),
    queryParams: z
      .array(QueryParamMatch)
      .max(16)
      .optional()
      .meta({ description: 'All of these query parameters must match.' }),
    method: httpMethod.optional().meta({ description: 'HTTP method to match.' }),
    model: ModelMatch.optional().meta({ description: 'For AI traffic: the requested model to match.' }),
  })
  .meta({ description: 'A request matches when every condition given here holds.' });
export type RouteMatch = z.infer<typeof RouteMatch>;

const HeaderValue = z
  .object({
    name: headerName.meta({ description: 'Header name.' }),
    value: z.string().max(4096).meta({ description: 'Header value.' }),
  })
  .meta({ description: 'A header name and the value to give it.' });

export const HeaderModifier = z
  .object({
    set: z
      .array(HeaderValue)
      .max(16)
      .optional()
      .meta({ description: 'Headers to set, replacing existing values.' }),
    add: z
      .array(HeaderValue)
      .max(16)
      .optional()
      .meta({ description: 'Headers to append to existing values.' }),
    remove: listSet(z.array(headerName).max(16))
      .optional()
      .meta({ description: 'Names of headers to remove.' }),
  })
  .meta({ description: 'Sets, adds and removes headers.' });
export type HeaderModifier = z.infer<typeof HeaderModifier>;

export const PathModifier = withRules(
  z
    .object({
      type: z.enum(['ReplaceFullPath', 'ReplacePrefixMatch']).meta({
        description:
          'ReplaceFullPath replaces the whole path; ReplacePrefixMatch replaces the part matched by a PathPrefix match.',
      }),
      replaceFullPath: z
        .string()
        .max(1024)
        .optional()
        .meta({ description: 'The new path (ReplaceFullPath).' }),
      replacePrefixMatch: z
        .string()
        .max(1024)
        .optional()
        .meta({ description: 'The replacement for the matched prefix (ReplacePrefixMatch).' }),
    })
    .meta({ description: 'Rewrites the path.' }),
  [
    {
      rule: "self.type == 'ReplaceFullPath' ? has(self.replaceFullPath) && !has(self.replacePrefixMatch) : has(self.replacePrefixMatch) && !has(self.replaceFullPath)",
      message:
        'replaceFullPath must be set (only) for type ReplaceFullPath, replacePrefixMatch (only) for ReplacePrefixMatch',
    },
  ],
);
export type PathModifier = z.infer<typeof PathModifier>;

export const URLRewrite = z
  .object({
    hostname: preciseHostname.optional().meta({ description: 'Host header sent upstream.' }),
    path: PathModifier.optional(),
  })
  .meta({ description: 'Rewrites the request before it is forwarded.' });
export type URLRewrite = z.infer<typeof URLRewrite>;

export const RequestRedirect = z
  .object({
    scheme: z.enum(['http', 'https']).optional().meta({ description: 'Scheme of the Location header.' }),
    hostname: preciseHostname.optional().meta({ description: 'Hostname of the Location header.' }),
    port: z.number().int().min(1).max(65535).optional().meta({ description: 'Port of the Location header.' }),
    path: PathModifier.optional(),
    statusCode: z
      .union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)])
      .default(302)
      .meta({ description: 'HTTP status of the redirect.' }),
  })
  .meta({ description: 'Answers with a redirect instead of forwarding.' });
export type RequestRedirect = z.infer<typeof RequestRedirect>;

/**
 * A backend: a Kubernetes Service (default), a static URL, or an AIProvider.
 * Exactly one of `name` and `url` is set (CEL-checked).
 */
export const BackendRef = withRules(
  z
    .object({
      kind: z
        .enum(['Service', 'AIProvider'])
        .optional()
        .meta({ description: 'Kind of the referenced object when name is set. Defaults to Service.' }),
      name: objectName
        .optional()
        .meta({ description: "Name of the Service or AIProvider, in the Route's namespace." }),
      port: z
        .number()
        .int()
        .min(1)
        .max(65535)
        .optional()
        .meta({ description: 'Service port. Required for a Service.' }),
      url: z
        .string()
        .max(2048)
        .regex(/^https?:\/\/[^/?#\s]+\/?$/, {
          message: 'must be an http:// or https:// URL with a host, an optional port and no path',
        })
        .optional()
        .meta({ description: 'A static upstream such as "http://10.0.0.5:8080" (instead of name).' }),
      model: z.string().max(256).optional().meta({
        description:
          'For an AIProvider: the provider model (or alias) to send to. Defaults to the requested model.',
      }),
      weight: z.number().int().min(0).max(1_000_000).default(1).meta({
        description: 'Share of traffic relative to the other backendRefs of the rule. 0 sends none.',
      }),
      priority: z.number().int().min(0).max(100).optional().meta({
        description:
          'For an AIProvider: fallback order. Requests go to the backends of the lowest priority (by weight among them); when one fails before answering (429, 5xx, timeout, connection failure) or cools down after a 429, the next backend is tried, then the next priority. Defaults to 0.',
      }),
    })
    .meta({ description: 'Where matching traffic is sent.' }),
  [
    { rule: 'has(self.name) != has(self.url)', message: 'set exactly one of name and url' },
    {
      rule: "!has(self.name) || (has(self.kind) && self.kind == 'AIProvider') || has(self.port)",
      message: 'port is required for a Service backend',
      fieldPath: '.port',
    },
    {
      rule: '!has(self.url) || !has(self.kind)',
      message: 'kind applies only with name, not with url',
      fieldPath: '.kind',
    },
    {
      rule: "!has(self.port) || !has(self.kind) || self.kind != 'AIProvider'",
      message: 'port applies only to a Service backend',
      fieldPath: '.port',
    },
    {
      rule: "!has(self.model) || (has(self.kind) && self.kind == 'AIProvider')",
      message: 'model applies only to an AIProvider backend (kind: AIProvider)',
      fieldPath: '.model',
    },
    {
      rule: "!has(self.priority) || (has(self.kind) && self.kind == 'AIProvider')",
      message: 'priority applies only to an AIProvider backend (kind: AIProvider)',
      fieldPath: '.priority',
    },
  ],
);
export type BackendRef = z.infer<typeof BackendRef>;

export const RouteFilter = withRules(
  z
    .object({
      type: z
        .enum([
          'RequestHeaderModifier',
          'ResponseHeaderModifier',
          'URLRewrite',
          'RequestRedirect',
          'RequestMirror',
        ])
        .meta({
          description: 'Which filter this is; the field of the same name (camelCase) holds its settings.',
        }),
      requestHeaderModifier: HeaderModifier.optional(),
      responseHeaderModifier: HeaderModifier.optional(),
      urlRewrite: URLRewrite.optional(),
      requestRedirect: RequestRedirect.optional(),
      requestMirror: z
        .object({ backendRef: BackendRef })
        .optional()
        .meta({ description: 'Sends a copy of each request to this backend; its response is ignored.' }),
    })
    .meta({ description: 'A step applied to matching requests.' }),
  [
    {
      rule: "(self.type == 'RequestHeaderModifier') == has(self.requestHeaderModifier) && (self.type == 'ResponseHeaderModifier') == has(self.responseHeaderModifier) && (self.type == 'URLRewrite') == has(self.urlRewrite) && (self.type == 'RequestRedirect') == has(self.requestRedirect) && (self.type == 'RequestMirror') == has(self.requestMirror)",
      message:
        'set exactly the field that matches type (e.g. type URLRewrite needs urlRewrite and nothing else)',
    },
  ],
);
export type RouteFilter = z.infer<typeof RouteFilter>;

export const RouteTimeouts = z
  .object({
    request: duration.optional().meta({ description: 'Deadline for the whole request, retries included.' }),
    backendRequest: duration.optional().meta({ description: 'Deadline for one attempt to the backend.' }),
  })
  .meta({ description: 'Timeouts for requests matching this rule.' });

export const LoadBalancing = z
  .object({
    type: z.enum(['Weighted', 'LeastBusy', 'LowestLatency']).default('Weighted').meta({
      description:
        'Weighted: in proportion to weight. LeastBusy: the backend with the fewest requests in flight from this data-plane pod (ties by weight). LowestLatency: the backend with the lowest recent time to first byte (peak EWMA, weights bias it; unmeasured backends are tried first).',
    }),
  })
  .meta({
    description:
      'How the backends of one priority share traffic. Only for rules whose backendRefs are AIProviders; fallback to the next priority is unchanged.',
  });
export type LoadBalancing = z.infer<typeof LoadBalancing>;

export const SessionPersistence = z
  .object({
    type: z.enum(['Cookie', 'Header']).default('Cookie').meta({
      description:
        'Cookie: the gateway sets a cookie naming the chosen backend and honours it on later requests. Header: the client sends the header; a value the gateway issued (it answers with one) names the backend, any other value (a user id) is hashed onto the backends by weight.',
    }),
    sessionName: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { message: 'must be a cookie or header name' })
      .default('tollgate-session')
      .meta({ description: 'Name of the cookie or header.' }),
    absoluteTimeout: duration.optional().meta({
      description: 'Lifetime of the cookie (Max-Age). Unset: a session cookie, gone when the browser closes.',
    }),
  })
  .meta({
    description:
      'Keeps a client on the backendRef first chosen for it by weight (A/B tests, blue/green with sessions). Applies to Service and URL backends; a backend removed or set to weight 0 loses its sessions, which are re-chosen by weight.',
  });
export type SessionPersistence = z.infer<typeof SessionPersistence>;

const RouteFilters = withRules(
  z.array(RouteFilter).max(16).meta({ description: 'Filters applied in order.' }),
  [
    {
      rule: "!(self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite'))",
      message: 'a rule may have a RequestRedirect or a URLRewrite filter, not both',
    },
    {
      rule: "self.filter(f, f.type == 'RequestHeaderModifier').size() <= 1 && self.filter(f, f.type == 'ResponseHeaderModifier').size() <= 1 && self.filter(f, f.type == 'RequestRedirect').size() <= 1 && self.filter(f, f.type == 'URLRewrite').size() <= 1",
      message:
        'RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect and URLRewrite may each appear once',
    },
  ],
);

export const RouteRule = withRules(
  z
    .object({
      name: z
        .string()
        .max(63)
        .optional()
        .meta({ description: 'Optional name of the rule, used in metrics and status.' }),
      matches: z
        .array(RouteMatch)
        .max(16)
        .optional()
        .meta({ description: 'The rule applies when any match holds. Empty means PathPrefix "/".' }),
      filters: RouteFilters.optional(),
      backendRefs: z.array(BackendRef).max(16).optional().meta({
        description: 'Weighted backends. Required unless a RequestRedirect filter answers the request.',
      }),
      timeouts: RouteTimeouts.optional(),
      loadBalancing: LoadBalancing.optional(),
      sessionPersistence: SessionPersistence.optional(),
    })
    .meta({ description: 'Matches, filters and backends.' }),
  [
    {
      rule: "!has(self.loadBalancing) || (has(self.backendRefs) && self.backendRefs.all(b, has(b.kind) && b.kind == 'AIProvider'))",
      message: 'loadBalancing applies to rules whose backendRefs are AIProviders',
    },
    {
      rule: "(has(self.backendRefs) && size(self.backendRefs) > 0) || (has(self.filters) && self.filters.exists(f, f.type == 'RequestRedirect'))",
      message: 'a rule needs backendRefs or a RequestRedirect filter',
    },
    {
      rule: "!has(self.backendRefs) || self.backendRefs.all(b, has(b.kind) && b.kind == 'AIProvider') || self.backendRefs.all(b, !has(b.kind) || b.kind != 'AIProvider')",
      message:
        'a rule sends to AIProviders or to Services/URLs, not both: AI traffic is translated per provider, which other backends cannot take',
    },
    {
      rule: "!has(self.filters) || !self.filters.exists(f, (f.type == 'URLRewrite' && has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch') || (f.type == 'RequestRedirect' && has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch')) || !has(self.matches) || size(self.matches) == 0 || (size(self.matches) == 1 && self.matches.all(m, !has(m.path) || m.path.type == 'PathPrefix'))",
      message: 'ReplacePrefixMatch needs at most one match, and it must match a PathPrefix path',
    },
  ],
);
export type RouteRule = z.infer<typeof RouteRule>;

export const RouteTLS = z
  .object({
    certificateRefs: z
      .array(
        z
          .object({
            name: objectName.meta({
              description: 'Name of a Secret of type kubernetes.io/tls (keys tls.crt and tls.key).',
            }),
          })
          .meta({ description: "A certificate Secret in the Route's namespace." }),
      )
      .min(1)
      .max(4)
      .meta({
        description:
          "Certificates served for the Route's hostnames on the HTTPS listener. Each hostname gets the first certificate that covers it (its subject alternative names), else the first one.",
      }),
  })
  .meta({
    description:
      "TLS termination for this Route's hostnames: the data plane's HTTPS listener (--listen-tls) presents these certificates by SNI. A Route without hostnames provides the default certificate.",
  });
export type RouteTLS = z.infer<typeof RouteTLS>;

export const RouteSpec = z
  .object({
    hostnames: listSet(z.array(hostname).max(16)).optional().meta({
      description: 'Host names this Route serves. Empty serves every host not claimed more specifically.',
    }),
    tls: RouteTLS.optional(),
    rules: z
      .array(RouteRule)
      .min(1)
      .max(64)
      .meta({ description: 'Rules, matched by Gateway API precedence.' }),
  })
  .meta({ description: 'Desired routing of HTTP and AI traffic.' });
export type RouteSpec = z.infer<typeof RouteSpec>;

export const Route = z
  .object({
    apiVersion: z.literal('tollgate.dev/v1alpha1'),
    kind: z.literal('Route'),
    metadata: ObjectMeta,
    spec: RouteSpec,
    status: ObjectStatus.optional(),
  })
  .meta({
    description:
      'Route sends HTTP and AI traffic for its hostnames to backends (Services, static URLs or AIProviders), rule by rule, with matches and filters in the vocabulary of Gateway API HTTPRoute.',
  });
export type Route = z.infer<typeof Route>;
