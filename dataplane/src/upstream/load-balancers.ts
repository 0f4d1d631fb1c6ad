// Endpoint load balancers. Every algorithm implements one interface over a fixed list of hosts
// (the available ones, rebuilt only when availability changes), so the per-request pick is cheap
// and the same conformance suite covers them all (test/upstream/load-balancers.test.ts).
import type { LoadBalancerIR } from '@tollgate/snapshot';
import type { EndpointState } from './endpoint-state.ts';
import { hash32 } from './hash.ts';

export interface Balanced {
  readonly state: EndpointState;
}

export interface PickContext {
  /** The consistent-hash key of the request; undefined ⇒ hashing balancers pick at random. */
  hashKey?: string | undefined;
}

export interface LoadBalancer<T extends Balanced> {
  pick(context: PickContext): T | undefined;
}

export type BalancerType = LoadBalancerIR['type'];

export type BalancerFactory = <T extends Balanced>(hosts: readonly T[]) => LoadBalancer<T>;

const randomIndex = (n: number): number => Math.floor(Math.random() * n);

class RoundRobinBalancer<T extends Balanced> implements LoadBalancer<T> {
  readonly #hosts: readonly T[];
  #next: number;
  constructor(hosts: readonly T[]) {
    this.#hosts = hosts;
    // Start at a random host so many data planes do not all hit the first endpoint first.
    this.#next = hosts.length > 0 ? randomIndex(hosts.length) : 0;
  }
  pick(): T | undefined {
    const n = this.#hosts.length;
    if (n <= 1) return this.#hosts[0];
    const host = this.#hosts[this.#next];
    this.#next = (this.#next + 1) % n;
    return host;
  }
}

class RandomBalancer<T extends Balanced> implements LoadBalancer<T> {
  readonly #hosts: readonly T[];
  constructor(hosts: readonly T[]) {
    this.#hosts = hosts;
  }
  pick(): T | undefined {
    return this.#hosts.length <= 1 ? this.#hosts[0] : this.#hosts[randomIndex(this.#hosts.length)];
  }
}

/** Power of two choices: of two distinct random hosts, the one with less `cost`. */
class TwoChoicesBalancer<T extends Balanced> implements LoadBalancer<T> {
  readonly #hosts: readonly T[];
  readonly #cost: (state: EndpointState) => number;
  constructor(hosts: readonly T[], cost: (state: EndpointState) => number) {
    this.#hosts = hosts;
    this.#cost = cost;
  }
  pick(): T | undefined {
    const n = this.#hosts.length;
    if (n <= 1) return this.#hosts[0];
    const i = randomIndex(n);
    const j = (i + 1 + randomIndex(n - 1)) % n;
    const a = this.#hosts[i]!;
    const b = this.#hosts[j]!;
    return this.#cost(b.state) < this.#cost(a.state) ? b : a;
  }
}

const leastRequestCost = (state: EndpointState): number => state.inFlight;

/**
 * Peak EWMA: latency times load. An unmeasured host costs nothing until it answers once, so new
 * endpoints get tried; a host whose latency spikes is avoided until the spike decays.
 */
const peakEwmaCost = (state: EndpointState): number => state.latencyMs * (state.inFlight + 1);

/** A hash ring with virtual nodes; a key goes to the first node clockwise of its hash. */
class RingHashBalancer<T extends Balanced> implements LoadBalancer<T> {
  static readonly VNODES = 160;
  readonly #hosts: readonly T[];
  readonly #points: Uint32Array;
  readonly #owners: Uint32Array;

  constructor(hosts: readonly T[]) {
    this.#hosts = hosts;
    const nodes: Array<[number, number]> = [];
    hosts.forEach((host, index) => {
      for (let v = 0; v < RingHashBalancer.VNODES; v++)
        nodes.push([hash32(`${host.state.address}#${v}`), index]);
    });
    nodes.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.#points = Uint32Array.from(nodes, (n) => n[0]);
    this.#owners = Uint32Array.from(nodes, (n) => n[1]);
  }

  pick({ hashKey }: PickContext): T | undefined {
    const n = this.#hosts.length;
    if (n <= 1) return this.#hosts[0];
    if (hashKey === undefined) return this.#hosts[randomIndex(n)];
    const h = hash32(hashKey);
    let lo = 0;
    let hi = this.#points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#hosts[this.#owners[lo === this.#points.length ? 0 : lo]!];
  }
}

