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
  /**
   * Units this request uses (default 1). 0 only checks that the key is under its limit: token
   * limits admit on that, and charge the tokens afterwards with `charge`.
   */
  cost?: number;
  /** `local`: counted in this process even when a shared store is configured. */
  scope?: 'local';
  /** `closed`: refused when the shared store does not answer (default: admitted). */
  failureMode?: 'closed';
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
  /** Charges used units unconditionally (tokens after a response); a key may go into debt. */
  charge(requests: readonly RateLimitRequest[]): Promise<void> | void;
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
      const cost = r.cost ?? 1;
      const next = tat + interval * cost;
      const ahead = next - now;
      const over = cost === 0 ? ahead >= r.windowMs - EPSILON : ahead > r.windowMs + EPSILON;
      if (over) {
        return {
          allowed: false,
          limit: r.limit,
          remaining: 0,
          resetMs: tat - now,
          retryAfterMs: cost === 0 ? ahead - r.windowMs + interval : ahead - r.windowMs,
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

  charge(requests: readonly RateLimitRequest[]): void {
    const now = this.#now();
    for (const r of requests) {
      const tat = Math.max(this.#tats.get(r.key) ?? now, now);
      this.#tats.set(r.key, tat + (r.windowMs / r.limit) * (r.cost ?? 1));
    }
  }

  /** Forgets counters that are back to full, so idle keys do not accumulate. */
  #sweep(now: number): void {
    for (const [key, tat] of this.#tats) if (tat <= now) this.#tats.delete(key);
  }
}
