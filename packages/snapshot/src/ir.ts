// The compiled configuration both sides share: the controller's translator produces it, the
// data plane validates it with these schemas before it swaps it in. It is deliberately flat
// and pre-sorted so the data plane compiles it without re-deriving precedence.
import { z } from 'zod';
import { BudgetsIR } from './budgets-ir.ts';
import { EdgePolicyIR, TlsIR } from './edge-ir.ts';
import { GuardrailsIR } from './guardrails-ir.ts';
import { JWTAuthenticationIR } from './jwt-ir.ts';
import { ObservabilityPolicyIR } from './observability-ir.ts';
import { ClusterResilienceIR, RouteResilienceIR } from './resilience-ir.ts';

export const StringMatchIR = z.object({
  type: z.enum(['Exact', 'RegularExpression']),
  name: z.string(),
  value: z.string(),
});
export type StringMatchIR = z.infer<typeof StringMatchIR>;

export const RouteMatchIR = z.object({
  /** Always present: an absent match in the manifest becomes PathPrefix "/". */
  path: z.object({ type: z.enum(['Exact', 'PathPrefix', 'RegularExpression']), value: z.string() }),
  method: z.string().optional(),
  /** Header names are lowercased by the translator. */
  headers: z.array(StringMatchIR),
  queryParams: z.array(StringMatchIR),
  model: z.object({ type: z.enum(['Exact', 'Glob']), value: z.string() }).optional(),
});
export type RouteMatchIR = z.infer<typeof RouteMatchIR>;

export const HeaderModifierIR = z.object({
  set: z.array(z.object({ name: z.string(), value: z.string() })),
  add: z.array(z.object({ name: z.string(), value: z.string() })),
  remove: z.array(z.string()),
});
export type HeaderModifierIR = z.infer<typeof HeaderModifierIR>;

export const PathModifierIR = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ReplaceFullPath'), replaceFullPath: z.string() }),
  z.object({ type: z.literal('ReplacePrefixMatch'), replacePrefixMatch: z.string() }),
]);
export type PathModifierIR = z.infer<typeof PathModifierIR>;

export const WeightedClusterIR = z.object({
  clusterId: z.string(),
  weight: z.number().int().min(0),
  /** For AI backends: the provider model (or alias) to send to; absent ⇒ the requested model. */
  model: z.string().optional(),
  /**
   * For AI backends: fallback order. Lower is preferred (absent ⇒ 0); traffic is balanced by weight
   * among the backends of the lowest priority that can serve, and falls to the next on failure.
   */
  priority: z.number().int().min(0).optional(),
});
export type WeightedClusterIR = z.infer<typeof WeightedClusterIR>;

export const RouteActionIR = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('forward'),
    /** Only backends with weight > 0 that resolved. Empty ⇒ the data plane answers 503 (no healthy backend). */
    backends: z.array(WeightedClusterIR),
  }),
  z.object({
    kind: z.literal('redirect'),
    scheme: z.enum(['http', 'https']).optional(),
    hostname: z.string().optional(),
    port: z.number().int().optional(),
    path: PathModifierIR.optional(),
    statusCode: z.number().int(),
  }),
  z.object({
    /** Used when every backend of a rule failed to resolve: answers without forwarding. */
    kind: z.literal('direct-response'),
    status: z.number().int(),
    code: z.string(),
    message: z.string(),
  }),
]);
export type RouteActionIR = z.infer<typeof RouteActionIR>;

/** The request-rate limit of one key: `limit` requests per `windowMs`. */
export const RateLimitIR = z.object({
  name: z.string(),
  limit: z.number().int().min(1),
  windowMs: z.number().int().min(1),
  key: z.enum(['consumer', 'team', 'tenant', 'route', 'model', 'header', 'clientIP']),
  /** Lowercase header name, with key: header. */
  header: z.string().optional(),
  /**
   * Set for a token limit: which AI tokens count (`limit` is then tokens per window). A request is
   * admitted while the key is under the limit; its tokens are charged when the response ends.
   */
  tokens: z.enum(['input', 'output', 'total']).optional(),
  /** `local` counts per data-plane pod; absent means global (shared in Redis when configured). */
  scope: z.literal('local').optional(),
  /** `closed` refuses (503) when the shared store does not answer; absent means open (admit). */
  failureMode: z.literal('closed').optional(),
});
export type RateLimitIR = z.infer<typeof RateLimitIR>;

