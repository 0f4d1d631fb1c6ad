// Per-provider cool-downs: a provider that answered 429 (or 503 with Retry-After) is skipped until
// the time it asked for has passed, so fallbacks do not keep knocking on a door that said "later".
// Kept by the data plane across snapshots (a config change does not reset a provider's limits).

/** A 429 without Retry-After still rests the provider briefly. */
export const DEFAULT_COOLDOWN_MS = 1_000;

export class CoolDowns {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  start(providerId: string, ms: number): void {
    if (ms <= 0) return;
    const until = this.#now() + ms;
    if ((this.#until.get(providerId) ?? 0) < until) this.#until.set(providerId, until);
  }

  /** Milliseconds left, 0 when the provider may be used. */
  remaining(providerId: string): number {
    const until = this.#until.get(providerId);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left > 0) return left;
    this.#until.delete(providerId);
    return 0;
  }
}
