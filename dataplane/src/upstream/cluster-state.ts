// Per-process state of one upstream cluster, shared by every snapshot that has the cluster:
// endpoint states, the availability version balancers rebuild on, the concurrency limits
// (circuit breaking) and the retry budget, passive outlier detection and the active health checker.
import type { ClusterIR, HealthCheckIR, OutlierDetectionIR, UpstreamLimitsIR } from '@tollgate/snapshot';
import { EndpointState } from './endpoint-state.ts';
import { HealthChecker, type ProbeTarget } from './health-checker.ts';

export type Admission = 'admitted' | 'queued' | 'overflow';

export interface UpstreamEvents {
  /** An endpoint left rotation: its circuit opened (outlier) or it failed its health checks. */
  ejected(cluster: string, reason: 'outlier' | 'health_check'): void;
  overflow(cluster: string): void;
  /** Availability of some endpoint of the cluster changed. */
  changed(cluster: ClusterState): void;
  /** An endpoint (or, without address, the whole cluster) is gone. */
  removed(cluster: string, address?: string): void;
}

export class ClusterState {
  readonly id: string;
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #events: UpstreamEvents | undefined;
  #version = 0;
  #outlier: OutlierDetectionIR | undefined;
  #limits: UpstreamLimitsIR | undefined;
  #checker: HealthChecker | undefined;
  #checkerKey = '';
  /** Requests holding a concurrency slot, and those waiting for one. */
  active = 0;
  readonly #pending: Array<() => void> = [];
  /** Retries in flight, for the retry budget. */
  retriesActive = 0;

  constructor(id: string, events?: UpstreamEvents) {
    this.id = id;
    this.#events = events;
  }

  /** Bumped whenever an endpoint's availability changes. */
  get version(): number {
    return this.#version;
  }

  get limits(): UpstreamLimitsIR | undefined {
    return this.#limits;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  endpoint(address: string): EndpointState {
    let state = this.#endpoints.get(address);
    if (!state) {
      state = new EndpointState(address);
      this.#endpoints.set(address, state);
    }
    return state;
  }

  endpoints(): EndpointState[] {
    return [...this.#endpoints.values()];
  }

  /** Applies a snapshot's settings for this cluster (the newest snapshot wins). */
  configure(ir: ClusterIR, probeTargets: readonly ProbeTarget[]): void {
    const resilience = ir.resilience;
    this.#outlier = resilience?.outlierDetection;
    this.#limits = resilience?.limits;
    // Endpoints the newest snapshot dropped are forgotten.
    const wanted = new Set(probeTargets.map((t) => t.state.address));
    for (const [address, state] of this.#endpoints) {
      if (!wanted.has(address)) {
        state.stop();
        this.#endpoints.delete(address);
        this.#events?.removed(this.id, address);
      }
    }
    this.#restartChecker(resilience?.healthCheck, ir, probeTargets);
    this.changed();
  }

  changed(): void {
    this.#version++;
    this.#events?.changed(this);
  }

  // ---- concurrency limits -------------------------------------------------------------------

  /**
   * Takes a concurrency slot (maxRequests), waits for one while fewer than maxPendingRequests
   * wait, or refuses. `granted` runs once a queued request gets its slot; every admitted or
   * granted request must call `release()` exactly once.
   */
  admit(granted: () => void): Admission {
    const max = this.#limits?.maxRequests;
    if (max === undefined || this.active < max) {
      this.active++;
      return 'admitted';
    }
    if (this.#pending.length < (this.#limits?.maxPendingRequests ?? 0)) {
      this.#pending.push(granted);
      return 'queued';
    }
    this.#events?.overflow(this.id);
    return 'overflow';
  }

  /** Withdraws a queued request (its client left). */
  withdraw(granted: () => void): void {
    const i = this.#pending.indexOf(granted);
    if (i !== -1) this.#pending.splice(i, 1);
  }

  release(): void {
    const next = this.#pending.shift();
    if (next) next();
    else this.active--;
  }

  /** Whether one more retry fits the budget: `percent` of active requests, at least `min`. */
  retryAllowed(percent: number, min: number): boolean {
    return this.retriesActive < Math.max(min, (this.active * percent) / 100);
  }

  // ---- passive outlier detection --------------------------------------------------------------

  /** One attempt's outcome: `failed` for 5xx, connect failures, resets and timeouts. */
  report(state: EndpointState, failed: boolean): void {
    if (!failed) {
      state.consecutiveErrors = 0;
      if (state.circuit === 'half-open') {
        // Probation passed: the circuit closes; the back-off shrinks again with each good spell.
        state.circuit = 'closed';
        state.ejections = Math.max(0, state.ejections - 1);
      }
      return;
    }
    const outlier = this.#outlier;
    if (!outlier || state.circuit === 'open') return;
    state.consecutiveErrors++;
    // On probation one failure is enough to open the circuit again, for longer.
    if (state.circuit !== 'half-open' && state.consecutiveErrors < outlier.consecutiveErrors) return;
    if (!this.#mayEject(outlier)) return;
    state.eject(outlier, () => this.changed());
    this.#events?.ejected(this.id, 'outlier');
    this.changed();
  }

  #mayEject(outlier: OutlierDetectionIR): boolean {
    const all = this.endpoints();
    const open = all.filter((s) => s.circuit === 'open').length;
    // At least one endpoint may always be ejected (unless the share is 0).
    const cap =
      outlier.maxEjectionPercent === 0
        ? 0
        : Math.max(1, Math.floor((all.length * outlier.maxEjectionPercent) / 100));
    return open < cap;
  }

  // ---- active health checks ------------------------------------------------------------------

  #restartChecker(config: HealthCheckIR | undefined, ir: ClusterIR, targets: readonly ProbeTarget[]): void {
    const key = config ? JSON.stringify([config, ir.authority, targets.map((t) => t.state.address)]) : '';
    if (key === this.#checkerKey) return;
    this.#checker?.stop();
    this.#checker = undefined;
    this.#checkerKey = key;
    if (!config) {
      // Without active checks nothing would ever mark an endpoint healthy again.
      for (const state of this.#endpoints.values()) state.activeHealthy = true;
      return;
    }
    this.#checker = new HealthChecker(config, ir.authority, targets, (state) => {
      if (!state.activeHealthy) this.#events?.ejected(this.id, 'health_check');
      this.changed();
    });
  }

  stop(): void {
    this.#checker?.stop();
    for (const state of this.#endpoints.values()) {
      state.stop();
      this.#events?.removed(this.id, state.address);
    }
    this.#events?.removed(this.id);
    for (const granted of this.#pending.splice(0)) granted();
  }
}

/** The cluster states of a data plane, reference-counted by the snapshots that use them. */
export class ClusterStates {
  readonly #states = new Map<string, { state: ClusterState; refs: number }>();
  events: UpstreamEvents | undefined;

  acquire(id: string): ClusterState {
    let entry = this.#states.get(id);
    if (!entry) {
      entry = { state: new ClusterState(id, this.events), refs: 0 };
      this.#states.set(id, entry);
    }
    entry.refs++;
    return entry.state;
  }

  release(id: string): void {
    const entry = this.#states.get(id);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    entry.state.stop();
    this.#states.delete(id);
  }

  all(): ClusterState[] {
    return [...this.#states.values()].map((e) => e.state);
  }

  stopAll(): void {
    for (const { state } of this.#states.values()) state.stop();
    this.#states.clear();
  }
}
