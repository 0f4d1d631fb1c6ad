// One compiled snapshot: router, upstream set and per-entry plans. Requests lease the generation
// they started with, so a swap never changes a request midway, and pools that only an old
// generation used are closed once its last request is done.
import type { RouteEntryIR, Snapshot } from '@tollgate/snapshot';
import { compileAIPlan, compileProviders } from './ai/index.ts';
import type { RouteMetrics } from './observability/index.ts';
import { compileEdgeSteps } from './policies/edge/index.ts';
import { compileRouteGuardrails } from './policies/guardrails/index.ts';
import {
  type BudgetService,
  ConsumerDirectory,
  compilePolicyChain,
  LocalRateLimitStore,
  type RateLimitStore,
} from './policies/index.ts';
import { compileRoutePlan, type Lease, type ProxyConfig, type RoutePlan } from './proxy/index.ts';
import type { ResponseCacheStore } from './response/index.ts';
import { compileRouter, type Router } from './router/index.ts';
import { type PoolRegistry, UpstreamSet } from './upstream/index.ts';

export interface CompileOptions {
  pools: PoolRegistry;
  routeMetrics(routeId: string): RouteMetrics;
  timeouts?: { headersMs: number; idleMs: number };
  /** Rate-limit counters; they outlive snapshots. Default: one in-process store per pool registry. */
  rateLimits?: RateLimitStore;
  /** Budget counters and reports; they outlive snapshots. Absent ⇒ budgets are not enforced. */
  budgets?: BudgetService;
  /** The process's HTTP response cache (Policy cache); it outlives snapshots. */
  responseCache?: ResponseCacheStore;
  /**
   * The generation this one replaces, to take over what is unchanged from it (see above). Its
   * `routeMetrics` must give the same object for a route id as this one's.
   */
  previous?: Generation | undefined;
}

type Providers = ReturnType<typeof compileProviders>;
type PolicyContext = Parameters<typeof compilePolicyChain>[1];

// Counters must survive snapshot swaps; the pool registry lives as long as the data plane does.
const localStores = new WeakMap<PoolRegistry, RateLimitStore>();
function defaultRateLimitStore(pools: PoolRegistry): RateLimitStore {
  let store = localStores.get(pools);
  if (!store) {
    store = new LocalRateLimitStore();
    localStores.set(pools, store);
  }
  return store;
}

export class Generation implements ProxyConfig, Lease {
  readonly snapshot: Snapshot;
  readonly router: Router<RoutePlan>;
  readonly appliedAt = new Date();
  readonly #upstreams: UpstreamSet;
  readonly #providers: Providers;
  readonly #policyContext: PolicyContext;
  /** What the plans were compiled with besides the snapshot (never the previous generation). */
  readonly #inputs: Omit<CompileOptions, 'previous'>;
  #leases = 0;
  #retired = false;
  #upstreamsReleased = false;

  /** Throws when any part of the snapshot cannot be compiled; nothing is left open then. */
  constructor(snapshot: Snapshot, options: CompileOptions) {
    this.snapshot = snapshot;
    const { previous: candidate, ...inputs } = options;
    this.#inputs = inputs;
    // A retired generation may have given its pools back already: nothing is taken from it.
    const previous = candidate && !candidate.#retired ? candidate : undefined;
    const sameUpstreams =
      previous !== undefined &&
      previous.snapshot.clusters === snapshot.clusters &&
      previous.#inputs.pools === options.pools;
    this.#upstreams = sameUpstreams
      ? previous.#upstreams.retain()
      : new UpstreamSet(snapshot.clusters, options.pools);
    try {
      const sameProviders = previous !== undefined && previous.snapshot.aiProviders === snapshot.aiProviders;
      const providers = sameProviders ? previous.#providers : compileProviders(snapshot.aiProviders);
      this.#providers = providers;
      const rateLimits = options.rateLimits ?? defaultRateLimitStore(options.pools);
      const samePolicyContext =
        previous !== undefined &&
        previous.snapshot.consumers === snapshot.consumers &&
        previous.#policyContext.rateLimits === rateLimits &&
        previous.#policyContext.budgets === options.budgets;
      const policyContext: PolicyContext = samePolicyContext
        ? previous.#policyContext
        : { consumers: new ConsumerDirectory(snapshot.consumers), rateLimits, budgets: options.budgets };
      this.#policyContext = policyContext;
      const samePlans =
        sameUpstreams &&
        sameProviders &&
        samePolicyContext &&
        previous.snapshot.policies === snapshot.policies &&
        previous.#inputs.responseCache === options.responseCache &&
        previous.#inputs.timeouts?.headersMs === options.timeouts?.headersMs &&
        previous.#inputs.timeouts?.idleMs === options.timeouts?.idleMs;
      const context = {
        compilePolicy: (ir: RouteEntryIR) => compilePolicyChain(ir.policy, policyContext),
        compileGuardrails: (ir: RouteEntryIR) => compileRouteGuardrails(ir.policy),
        compileEdge: (ir: RouteEntryIR) =>
          compileEdgeSteps(ir.edge, { responseCache: options.responseCache }),
        upstreams: this.#upstreams,
        routeMetrics: options.routeMetrics,
        defaults: options.timeouts,
        compileAI: (ir: RouteEntryIR) => compileAIPlan(ir, this.#upstreams, providers),
      };
      this.router = compileRouter(snapshot, (entry) => compileRoutePlan(entry, context), {
        modelAliases: (entry) => modelAliases(entry, providers),
        previous: samePlans ? previous.router : undefined,
      });
      this.#upstreams.activate();
    } catch (error) {
      this.#releaseUpstreams();
      throw error;
    }
  }

  get version(): string {
    return this.snapshot.version;
  }

  get inflight(): number {
    return this.#leases;
  }

  lease(): Lease {
    this.#leases++;
    return this;
  }

  release(): void {
    this.#leases--;
    if (this.#retired && this.#leases === 0) this.#releaseUpstreams();
  }

  /** No new request will use this generation; its pools go back once the last one finishes. */
  retire(): void {
    this.#retired = true;
    if (this.#leases === 0) this.#releaseUpstreams();
  }

  /** Once per generation: the upstream set may be shared with the generations around it. */
  #releaseUpstreams(): void {
    if (this.#upstreamsReleased) return;
    this.#upstreamsReleased = true;
    this.#upstreams.release();
  }
}

/** The aliases, at the entry's own providers, of the model its Exact model match names. */
function modelAliases(entry: RouteEntryIR, providers: ReturnType<typeof compileProviders>): string[] {
  const match = entry.match.model;
  if (match?.type !== 'Exact' || entry.action.kind !== 'forward') return [];
  const aliases: string[] = [];
  for (const backend of entry.action.backends) {
    const model = providers.get(backend.clusterId)?.ir.models.find((m) => m.name === match.value);
    if (model) aliases.push(...model.aliases);
  }
  return aliases;
}
