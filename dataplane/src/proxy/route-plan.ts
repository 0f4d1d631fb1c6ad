// Everything the proxy needs to serve one route entry, resolved once per snapshot: backends bound
// to clusters, header modifiers and rewrites compiled, timeouts decided, metrics children found.
import type { RouteActionIR, RouteEntryIR } from '@tollgate/snapshot';
import type { AIPlan } from '../ai/index.ts';
import type { RouteMetrics } from '../observability/index.ts';
import type { EdgeSteps } from '../policies/edge/index.ts';
import type { RouteGuardrails } from '../policies/guardrails/index.ts';
import type { PolicyChain } from '../policies/index.ts';
import { type UpstreamCluster, type UpstreamSet, WeightedPicker } from '../upstream/index.ts';
import { compileHeaderModifier, type HeaderModifier } from './headers.ts';
import { compilePathModifier, type PathRewrite } from './rewrite.ts';

export interface UpstreamTimeouts {
  /** Deadline for the whole upstream exchange, response body included; undefined ⇒ none. */
  totalMs: number | undefined;
  /** Time allowed until the response headers arrive; 0 ⇒ unlimited. */
  headersMs: number;
  /** Longest silence between response body chunks; 0 ⇒ unlimited. */
  idleMs: number;
}

/**
 * Defaults when a route sets no timeout. There is deliberately no total deadline: LLM streams
 * legitimately run for minutes. Instead the upstream must start answering within 60 s (a
 * non-streaming completion can take tens of seconds) and never go silent for 5 minutes.
 */
export const DEFAULT_TIMEOUTS = { headersMs: 60_000, idleMs: 300_000 } as const;

export interface RoutePlan {
  readonly id: string;
  readonly ir: RouteEntryIR;
  readonly action: RouteActionIR;
  /** The next backend by weight; undefined when the rule has none. */
  pickBackend(): UpstreamCluster | undefined;
  readonly mirrors: readonly UpstreamCluster[];
  readonly requestHeaders: HeaderModifier | undefined;
  readonly responseHeaders: HeaderModifier | undefined;
  readonly rewritePath: PathRewrite | undefined;
  readonly rewriteHost: string | undefined;
  readonly timeouts: UpstreamTimeouts;
  readonly metrics: RouteMetrics;
  /** Set when every backend is an AI provider: the AI gateway serves the entry. */
  readonly ai: AIPlan | undefined;
  /** Authentication, authorization and rate limits; undefined when no Policy applies. */
  readonly policy: PolicyChain | undefined;
  /** Content checks of AI requests and responses; undefined when no Policy sets guardrails. */
  readonly guardrails?: RouteGuardrails | undefined;
  /** CORS, IP filter, size limits, compression, response cache; undefined when none applies. */
  readonly edge: EdgeSteps | undefined;
}

export interface PlanContext {
  upstreams: UpstreamSet;
  routeMetrics(routeId: string): RouteMetrics;
  defaults?: { headersMs: number; idleMs: number };
  /** Compiles the AI side of an entry (undefined for entries that are not AI routes). */
  compileAI?(ir: RouteEntryIR): AIPlan | undefined;
  /** Compiles the entry's policy chain (undefined when none applies). */
  compilePolicy?(ir: RouteEntryIR): PolicyChain | undefined;
  /** Compiles the entry's guardrails (undefined when none apply). */
  compileGuardrails?(ir: RouteEntryIR): RouteGuardrails | undefined;
  /** Compiles the entry's edge steps (undefined when none applies). */
  compileEdge?(ir: RouteEntryIR): EdgeSteps | undefined;
}

/** Throws on anything that cannot work (unknown cluster, impossible rewrite), so the snapshot is rejected. */
export function compileRoutePlan(ir: RouteEntryIR, context: PlanContext): RoutePlan {
  const cluster = (id: string, role: string): UpstreamCluster => {
    const found = context.upstreams.get(id);
    if (!found) throw new Error(`${role} refers to cluster ${id}, which the snapshot does not define`);
    return found;
  };
  const { action } = ir;
  let pickBackend: () => UpstreamCluster | undefined = () => undefined;
  if (action.kind === 'forward') {
    const picker = new WeightedPicker(
      action.backends.map((b) => ({ item: cluster(b.clusterId, 'backend'), weight: b.weight })),
    );
    pickBackend = () => picker.pick();
  }
  const rewriteSource = action.kind === 'redirect' ? action.path : ir.urlRewrite?.path;
  return {
    id: ir.id,
    ir,
    action,
    pickBackend,
    mirrors: (ir.mirrors ?? []).map((id) => cluster(id, 'mirror')),
    requestHeaders: compileHeaderModifier(ir.requestHeaders),
    responseHeaders: compileHeaderModifier(ir.responseHeaders),
    rewritePath: compilePathModifier(rewriteSource, ir.match.path),
    rewriteHost: ir.urlRewrite?.hostname,
    timeouts: resolveTimeouts(ir.timeouts, context.defaults ?? DEFAULT_TIMEOUTS),
    metrics: context.routeMetrics(ir.id),
    ai: context.compileAI?.(ir),
    policy: context.compilePolicy?.(ir),
    guardrails: context.compileGuardrails?.(ir),
    edge: context.compileEdge?.(ir),
  };
}

/**
 * `requestMs` (the whole client request) and `backendRequestMs` (one upstream attempt) are the
 * same deadline while there are no retries, so the shorter one applies. 0 disables timeouts
 * (Gateway API's "0s").
 */
function resolveTimeouts(
  configured: RouteEntryIR['timeouts'],
  defaults: { headersMs: number; idleMs: number },
): UpstreamTimeouts {
  const values = [configured.requestMs, configured.backendRequestMs].filter(
    (v): v is number => v !== undefined,
  );
  if (values.length === 0) return { totalMs: undefined, ...defaults };
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return { totalMs: undefined, headersMs: 0, idleMs: 0 };
  const totalMs = Math.min(...positive);
  return { totalMs, headersMs: totalMs, idleMs: Math.max(totalMs, defaults.idleMs) };
}
