// Policy: attaches behaviour to Routes, AIProviders, Consumers or a Namespace via targetRefs
// (Gateway API policy attachment). Each section lives in its own file under policy/.
import { z } from 'zod';
import { withRules } from './cel.ts';
import { conditionList, ObjectMeta, objectName } from './common.ts';
import { Authentication } from './policy/authentication.ts';
import { Authorization } from './policy/authorization.ts';
import { Budgets } from './policy/budgets.ts';
import { Guardrails } from './policy/guardrails.ts';
import { PolicyObservability } from './policy/observability.ts';
import { RateLimits } from './policy/rate-limits.ts';
import { CircuitBreaker, HealthCheck, LoadBalancer, PolicyTimeouts, Retries } from './policy/resilience.ts';
import { Cache, CORS, Compression, IPFilter, RequestSizeLimits } from './policy/traffic.ts';

export * from './policy/authentication.ts';
export * from './policy/authorization.ts';
export * from './policy/budgets.ts';
export * from './policy/guardrails.ts';
export * from './policy/observability.ts';
export * from './policy/rate-limits.ts';
export * from './policy/resilience.ts';
export * from './policy/traffic.ts';

export const policyTargetKinds = ['Route', 'AIProvider', 'Consumer', 'Namespace'] as const;

const targetRefFields = {
  group: z.string().max(253).default('tollgate.dev').meta({
    description:
      'API group of the target: tollgate.dev for Route, AIProvider and Consumer; "" for Namespace.',
  }),
  kind: z.enum(policyTargetKinds).meta({ description: 'Kind of the target.' }),
  name: objectName.meta({
    description:
      "Name of the target, in the policy's namespace (for a Namespace: the policy's own namespace).",
  }),
};

export const PolicyTargetRef = withRules(
  z
    .object({
      ...targetRefFields,
      sectionName: z
        .string()
        .min(1)
        .max(63)
        .optional()
        .meta({ description: 'For a Route: the name of one of its rules, to attach to that rule only.' }),
    })
    .meta({ description: 'An object the policy attaches to.' }),
  [
    {
      rule: "self.kind == 'Namespace' ? self.group in ['', 'tollgate.dev'] : self.group == 'tollgate.dev'",
      message: 'group must be tollgate.dev for Route, AIProvider and Consumer, and "" for Namespace',
      fieldPath: '.group',
    },
    {
      rule: "!has(self.sectionName) || self.kind == 'Route'",
      message: 'sectionName applies only to a Route target',
      fieldPath: '.sectionName',
    },
  ],
);
export type PolicyTargetRef = z.infer<typeof PolicyTargetRef>;

const targetRefs = withRules(
  z.array(PolicyTargetRef).min(1).max(16).meta({
    description: 'The objects this policy attaches to. A more specific attachment wins over a broader one.',
  }),
  [
    {
      rule: 'self.all(a, self.exists_one(b, a.group == b.group && a.kind == b.kind && a.name == b.name && (has(a.sectionName) ? has(b.sectionName) && a.sectionName == b.sectionName : !has(b.sectionName))))',
      message: 'targetRefs must be unique',
      reason: 'FieldValueDuplicate',
    },
  ],
);

/** The names of the optional behaviour sections; a policy sets at least one. */
export const policySections = [
  'authentication',
  'authorization',
  'rateLimits',
  'budgets',
  'retries',
  'timeouts',
  'circuitBreaker',
  'healthCheck',
  'loadBalancer',
  'guardrails',
  'cache',
  'compression',
  'cors',
  'ipFilter',
  'limits',
  'observability',
] as const;
export type PolicySection = (typeof policySections)[number];

export const PolicySpec = withRules(
  z
    .object({
      targetRefs,
      authentication: Authentication.optional(),
      authorization: Authorization.optional(),
      rateLimits: RateLimits.optional(),
      budgets: Budgets.optional(),
      retries: Retries.optional(),
      timeouts: PolicyTimeouts.optional(),
      circuitBreaker: CircuitBreaker.optional(),
      healthCheck: HealthCheck.optional(),
      loadBalancer: LoadBalancer.optional(),
      guardrails: Guardrails.optional(),
      cache: Cache.optional(),
      compression: Compression.optional(),
      cors: CORS.optional(),
      ipFilter: IPFilter.optional(),
      limits: RequestSizeLimits.optional(),
      observability: PolicyObservability.optional(),
    })
    .meta({
      description:
        'Targets and behaviour. Where several policies set the same section for a request, the most specific attachment wins (Route rule, Route, AIProvider or Consumer, Namespace), then the oldest, then the first by name.',
    }),
  [
    {
      rule: policySections.map((section) => `has(self.${section})`).join(' || '),
      message: `a policy needs at least one of ${policySections.join(', ')}`,
    },
  ],
);
export type PolicySpec = z.infer<typeof PolicySpec>;

export const PolicyAncestorRef = z
  .object({
    ...targetRefFields,
    namespace: z.string().max(63).optional().meta({ description: 'Namespace of the ancestor.' }),
    sectionName: z
      .string()
      .max(63)
      .optional()
      .meta({ description: 'The Route rule, when the reference names one.' }),
  })
  .meta({ description: 'The object this status entry is about.' });
export type PolicyAncestorRef = z.infer<typeof PolicyAncestorRef>;

export const PolicyAncestorStatus = z
  .object({
    ancestorRef: PolicyAncestorRef,
    controllerName: z
      .string()
      .max(253)
      .meta({ description: 'The controller that wrote this entry, e.g. "tollgate.dev/controller".' }),
    conditions: conditionList,
  })
  .meta({ description: 'How the policy applies to one of its targets (GEP-713).' });
export type PolicyAncestorStatus = z.infer<typeof PolicyAncestorStatus>;

export const PolicyStatus = z
  .object({
    ancestors: z
      .array(PolicyAncestorStatus)
      .max(16)
      .optional()
      .meta({ description: 'One entry per target: whether the policy was accepted and applies to it.' }),
  })
  .meta({ description: 'Observed state, written by the Tollgate controller.' });
export type PolicyStatus = z.infer<typeof PolicyStatus>;

export const Policy = z
  .object({
    apiVersion: z.literal('tollgate.dev/v1alpha1'),
    kind: z.literal('Policy'),
    metadata: ObjectMeta,
    spec: PolicySpec,
    status: PolicyStatus.optional(),
  })
  .meta({
    description:
      'Policy attaches behaviour (authentication, authorization, rate limits, budgets, retries, timeouts, circuit breaking, health checks, guardrails, caching, CORS, IP filters, size limits) to Routes, AIProviders, Consumers or a whole Namespace through targetRefs (Gateway API policy attachment).',
  });
export type Policy = z.infer<typeof Policy>;
