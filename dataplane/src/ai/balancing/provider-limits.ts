// An AIProvider's limits as this data plane enforces them, per pod: requests in flight, requests
// per minute and tokens per minute. A provider over a limit is treated like one that answered 429:
// the request falls to the next backend, or gets 429 with Retry-After when none is left.
// Kept by the gateway across snapshots (a config change does not refill a spent minute).
import { performance } from 'node:perf_hooks';

export interface ProviderLimitSettings {
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
  maxConcurrentRequests?: number | undefined;
}

export type LimitReason = 'concurrency' | 'requests-per-minute' | 'tokens-per-minute';

export type Admission =
  | { ok: true; permit: ProviderPermit }
  | { ok: false; reason: LimitReason; retryAfterMs: number };

export interface ProviderPermit {
  /** Ends the request: frees its concurrency slot and charges the tokens it used (idempotent). */
  release(tokens?: number): void;
}

const MINUTE_MS = 60_000;
/** A full concurrency slot frees when some request ends; ask callers to come back soon. */
const CONCURRENCY_RETRY_MS = 1_000;

/** A bucket refilled continuously at `perMinute`, holding at most one minute's worth. */
class MinuteBucket {
  level: number;
  at: number;
  constructor(perMinute: number, now: number) {
    this.level = perMinute;
    this.at = now;
  }
  refill(perMinute: number, now: number): void {
    this.level = Math.min(perMinute, this.level + ((now - this.at) * perMinute) / MINUTE_MS);
    this.at = now;
  }
  /** Milliseconds until the level reaches `need`. */
  waitFor(need: number, perMinute: number): number {
    return Math.max(1, Math.ceil(((need - this.level) * MINUTE_MS) / perMinute));
  }
}

interface State {
  inFlight: number;
  requests?: MinuteBucket;
  tokens?: MinuteBucket;
}

export class ProviderLimits {
  readonly #states = new Map<string, State>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  #state(providerId: string): State {
    let state = this.#states.get(providerId);
    if (!state) {
      state = { inFlight: 0 };
      this.#states.set(providerId, state);
    }
    return state;
  }

  /** Whether a request could start now (for ordering; does not take anything). */
  available(providerId: string, limits: ProviderLimitSettings | undefined): boolean {
    return limits === undefined || this.#check(providerId, limits) === undefined;
  }

  #check(
    providerId: string,
    limits: ProviderLimitSettings,
  ): { reason: LimitReason; retryAfterMs: number } | undefined {
    const state = this.#state(providerId);
    const now = this.#now();
    const { maxConcurrentRequests: max, requestsPerMinute: rpm, tokensPerMinute: tpm } = limits;
    if (max !== undefined && state.inFlight >= max)
      return { reason: 'concurrency', retryAfterMs: CONCURRENCY_RETRY_MS };
    if (rpm !== undefined) {
      state.requests ??= new MinuteBucket(rpm, now);
      state.requests.refill(rpm, now);
      if (state.requests.level < 1)
        return { reason: 'requests-per-minute', retryAfterMs: state.requests.waitFor(1, rpm) };
    }
    if (tpm !== undefined) {
      state.tokens ??= new MinuteBucket(tpm, now);
      state.tokens.refill(tpm, now);
      // Tokens are known only afterwards: a request may start while any are left, and its
      // usage is charged when it ends (the level may go below zero, delaying the next ones).
      if (state.tokens.level <= 0)
        return { reason: 'tokens-per-minute', retryAfterMs: state.tokens.waitFor(1, tpm) };
    }
    return undefined;
  }

  /** Takes a slot (and a request from the minute's budget) or says which limit is reached. */
  admit(providerId: string, limits: ProviderLimitSettings | undefined): Admission {
    const state = this.#state(providerId);
    if (limits) {
      const refused = this.#check(providerId, limits);
      if (refused) return { ok: false, ...refused };
      if (state.requests) state.requests.level -= 1;
    }
    state.inFlight++;
    let released = false;
    return {
      ok: true,
      permit: {
        release: (tokens) => {
          if (released) return;
          released = true;
          state.inFlight--;
          if (tokens && state.tokens && limits?.tokensPerMinute) {
            state.tokens.refill(limits.tokensPerMinute, this.#now());
            state.tokens.level -= tokens;
          }
        },
      },
    };
  }
}
