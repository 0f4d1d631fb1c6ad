// The effective policy of each route entry. For every section (authentication, authorization,
// rateLimits) the Policy attached most specifically to the entry wins: Route rule (sectionName) >
// Route > AIProvider (one of the entry's backends) or Consumer (the caller) > Namespace. Between Policies at the same level
// the oldest wins (creationTimestamp), then the first by name (GEP-713). Sections are not merged
// field by field: a Route's authorization replaces its Namespace's, it does not extend it.
// Consumer-attached Policies need the caller, known only at run time: where one would win for a
// section (authorization, rateLimits) the entry carries it under `byConsumer[<consumer id>]`.
import type {
  AuthorizationRuleIR,
  RateLimitIR,
  RouteEntryIR,
  RoutePolicyIR,
  VirtualHostIR,
} from '@tollgate/snapshot';
import { durationToMs } from '../durations.ts';
import type { ObjectIndex } from '../objects.ts';
import { compareSeniority } from '../order.ts';
import type { PolicyIR, PolicyTargetIR } from './attachment.ts';
import { compileBudgets } from './budgets.ts';
import { compileGuardrails } from './guardrails.ts';
import { compileJWT } from './jwt.ts';
import { compileObservability } from './observability.ts';
import { attachEntryResilience, hasResilience } from './resilience.ts';

/** Lower is more specific; undefined ⇒ the target does not cover the entry. */
export function specificity(target: PolicyTargetIR, entry: RouteEntryIR): number | undefined {
  const { route } = entry;
  if (target.namespace !== route.namespace) return undefined;
  switch (target.kind) {
    case 'Route':
      if (target.name !== route.name) return undefined;
      if (target.sectionName === undefined) return 1;
      return target.sectionName === route.ruleName ? 0 : undefined;
    case 'AIProvider': {
      const id = `ai/${target.namespace}/${target.name}`;
      const forwards = entry.action.kind === 'forward' ? entry.action.backends : [];
      return forwards.some((b) => b.clusterId === id) ? 2 : undefined;
    }
    case 'Namespace':
      return 3;
    default:
      return undefined;
  }
}

type Ranked = { policy: PolicyIR; level: number; seniority: number };

/** Sets `policy` on every entry some Policy section applies to. Mutates the entries in place. */
export function attachEffectivePolicies(
  hosts: VirtualHostIR[],
  policies: PolicyIR[],
  index: ObjectIndex,
): void {
  const relevant = policies.filter(
    (p) =>
      p.spec.authentication?.apiKey ||
      p.spec.authentication?.jwt ||
      p.spec.authorization ||
      p.spec.rateLimits?.length ||
      p.spec.guardrails ||
      p.spec.budgets?.length ||
      p.spec.observability ||
      hasResilience(p.spec),
  );
  if (relevant.length === 0) return;
  const seniorFirst = [...relevant].sort((a, b) =>
    compareSeniority(
      index.get('Policy', a.namespace, a.name)?.identity ?? a,
      index.get('Policy', b.namespace, b.name)?.identity ?? b,
    ),
  );
  const seniority = new Map(seniorFirst.map((p, i) => [p.id, i]));
  // Consumer id → the Policies attached to it, oldest first (ids sorted for stable output).
  const byConsumer = new Map<string, PolicyIR[]>();
  for (const policy of seniorFirst) {
    for (const target of policy.targets) {
      if (target.kind !== 'Consumer') continue;
      const id = `consumer/${target.namespace}/${target.name}`;
      byConsumer.set(id, [...(byConsumer.get(id) ?? []), policy]);
    }
  }
  const consumerPolicies = [...byConsumer].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const host of hosts) {
    for (const entry of host.routes) {
      const ranked: Ranked[] = [];
      for (const policy of relevant) {
        const levels = policy.targets.map((t) => specificity(t, entry)).filter((l) => l !== undefined);
        if (levels.length === 0) continue;
        ranked.push({ policy, level: Math.min(...levels), seniority: seniority.get(policy.id) ?? 0 });
      }
      if (ranked.length === 0) continue;
      const byLevel = (a: Ranked, b: Ranked) => a.level - b.level || a.seniority - b.seniority;
      const effective = effectiveFor(
        ranked.sort(byLevel).map((r) => r.policy),
        index,
      );
      attachEntryResilience(entry, ranked);
      // Consumer-attached Policies count only where the caller is known: behind authentication.
      if (effective.authentication) {
        for (const [consumerId, attached] of consumerPolicies) {
          const withConsumer = [
            ...ranked,
            ...attached.map((policy) => ({ policy, level: 2, seniority: seniority.get(policy.id) ?? 0 })),
          ].sort(byLevel);
          const forConsumer = effectiveFor(
            withConsumer.map((r) => r.policy),
            index,
          );
          const sections: NonNullable<RoutePolicyIR['byConsumer']>[string] = {};
          if (forConsumer.authorization && forConsumer.authorization.from !== effective.authorization?.from)
            sections.authorization = forConsumer.authorization;
          if (forConsumer.rateLimits && forConsumer.rateLimits.from !== effective.rateLimits?.from)
            sections.rateLimits = forConsumer.rateLimits;
          if (forConsumer.guardrails && forConsumer.guardrails.from !== effective.guardrails?.from)
            sections.guardrails = forConsumer.guardrails;
          if (forConsumer.budgets && forConsumer.budgets.from !== effective.budgets?.from)
            sections.budgets = forConsumer.budgets;
          if (Object.keys(sections).length > 0) {
            effective.byConsumer ??= {};
            effective.byConsumer[consumerId] = sections;
          }
        }
      }
      if (Object.keys(effective).length > 0) entry.policy = effective;
    }
  }
}

