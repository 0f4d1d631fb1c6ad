// One compiled snapshot: router, upstream set and per-entry plans. Requests lease the generation
// they started with, so a swap never changes a request midway, and pools that only an old
// generation used are closed once its last request is done.
import type { Snapshot } from '@tollgate/snapshot';
import type { RouteMetrics } from './observability/index.ts';
import { compileRoutePlan, type Lease, type ProxyConfig, type RoutePlan } from './proxy/index.ts';
import { compileRouter, type Router } from './router/index.ts';
import { type PoolRegistry, UpstreamSet } from './upstream/index.ts';

export interface CompileOptions {
  pools: PoolRegistry;
  routeMetrics(routeId: string): RouteMetrics;
  timeouts?: { headersMs: number; idleMs: number };
}

export class Generation implements ProxyConfig, Lease {
  readonly snapshot: Snapshot;
  readonly router: Router<RoutePlan>;
  readonly appliedAt = new Date();
  readonly #upstreams: UpstreamSet;
  #leases = 0;
  #retired = false;

  /** Throws when any part of the snapshot cannot be compiled; nothing is left open then. */
  constructor(snapshot: Snapshot, options: CompileOptions) {
    this.snapshot = snapshot;
    this.#upstreams = new UpstreamSet(snapshot.clusters, options.pools);
    try {
      const context = {
        upstreams: this.#upstreams,
        routeMetrics: options.routeMetrics,
        defaults: options.timeouts,
      };
      this.router = compileRouter(snapshot, (entry) => compileRoutePlan(entry, context));
    } catch (error) {
      this.#upstreams.release();
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
    if (this.#retired && this.#leases === 0) this.#upstreams.release();
  }

  /** No new request will use this generation; its pools go back once the last one finishes. */
  retire(): void {
    this.#retired = true;
    if (this.#leases === 0) this.#upstreams.release();
  }
}
