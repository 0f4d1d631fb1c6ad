// Load-balancing strategies within one priority group of an AI rule's backends. Every strategy
// orders the group best first, with backends that may not take a request now (cooling down, at a
// limit) last, so callers try them only when nothing else is left.
import type { LoadView } from './load.ts';

export type BalancingType = 'Weighted' | 'LeastBusy' | 'LowestLatency';

export interface Balanced {
  /** Identifies the backend in the load view (provider and model). */
  readonly key: string;
  readonly weight: number;
}

export interface BalancingInput<T extends Balanced = Balanced> {
  load: LoadView;
  /** False for a backend that should not be tried first now (cooling down, at a limit). */
  available(backend: T): boolean;
}

export interface Balancer<T extends Balanced> {
  order(input: BalancingInput<T>): T[];
}

/**
 * Smooth weighted round robin over any subset of the group: the tie-breaker of every strategy,
 * so equal candidates share traffic by weight rather than always going to the first.
 */
class SmoothWeighted<T extends Balanced> {
  readonly #current = new Map<T, number>();

  pick(eligible: readonly T[]): T | undefined {
    if (eligible.length <= 1) return eligible[0];
    let total = 0;
    let best: T | undefined;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (const item of eligible) {
      const weight = Math.max(item.weight, 0);
      total += weight;
      const value = (this.#current.get(item) ?? 0) + weight;
      this.#current.set(item, value);
      if (value > bestValue) {
        best = item;
        bestValue = value;
      }
    }
    this.#current.set(best!, bestValue - total);
    return best;
  }
}

/** The picked backend, then the other available ones by score, then the unavailable ones. */
function arrange<T extends Balanced>(
  backends: readonly T[],
  input: BalancingInput<T>,
  score: (b: T) => number,
  rr: SmoothWeighted<T>,
): T[] {
  const ready = backends.filter((b) => input.available(b));
  const resting = backends.filter((b) => !input.available(b));
  const scores = new Map(ready.map((b) => [b, score(b)]));
  const best = Math.min(...scores.values());
  const first = rr.pick(ready.filter((b) => scores.get(b) === best));
  const rest = ready
    .filter((b) => b !== first)
    .sort((a, b) => scores.get(a)! - scores.get(b)! || b.weight - a.weight);
  return [...(first ? [first] : []), ...rest, ...resting.sort((a, b) => b.weight - a.weight)];
}

/** Traffic in proportion to weight. */
class WeightedBalancer<T extends Balanced> implements Balancer<T> {
  readonly #backends: readonly T[];
  readonly #rr = new SmoothWeighted<T>();
  constructor(backends: readonly T[]) {
    this.#backends = backends;
  }
  order(input: BalancingInput<T>): T[] {
    // Every available backend scores the same: the round robin alone decides, by weight.
    return arrange(this.#backends, input, () => 0, this.#rr);
  }
}

/** The backend with the fewest requests in flight from this data plane; ties by weight. */
class LeastBusyBalancer<T extends Balanced> implements Balancer<T> {
  readonly #backends: readonly T[];
  readonly #rr = new SmoothWeighted<T>();
  constructor(backends: readonly T[]) {
    this.#backends = backends;
  }
  order(input: BalancingInput<T>): T[] {
    return arrange(this.#backends, input, (b) => input.load.inFlight(b.key), this.#rr);
  }
}

/**
 * The backend expected to answer soonest: peak EWMA latency times (requests in flight + 1),
 * divided by weight. A backend never measured scores 0 while idle, so it is tried and gets a
 * latency; while that probe is in flight it scores worst, so one probe does not draw a burst.
 */
class LowestLatencyBalancer<T extends Balanced> implements Balancer<T> {
  readonly #backends: readonly T[];
  readonly #rr = new SmoothWeighted<T>();
  constructor(backends: readonly T[]) {
    this.#backends = backends;
  }
  order(input: BalancingInput<T>): T[] {
    const cost = (b: T): number => {
      const latency = input.load.latency(b.key);
      if (latency === undefined) return input.load.inFlight(b.key) === 0 ? 0 : Number.MAX_VALUE;
      return (latency * (input.load.inFlight(b.key) + 1)) / Math.max(b.weight, 1e-9);
    };
    return arrange(this.#backends, input, cost, this.#rr);
  }
}

export function createBalancer<T extends Balanced>(type: BalancingType, backends: readonly T[]): Balancer<T> {
  switch (type) {
    case 'LeastBusy':
      return new LeastBusyBalancer(backends);
    case 'LowestLatency':
      return new LowestLatencyBalancer(backends);
    default:
      return new WeightedBalancer(backends);
  }
}