export const AuthorizationRuleIR = z.object({
  name: z.string().optional(),
  action: z.enum(['allow', 'deny']),
  /** Consumer ids (`consumer/<ns>/<name>`). */
  consumers: z.array(z.string()).optional(),
  teams: z.array(z.string()).optional(),
  tenants: z.array(z.string()).optional(),
  models: z.array(z.string()).optional(),
  /** JWT claims that must all match: each equals (or, for a list claim, contains) one of its values. */
  claims: z.array(z.object({ name: z.string(), values: z.array(z.string()) })).optional(),
});
export type AuthorizationRuleIR = z.infer<typeof AuthorizationRuleIR>;

/**
 * The effective policy of one route entry, merged by the translator (most specific attachment
 * wins per section). `from` names the Policy each section came from, for logs and debugging.
 */
export const RoutePolicyIR = z.object({
  authentication: z
    .object({
      from: z.string(),
      apiKey: z.object({ required: z.boolean(), headers: z.array(z.string()) }).optional(),
      /** JWT/OIDC bearer tokens (jwt-ir.ts); with apiKey too, either one authenticates. */
      jwt: JWTAuthenticationIR.optional(),
    })
    .optional(),
  authorization: z
    .object({
      from: z.string(),
      defaultAction: z.enum(['allow', 'deny']),
      rules: z.array(AuthorizationRuleIR),
    })
    .optional(),
  rateLimits: z.object({ from: z.string(), limits: z.array(RateLimitIR) }).optional(),
  /** Content checks on AI requests and responses (guardrails-ir.ts). */
  guardrails: GuardrailsIR.optional(),
  /** Token and cost budgets per calendar period (budgets-ir.ts). */
  budgets: BudgetsIR.optional(),
  /** What may be recorded beyond metrics and spans: prompt/completion content (observability-ir.ts). */
  observability: ObservabilityPolicyIR.optional(),
  /**
   * Sections that Policies attached to a Consumer replace for that consumer's requests (keyed by
   * consumer id), where such a Policy is more specific than the entry's own (see docs/policies.md).
   */
  byConsumer: z
    .record(
      z.string(),
      z.object({
        authorization: z
          .object({
            from: z.string(),
            defaultAction: z.enum(['allow', 'deny']),
            rules: z.array(AuthorizationRuleIR),
          })
          .optional(),
        rateLimits: z.object({ from: z.string(), limits: z.array(RateLimitIR) }).optional(),
        guardrails: GuardrailsIR.optional(),
        budgets: BudgetsIR.optional(),
      }),
    )
    .optional(),
});
export type RoutePolicyIR = z.infer<typeof RoutePolicyIR>;

export const RouteEntryIR = z.object({
  /** Stable id: `<namespace>/<name>/<ruleIndex>/<matchIndex>`; also the metrics label. */
  id: z.string(),
  route: z.object({
    namespace: z.string(),
    name: z.string(),
    rule: z.number().int(),
    ruleName: z.string().optional(),
  }),
  match: RouteMatchIR,
  requestHeaders: HeaderModifierIR.optional(),
  responseHeaders: HeaderModifierIR.optional(),
  urlRewrite: z.object({ hostname: z.string().optional(), path: PathModifierIR.optional() }).optional(),
  mirrors: z.array(z.string()).optional(),
  action: RouteActionIR,
  /** Authentication, authorization and rate limits for this entry; absent ⇒ none. */
  policy: RoutePolicyIR.optional(),
  /** CORS, IP filter, size limits, compression and response cache (edge-ir.ts); absent ⇒ none. */
  edge: EdgePolicyIR.optional(),
  timeouts: z.object({
    requestMs: z.number().int().optional(),
    backendRequestMs: z.number().int().optional(),
  }),
  /** Retries, Policy timeouts and session persistence (resilience-ir.ts); absent ⇒ none. */
  resilience: RouteResilienceIR.optional(),
  /** AI entries: how a priority group's backends share traffic; absent ⇒ Weighted. */
  loadBalancing: z.object({ type: z.enum(['Weighted', 'LeastBusy', 'LowestLatency']) }).optional(),
});
export type RouteEntryIR = z.infer<typeof RouteEntryIR>;