/** Table sizes for Maglev: primes, the first at least 100 × the host count is used. */
const MAGLEV_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16_381, 32_749, 65_521];

/**
 * Maglev (Eisenbud et al., 2016): a lookup table filled by per-host permutations; even spread,
 * minimal disruption. The table grows with the host count (≥ 100 slots per host, up to 65,521),
 * so thousands of small backends do not each hold a large table.
 */
class MaglevBalancer<T extends Balanced> implements LoadBalancer<T> {
  readonly #hosts: readonly T[];
  readonly #table: Uint32Array;

  constructor(hosts: readonly T[]) {
    this.#hosts = hosts;
    const m = MAGLEV_SIZES.find((size) => size >= hosts.length * 100) ?? MAGLEV_SIZES.at(-1)!;
    this.#table = new Uint32Array(hosts.length <= 1 ? 0 : m);
    const n = hosts.length;
    if (n <= 1) return;
    const offsets = hosts.map((h) => hash32(h.state.address, 0x9e3779b9) % m);
    const skips = hosts.map((h) => (hash32(h.state.address, 0x85ebca6b) % (m - 1)) + 1);
    const next = new Array<number>(n).fill(0);
    const filled = new Uint8Array(m);
    let count = 0;
    while (count < m) {
      for (let i = 0; i < n && count < m; i++) {
        let slot = (offsets[i]! + next[i]! * skips[i]!) % m;
        while (filled[slot]) {
          next[i]!++;
          slot = (offsets[i]! + next[i]! * skips[i]!) % m;
        }
        this.#table[slot] = i;
        filled[slot] = 1;
        next[i]!++;
        count++;
      }
    }
  }

  pick({ hashKey }: PickContext): T | undefined {
    const n = this.#hosts.length;
    if (n <= 1) return this.#hosts[0];
    if (hashKey === undefined) return this.#hosts[randomIndex(n)];
    return this.#hosts[this.#table[hash32(hashKey) % this.#table.length]!];
  }
}

export const BALANCERS: Record<BalancerType, BalancerFactory> = {
  RoundRobin: (hosts) => new RoundRobinBalancer(hosts),
  Random: (hosts) => new RandomBalancer(hosts),
  LeastRequest: (hosts) => new TwoChoicesBalancer(hosts, leastRequestCost),
  PeakEWMA: (hosts) => new TwoChoicesBalancer(hosts, peakEwmaCost),
  RingHash: (hosts) => new RingHashBalancer(hosts),
  Maglev: (hosts) => new MaglevBalancer(hosts),
};

/**
 * A balancer over the available hosts of a cluster. Availability (active health, open circuits)
 * is read through `version`, bumped whenever it changes; the inner balancer is rebuilt then. Below
 * the panic threshold every host takes traffic again: better some errors than overloading the few
 * left.
 */
export class AvailabilityBalancer<T extends Balanced> {
  readonly #hosts: readonly T[];
  readonly #factory: BalancerFactory;
  readonly #panicPercent: number;
  readonly #version: () => number;
  #builtAt = 0;
  #inner: LoadBalancer<T>;
  #panic = false;

  constructor(hosts: readonly T[], factory: BalancerFactory, panicPercent: number, version: () => number) {
    this.#hosts = hosts;
    this.#factory = factory;
    this.#panicPercent = panicPercent;
    this.#version = version;
    this.#inner = this.#rebuild(version());
  }

  /** True when the last rebuild found too few hosts available. */
  get panic(): boolean {
    return this.#panic;
  }

  pick(context: PickContext): T | undefined {
    const version = this.#version();
    if (version !== this.#builtAt) this.#inner = this.#rebuild(version);
    return this.#inner.pick(context);
  }

  #rebuild(version: number): LoadBalancer<T> {
    this.#builtAt = version;
    const available = this.#hosts.filter((h) => h.state.available);
    const total = this.#hosts.length;
    this.#panic = total > 0 && available.length * 100 < total * this.#panicPercent;
    // With nothing available and no panic threshold, the balancer has nothing to offer (503).
    return this.#factory(this.#panic ? this.#hosts : available);
  }
}
