// The AI side of a route entry, compiled once per snapshot: its backends (provider, cluster,
// weight, priority, model rewrite) grouped by priority, and per request the order in which to try
// them: within the best priority by the rule's balancing strategy, then the next priority.
import type { RouteEntryIR } from '@tollgate/snapshot';
import type { UpstreamCluster, UpstreamSet } from '../upstream/index.ts';
import { type Balancer, type BalancingInput, type BalancingType, createBalancer } from './balancing/index.ts';
import type { CompiledProvider, ResolvedModel } from './compiled-provider.ts';
import type { Operation } from './providers/types.ts';

export interface AIBackend {
  /** Load and latency are tracked under this key: provider id and backendRef model. */
  key: string;
  provider: CompiledProvider;
  cluster: UpstreamCluster;
  weight: number;
  priority: number;
  /** The backendRef's model (a provider model or alias); undefined ⇒ the requested model. */
  model: string | undefined;
}

export interface Candidate {
  backend: AIBackend;
  model: ResolvedModel;
}

interface PriorityGroup {
  priority: number;
  backends: AIBackend[];
  balancer: Balancer<AIBackend>;
}

export type CandidateResult =
  | { ok: true; candidates: Candidate[] }
  | { ok: false; reason: 'model-not-found' | 'operation-unsupported' };

const IDLE: BalancingInput<AIBackend> = {
  load: { inFlight: () => 0, latency: () => undefined },
  available: () => true,
};

export class AIPlan {
  readonly backends: readonly AIBackend[];
  readonly #groups: PriorityGroup[];

  constructor(backends: AIBackend[], balancing: BalancingType = 'Weighted') {
    this.backends = backends;
    const byPriority = new Map<number, AIBackend[]>();
    for (const backend of backends) {
      const list = byPriority.get(backend.priority) ?? [];
      list.push(backend);
      byPriority.set(backend.priority, list);
    }
    this.#groups = [...byPriority.entries()]
      .sort(([a], [b]) => a - b)
      .map(([priority, list]) => ({
        priority,
        backends: list,
        balancer: createBalancer(balancing, list),
      }));
  }

  /**
   * The backends that can serve `model` for `operation`, in the order to try them: each priority
   * group in its balancer's order (backends that cannot take a request now last).
   * Without `balancing` (tests, listings) every backend counts as idle and available.
   */
  candidates(
    model: string,
    operation: Operation,
    balancing: BalancingInput<AIBackend> = IDLE,
  ): CandidateResult {
    const out: Candidate[] = [];
    let modelKnown = false;
    for (const group of this.#groups) {
      for (const backend of group.balancer.order(balancing)) {
        const resolved = backend.provider.resolveModel(backend.model ?? model);
        if (!resolved) continue;
        modelKnown = true;
        const { adapter } = backend.provider;
        if (adapter && !adapter.supports(operation)) continue;
        out.push({ backend, model: resolved });
      }
    }
    if (out.length > 0) return { ok: true, candidates: out };
    return { ok: false, reason: modelKnown ? 'operation-unsupported' : 'model-not-found' };
  }

  /** Names clients may ask for through this entry (for GET /models), given its model match. */
  servedModels(
    match: RouteEntryIR['match']['model'],
    glob: ((name: string) => boolean) | undefined,
  ): string[] {
    if (match?.type === 'Exact') {
      // The model and its aliases at this entry's providers (the router accepts those too).
      const aliases = this.backends.flatMap(
        (b) => b.provider.ir.models.find((m) => m.name === match.value)?.aliases ?? [],
      );
      return [match.value, ...aliases];
    }
    const names = new Set<string>();
    for (const backend of this.backends) {
      // A rewritten backend serves whatever the client names; list the name it sends.
      const offered = backend.model !== undefined ? [backend.model] : backend.provider.modelNames();
      for (const name of offered) if (!glob || glob(name)) names.add(name);
    }
    return [...names];
  }
}

/**
 * The AI plan of an entry whose backends are all AI providers; undefined for any other entry.
 * Throws when a backend names a provider the snapshot does not define.
 */
export function compileAIPlan(
  ir: RouteEntryIR,
  upstreams: UpstreamSet,
  providers: ReadonlyMap<string, CompiledProvider>,
): AIPlan | undefined {
  if (ir.action.kind !== 'forward' || ir.action.backends.length === 0) return undefined;
  const clusters = ir.action.backends.map((b) => upstreams.get(b.clusterId));
  if (!clusters.every((c) => c?.ir.kind === 'ai-provider')) return undefined;
  const backends = ir.action.backends.map((b, i): AIBackend => {
    const provider = providers.get(b.clusterId);
    if (!provider) throw new Error(`backend ${b.clusterId} is an AI provider the snapshot does not define`);
    return {
      key: `${provider.id}#${b.model ?? ''}`,
      provider,
      cluster: clusters[i]!,
      weight: b.weight,
      priority: b.priority ?? 0,
      model: b.model,
    };
  });
  return new AIPlan(backends, ir.loadBalancing?.type);
}