/** `policies` from most to least specific; each section comes from the first that sets it. */
function effectiveFor(policies: PolicyIR[], index: ObjectIndex): RoutePolicyIR {
  const out: RoutePolicyIR = {};
  const authn = policies.find((p) => p.spec.authentication?.apiKey || p.spec.authentication?.jwt);
  const apiKey = authn?.spec.authentication?.apiKey;
  if (authn) {
    out.authentication = { from: authn.id };
    if (apiKey)
      out.authentication.apiKey = {
        required: apiKey.required,
        headers: apiKey.headers.map((h) => h.toLowerCase()),
      };
    const jwt = compileJWT(authn, index);
    if (jwt) out.authentication.jwt = jwt;
  }
  const authz = policies.find((p) => p.spec.authorization);
  if (authz?.spec.authorization) {
    const { defaultAction, rules = [] } = authz.spec.authorization;
    out.authorization = {
      from: authz.id,
      defaultAction,
      rules: rules.map((rule) => {
        const ir: AuthorizationRuleIR = { action: rule.action };
        if (rule.name !== undefined) ir.name = rule.name;
        if (rule.consumers) ir.consumers = rule.consumers.map((c) => `consumer/${authz.namespace}/${c}`);
        if (rule.teams) ir.teams = rule.teams;
        if (rule.tenants) ir.tenants = rule.tenants;
        if (rule.models) ir.models = rule.models;
        if (rule.claims) ir.claims = rule.claims.map((c) => ({ name: c.name, values: [...c.values] }));
        return ir;
      }),
    };
  }
  const limited = policies.find((p) => p.spec.rateLimits?.length);
  if (limited?.spec.rateLimits) {
    const limits: RateLimitIR[] = [];
    for (const limit of limited.spec.rateLimits) {
      const counted = limit.requests ?? limit.tokens;
      if (!counted) continue;
      const windowMs = durationToMs(counted.window);
      if (windowMs === undefined || windowMs <= 0) continue;
      const ir: RateLimitIR = { name: limit.name, limit: counted.limit, windowMs, key: limit.key };
      if (limit.tokens) ir.tokens = limit.tokens.count;
      if (limit.header !== undefined) ir.header = limit.header.toLowerCase();
      if (limit.scope === 'local') ir.scope = 'local';
      if (limit.failureMode === 'closed') ir.failureMode = 'closed';
      limits.push(ir);
    }
    if (limits.length > 0) out.rateLimits = { from: limited.id, limits };
  }
  const guarded = policies.find((p) => p.spec.guardrails);
  if (guarded) out.guardrails = compileGuardrails(guarded);
  const budgeted = policies.find((p) => p.spec.budgets?.length);
  const budgets = budgeted && compileBudgets(budgeted);
  if (budgets) out.budgets = budgets;
  const observed = policies.find((p) => p.spec.observability);
  const observability = observed && compileObservability(observed);
  if (observability) out.observability = observability;
  return out;
}