export const VirtualHostIR = z.object({
  /** An exact host ("shop.example.com"), a wildcard ("*.example.com") or "*" (any host). */
  hostname: z.string(),
  /**
   * Entries in precedence order (Gateway API): Exact path, then RegularExpression, then
   * PathPrefix longest first; ties by method, header count, query count, route age, name,
   * rule order. The data plane returns the first entry that matches.
   */
  routes: z.array(RouteEntryIR),
});
export type VirtualHostIR = z.infer<typeof VirtualHostIR>;

export const EndpointIR = z.object({
  host: z.string(),
  port: z.number().int().min(1).max(65535),
  /** Kubernetes topology zone, when known. */
  zone: z.string().optional(),
});
export type EndpointIR = z.infer<typeof EndpointIR>;

export const ClusterIR = z.object({
  /** Stable id: `service/<ns>/<name>:<port>`, `url/<origin>` or `ai/<ns>/<name>`. */
  id: z.string(),
  kind: z.enum(['service', 'url', 'ai-provider']),
  tls: z.boolean(),
  /** Host header / SNI for static URLs; absent ⇒ the client's Host is forwarded. */
  authority: z.string().optional(),
  endpoints: z.array(EndpointIR),
  /** Load balancing, health checks, outlier detection and limits (resilience-ir.ts); absent ⇒ defaults. */
  resilience: ClusterResilienceIR.optional(),
});
export type ClusterIR = z.infer<typeof ClusterIR>;

export const AIProviderIR = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  type: z.string(),
  baseURL: z.string(),
  /** Credential values resolved from Secrets. Redacted by every dump and log. */
  credentials: z.record(z.string(), z.string()),
  models: z.array(
    z
      .object({
        name: z.string(),
        aliases: z.array(z.string()),
        /** Decimal strings per million tokens, kept exact (the data plane meters with integers). */
        pricing: z
          .object({
            currency: z.string(),
            inputPerMillion: z.string(),
            outputPerMillion: z.string(),
            cachedInputPerMillion: z.string().optional(),
            cacheWritePerMillion: z.string().optional(),
          })
          .optional(),
        contextWindow: z.number().int().optional(),
        maxOutputTokens: z.number().int().optional(),
      })
      .loose(),
  ),
  /** Provider-specific settings (api version, region, …) as the AIProvider spec gives them. */
  options: z.record(z.string(), z.unknown()).optional(),
  /** Enforced per data-plane pod; over a limit the provider is treated as rate limited. */
  limits: z
    .object({
      requestsPerMinute: z.number().int().min(1).optional(),
      tokensPerMinute: z.number().int().min(1).optional(),
      maxConcurrentRequests: z.number().int().min(1).optional(),
    })
    .optional(),
  /** Per-attempt deadlines for this provider (the route's request timeout still bounds the whole). */
  timeouts: z
    .object({ requestMs: z.number().int().min(0).optional(), connectMs: z.number().int().min(0).optional() })
    .optional(),
});
export type AIProviderIR = z.infer<typeof AIProviderIR>;

export const ConsumerIR = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  team: z.string().optional(),
  tenant: z.string().optional(),
  /** Lowercase hex SHA-256 of each API key; the keys themselves never leave the controller. */
  apiKeyHashes: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  /** Present (true) when every request authenticated as this consumer is refused. */
  disabled: z.literal(true).optional(),
});
export type ConsumerIR = z.infer<typeof ConsumerIR>;

export const SnapshotContent = z.object({
  virtualHosts: z.array(VirtualHostIR),
  clusters: z.array(ClusterIR),
  aiProviders: z.array(AIProviderIR),
  consumers: z.array(ConsumerIR),
  /** Compiled policies; grows with the policy issues. Opaque to this schema version. */
  policies: z.array(z.looseObject({ id: z.string() })),
  /** Certificates of the HTTPS listener by SNI name; absent ⇒ no Route asks for TLS. */
  tls: TlsIR.optional(),
});
export type SnapshotContent = z.infer<typeof SnapshotContent>;

export const Snapshot = SnapshotContent.extend({
  /** Content hash of everything else in the snapshot (see version.ts). */
  version: z.string(),
});
export type Snapshot = z.infer<typeof Snapshot>;
