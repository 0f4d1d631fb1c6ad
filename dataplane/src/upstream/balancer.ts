// Load balancing building blocks, compiled per snapshot.

/**
 * Smooth weighted round robin (the nginx algorithm): deterministic, and it interleaves picks
 * instead of bunching them (weights 5:1:1 give a a b a c a a, not a a a a a b c), so every window
 * of `sum(weights)` picks honours the weights exactly. Items with weight 0 are never picked.
 */
export class WeightedPicker<T> {
  readonly #items: T[];
  readonly #weights: number[];
  readonly #current: number[];
  readonly #total: number;

  constructor(items: ReadonlyArray<{ item: T; weight: number }>) {
    const positive = items.filter((i) => i.weight > 0);
    this.#items = positive.map((i) => i.item);
    this.#weights = positive.map((i) => i.weight);
    this.#current = positive.map(() => 0);
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
  }

  get size(): number {
    return this.#items.length;
  }

  pick(): T | undefined {
    const n = this.#items.length;
    if (n <= 1) return this.#items[0];
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.#current[i]! += this.#weights[i]!;
      if (this.#current[i]! > this.#current[best]!) best = i;
    }
    this.#current[best]! -= this.#total;
    return this.#items[best];
  }
}

/** Plain round robin. */
export class RoundRobin<T> {
  readonly #items: readonly T[];
  #next = 0;

  constructor(items: readonly T[]) {
    this.#items = items;
  }

  get size(): number {
    return this.#items.length;
  }

  pick(): T | undefined {
    const n = this.#items.length;
    if (n <= 1) return this.#items[0];
    const item = this.#items[this.#next];
    this.#next = (this.#next + 1) % n;
    return item;
  }
}
