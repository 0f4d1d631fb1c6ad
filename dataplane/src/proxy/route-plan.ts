// Everything the proxy needs to serve one route entry, resolved once per snapshot: backends bound
// to clusters, header modifiers and rewrites compiled, timeouts decided, metrics children found.
import type { IncomingHttpHeaders } from 'node:http';
import type { RouteActionIR, RouteEntryIR } from '@tollgate/snapshot';
import type { AIPlan } from '../ai/index.ts';
import type { RouteMetrics } from '../observability/index.ts';
import type { EdgeSteps } from '../policies/edge/index.ts';
import type { RouteGuardrails } from '../policies/guardrails/index.ts';
import type { PolicyChain } from '../policies/index.ts';
import { type UpstreamCluster, type UpstreamSet, WeightedPicker } from '../upstream/index.ts';
import { compileHeaderModifier, type HeaderModifier } from './headers.ts';
import { RetryPolicy } from './retry-policy.ts';
import { compilePathModifier, type PathRewrite } from './rewrite.ts';
import { type SessionChoice, SessionPicker } from './session.ts';

export interface UpstreamTimeouts {
  /** Deadline for the whole upstream exchange, response body included; undefined ⇒ none. */
  totalMs: number | undefined;
  /** Time allowed until the response headers arrive; 0 ⇒ unlimited. */
  headersMs: number;
  /** Longest silence between response body chunks; 0 ⇒ unlimited. */
  idleMs: number;
  /** Deadline of one attempt until its response headers, when retries apply; undefined ⇒ none. */
  perTryMs?: number | undefined;
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
  /** Set with session persistence: the client's backend, and the header that keeps it there. */
  readonly session: { choose(headers: IncomingHttpHeaders, secure?: boolean): SessionChoice } | undefined;
  /** Set when a Policy configures retries for the entry. */
  readonly retry: RetryPolicy | undefined;
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
  let session: SessionPicker | undefined;
  const resilience = ir.resilience;
  if (action.kind === 'forward') {
    const backends = action.backends.map((b) => ({
      cluster: cluster(b.clusterId, 'backend'),
      weight: b.weight,
    }));
    const picker = new WeightedPicker(backends.map((b) => ({ item: b.cluster, weight: b.weight })));
    pickBackend = () => picker.pick();
    if (resilience?.sessionPersistence && backends.length > 0)
      session = new SessionPicker(resilience.sessionPersistence, backends, pickBackend);
  }
  const retries = resilience?.retries;
  const retry = retries && retries.attempts > 0 ? new RetryPolicy(retries) : undefined;
  const rewriteSource = action.kind === 'redirect' ? action.path : ir.urlRewrite?.path;
  return {
    id: ir.id,
    ir,
    action,
    pickBackend,
    session,
    retry,
    mirrors: (ir.mirrors ?? []).map((id) => cluster(id, 'mirror')),
    requestHeaders: compileHeaderModifier(ir.requestHeaders),
    responseHeaders: compileHeaderModifier(ir.responseHeaders),
    rewritePath: compilePathModifier(rewriteSource, ir.match.path),
    rewriteHost: ir.urlRewrite?.hostname,
    timeouts: resolveTimeouts(ir, context.defaults ?? DEFAULT_TIMEOUTS, retry),
    metrics: context.routeMetrics(ir.id),
    ai: context.compileAI?.(ir),
    policy: context.compilePolicy?.(ir),
    guardrails: context.compileGuardrails?.(ir),
    edge: context.compileEdge?.(ir),
  };
}

/**
 * Without retries, `requestMs` (the whole client request) and `backendRequestMs` (one upstream
 * attempt) are the same deadline, so the shorter one applies. With retries, `requestMs` bounds
 * them all and each attempt gets `perTryTimeout` (or `backendRequestMs`) until its response
 * starts. The rule's own timeouts win over a Policy's; a Policy's idle timeout replaces the
 * default. 0 disables timeouts (Gateway API's "0s").
 */
function resolveTimeouts(
  ir: RouteEntryIR,
  defaults: { headersMs: number; idleMs: number },
  retry: RetryPolicy | undefined,
): UpstreamTimeouts {
  const policy = ir.resilience?.timeouts;
  const requestMs = ir.timeouts.requestMs ?? policy?.requestMs;
  const { backendRequestMs } = ir.timeouts;
  const idle = policy?.idleMs;
  if (retry) {
    const total = requestMs !== undefined && requestMs > 0 ? requestMs : undefined;
    const perTry =
      retry.ir.perTryTimeoutMs ??
      (backendRequestMs !== undefined && backendRequestMs > 0 ? backendRequestMs : undefined);
    return {
      totalMs: total,
      headersMs: perTry ?? total ?? defaults.headersMs,
      idleMs: idle ?? (total === undefined ? defaults.idleMs : Math.max(total, defaults.idleMs)),
      perTryMs: perTry,
    };
  }
  const values = [requestMs, backendRequestMs].filter((v): v is number => v !== undefined);
  if (values.length === 0)
    return { totalMs: undefined, headersMs: defaults.headersMs, idleMs: idle ?? defaults.idleMs };
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return { totalMs: undefined, headersMs: 0, idleMs: idle ?? 0 };
  const totalMs = Math.min(...positive);
  return { totalMs, headersMs: totalMs, idleMs: idle ?? Math.max(totalMs, defaults.idleMs) };
}
