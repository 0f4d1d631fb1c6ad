// Request rate limits with GCRA (the generic cell rate algorithm): per key one number, the
// theoretical arrival time (TAT). Each request moves it by window/limit; a request is refused when
// that would put the TAT more than one window ahead of now. It allows a burst of `limit` and then
// a steady `limit` per window, and needs no timers. The store is an interface so a shared store
// (Redis, with the same arithmetic in a script) can replace the in-process one.

export interface RateLimitRequest {
  /** The counter: policy, limit name and the key's value. */
  key: string;
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  /** Requests still allowed right now after this one. */
  remaining: number;
  /** Milliseconds until the counter is back to the full limit. */
  resetMs: number;
  /** When refused: milliseconds until one more request would pass. */
  retryAfterMs: number;
}

export interface RateLimitStore {
  /**
   * Counts one request against every limit, all or nothing: when one refuses, none is charged.
   * Results are in the order of `requests`.
   */
  acquire(requests: readonly RateLimitRequest[]): Promise<RateLimitResult[]> | RateLimitResult[];
}

// Float noise in window/limit must not refuse the limit-th request of a burst.
const EPSILON = 1e-6;

export class LocalRateLimitStore implements RateLimitStore {
  readonly #tats = new Map<string, number>();
  readonly #now: () => number;
  #operations = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Synchronous: in one process, check-and-charge cannot interleave, so limits are exact. */
  acquire(requests: readonly RateLimitRequest[]): RateLimitResult[] {
    const now = this.#now();
    if (++this.#operations % 1024 === 0) this.#sweep(now);
    const results = requests.map((r) => {
      const interval = r.windowMs / r.limit;
      const tat = Math.max(this.#tats.get(r.key) ?? now, now);
      const next = tat + interval;
      const ahead = next - now;
      if (ahead > r.windowMs + EPSILON) {
        return {
          allowed: false,
          limit: r.limit,
          remaining: 0,
          resetMs: tat - now,
          retryAfterMs: ahead - r.windowMs,
          next,
        };
      }
      const remaining = Math.max(0, Math.floor((r.windowMs - ahead + EPSILON) / interval));
      return { allowed: true, limit: r.limit, remaining, resetMs: ahead, retryAfterMs: 0, next };
    });
    const allowed = results.every((r) => r.allowed);
    if (allowed) {
      requests.forEach((r, i) => {
        this.#tats.set(r.key, results[i]!.next);
      });
    }
    return results.map(({ next: _next, ...result }) => result);
  }

  /** Forgets counters that are back to full, so idle keys do not accumulate. */
  #sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }
}
