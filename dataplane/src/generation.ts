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
import { buildRouter, type Router, runInSlices, runToEnd } from './router/index.ts';
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

/** Marks the construction that `Generation.build` finishes in slices. */
const IN_SLICES = Symbol('in slices');
/** The longest stretch of compiling between two turns of the event loop in `Generation.build`. */
const SLICE_MS = 2;

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
  readonly appliedAt = new Date();
  readonly #upstreams: UpstreamSet;
  readonly #providers: Providers;
  readonly #policyContext: PolicyContext;
  /** What the plans were compiled with besides the snapshot (never the previous generation). */
  readonly #inputs: Omit<CompileOptions, 'previous'>;
  #leases = 0;
  #retired = false;
  #upstreamsReleased = false;
  #router: Router<RoutePlan> | undefined;
  /** Between the constructor and the end of `build`: the router still to compile. */
  #routerSteps: Generator<void, Router<RoutePlan>> | undefined;

  /**
   * Compiles the generation in slices of a couple of milliseconds with a turn of the event loop
   * between them, so requests keep being served meanwhile; the result is the same as the
   * constructor's. Rejects when any part of the snapshot cannot be compiled (nothing is left open).
   */
  static async build(snapshot: Snapshot, options: CompileOptions): Promise<Generation> {
    const generation = new Generation(snapshot, options, IN_SLICES);
    await generation.#finish();
    return generation;
  }

  /** Throws when any part of the snapshot cannot be compiled; nothing is left open then. */
  constructor(snapshot: Snapshot, options: CompileOptions, mode?: typeof IN_SLICES) {
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
      const steps = buildRouter(
        snapshot,
        (entry) => compileRoutePlan(entry, context),
        {
          modelAliases: (entry) => modelAliases(entry, providers),
          previous: samePlans ? previous.router : undefined,
        },
        mode === IN_SLICES ? SLICE_MS : Number.POSITIVE_INFINITY,
      );
      if (mode === IN_SLICES) {
        this.#routerSteps = steps;
        return;
      }
      this.#router = runToEnd(steps);
      this.#upstreams.activate();
    } catch (error) {
      this.#releaseUpstreams();
      throw error;
    }
  }

  async #finish(): Promise<void> {
    try {
      this.#router = await runInSlices(this.#routerSteps!);
      this.#upstreams.activate();
    } catch (error) {
      this.#releaseUpstreams();
      throw error;
    } finally {
      this.#routerSteps = undefined;
    }
  }

  get router(): Router<RoutePlan> {
    return this.#router!;
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
