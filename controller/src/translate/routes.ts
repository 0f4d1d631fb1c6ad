// One Route to host-less entries, one per (rule, match). Any problem in the spec rejects the
// whole Route (a partly applied Route is harder to reason about than a refused one); backends
// that do not resolve only cost their share of traffic (ResolvedRefs=False).
import type { Route, RouteRule } from '@tollgate/api';
import type { RouteActionIR, RouteEntryIR, RouteMatchIR, WeightedClusterIR } from '@tollgate/snapshot';
import { type BackendContext, type ClusterRegistry, resolveBackend } from './backends.ts';
import { durationToMs } from './durations.ts';
import { compileFilters } from './filters.ts';
import { compileMatch, MATCH_EVERYTHING } from './matches.ts';
import type { ObjectIdentity } from './objects.ts';
import type { ObjectReport } from './report.ts';

/** A Route that passed compilation: its entries, still to be placed on hosts and checked for conflicts. */
export interface RouteDraft {
  identity: ObjectIdentity;
  /** Deduplicated; "*" when the Route names none. */
  hostnames: string[];
  entries: RouteEntryIR[];
  report: ObjectReport;
}

export interface RouteContext {
  backends: BackendContext;
  clusters: ClusterRegistry;
}

export const BACKEND_NOT_RESOLVED = 'TG_ERR_BACKEND_NOT_RESOLVED';

/** The Route's draft, or undefined when it was rejected (the reasons are in `report`). */
export function compileRoute(
  route: Route,
  identity: ObjectIdentity,
  report: ObjectReport,
  context: RouteContext,
): RouteDraft | undefined {
  const entries: RouteEntryIR[] = [];
  route.spec.rules.forEach((rule, i) => {
    entries.push(...compileRule(rule, i, identity, report, context));
  });
  if (!report.accepted) return undefined;
  const hostnames = route.spec.hostnames?.length ? [...new Set(route.spec.hostnames)] : ['*'];
  return { identity, hostnames, entries, report };
}

function compileRule(
  rule: RouteRule,
  ruleIndex: number,
  identity: ObjectIdentity,
  report: ObjectReport,
  context: RouteContext,
): RouteEntryIR[] {
  const field = `spec.rules[${ruleIndex}]`;
  const { namespace, name } = identity;
  const filters = rule.filters ?? [];
  const sourceMatches = rule.matches?.length ? rule.matches : [MATCH_EVERYTHING];
  const matchFields = rule.matches?.length ? rule.matches.map((_, j) => `${field}.matches[${j}]`) : [field];
  const matches: RouteMatchIR[] = [];
  sourceMatches.forEach((match, j) => {
    const compiled = compileMatch(match, matchFields[j]!, report);
    if (compiled) matches.push(compiled);
  });
  const timeouts = compileTimeouts(rule, field, report);
  const filtered = compileFilters({
    filters,
    field,
    namespace,
    report,
    backends: context.backends,
    clusters: context.clusters,
  });
  // Backends are resolved even when the Route is rejected, so ResolvedRefs reports every problem at once.
  const action = filtered.redirect ?? forwardAction(rule, field, namespace, report, context);
  if (matches.length !== sourceMatches.length || !timeouts) return [];

  return matches.map((match, j) => {
    const route: RouteEntryIR['route'] = { namespace, name, rule: ruleIndex };
    if (rule.name !== undefined) route.ruleName = rule.name;
    // Key order as a reader scans an entry: what it matches, what it changes, where it goes.
    const entry: RouteEntryIR = {
      id: `${namespace}/${name}/${ruleIndex}/${j}`,
      route,
      match,
      ...(filtered.requestHeaders ? { requestHeaders: filtered.requestHeaders } : {}),
      ...(filtered.responseHeaders ? { responseHeaders: filtered.responseHeaders } : {}),
      ...(filtered.urlRewrite ? { urlRewrite: filtered.urlRewrite } : {}),
      ...(filtered.mirrors.length > 0 ? { mirrors: filtered.mirrors } : {}),
      action,
      timeouts,
    };
    // Default (Weighted) left out: entries without AI backends never carry it.
    if (rule.loadBalancing && rule.loadBalancing.type !== 'Weighted')
      entry.loadBalancing = { type: rule.loadBalancing.type };
    return entry;
  });
}

/**
 * Resolved backends with weight > 0. When backends that should carry traffic all failed to
 * resolve, the rule answers 500 itself: the request was meant for somewhere that does not exist.
 * (Only weight-0 backends ⇒ an empty set, which the data plane answers with 503.)
 */
function forwardAction(
  rule: RouteRule,
  field: string,
  namespace: string,
  report: ObjectReport,
  context: RouteContext,
): RouteActionIR {
  const backends: WeightedClusterIR[] = [];
  let unresolvedWithTraffic = false;
  (rule.backendRefs ?? []).forEach((ref, k) => {
    const weight = ref.weight ?? 1;
    const resolved = resolveBackend(ref, namespace, context.backends);
    if (!resolved.ok) {
      report.unresolved(resolved.reason, `${field}.backendRefs[${k}]: ${resolved.message}`);
      if (weight > 0) unresolvedWithTraffic = true;
      return;
    }
    if (weight === 0) return;
    context.clusters.add(resolved.cluster);
    const backend: WeightedClusterIR = { clusterId: resolved.cluster.id, weight };
    if (ref.model !== undefined) backend.model = ref.model;
    if (ref.priority !== undefined) backend.priority = ref.priority;
    backends.push(backend);
  });
  if (backends.length === 0 && unresolvedWithTraffic) {
    return {
      kind: 'direct-response',
      status: 500,
      code: BACKEND_NOT_RESOLVED,
      message: "none of this route's backends could be resolved; see the Route's ResolvedRefs condition",
    };
  }
  return { kind: 'forward', backends };
}

function compileTimeouts(
  rule: RouteRule,
  field: string,
  report: ObjectReport,
): RouteEntryIR['timeouts'] | undefined {
  const out: RouteEntryIR['timeouts'] = {};
  const { request, backendRequest } = rule.timeouts ?? {};
  let ok = true;
  const read = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined;
    const ms = durationToMs(value);
    if (ms === undefined) {
      report.reject(
        'Invalid',
        `${field}.timeouts.${name}: ${JSON.stringify(value)} must be a duration such as "10s", "1m30s" or "500ms"`,
      );
      ok = false;
    }
    return ms;
  };
  const requestMs = read(request, 'request');
  const backendRequestMs = read(backendRequest, 'backendRequest');
  if (!ok) return undefined;
  if (requestMs !== undefined) out.requestMs = requestMs;
  if (backendRequestMs !== undefined) out.backendRequestMs = backendRequestMs;
  // Gateway API: 0 disables a timeout; an attempt may not outlive the whole request otherwise.
  if (requestMs && backendRequestMs && backendRequestMs > requestMs) {
    report.reject(
      'Invalid',
      `${field}.timeouts.backendRequest: ${backendRequest} is longer than timeouts.request ${request}; make it at most as long`,
    );
    return undefined;
  }
  return out;
}
