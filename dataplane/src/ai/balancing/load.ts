// What this data plane knows about each AI backend's load: requests in flight and a peak EWMA of
// how long answers take. Kept by the gateway across snapshots, so a config change does not forget
// that a provider is slow or busy. Keys are backend keys (provider and model).
import { performance } from 'node:perf_hooks';

/** How fast old latency samples fade: after this long a sample weighs 1/e of a fresh one. */
export const LATENCY_DECAY_MS = 10_000;

interface Entry {
  inFlight: number;
  /** Peak EWMA of latency in ms; undefined until the first sample. */
  ewma: number | undefined;
  at: number;
}

export interface LoadView {
  inFlight(key: string): number;
  /** Peak EWMA latency in ms; undefined for a backend never measured. */
  latency(key: string): number | undefined;
}

export class BackendLoad implements LoadView {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #decayMs: number;

  constructor(options: { now?: () => number; decayMs?: number } = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#decayMs = options.decayMs ?? LATENCY_DECAY_MS;
  }

  #entry(key: string): Entry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { inFlight: 0, ewma: undefined, at: this.#now() };
      this.#entries.set(key, entry);
    }
    return entry;
  }

  inFlight(key: string): number {
    return this.#entries.get(key)?.inFlight ?? 0;
  }

  latency(key: string): number | undefined {
    return this.#entries.get(key)?.ewma;
  }

  /** Counts a request in flight; the returned function ends it (idempotent). */
  begin(key: string): () => void {
    const entry = this.#entry(key);
    entry.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.inFlight--;
    };
  }

  /**
   * Records how long an answer took (to its first byte; a failure counts with the time it cost).
   * Peak EWMA: a slower sample is taken at once, faster ones pull the average down gradually, so
   * a backend that turns slow is avoided quickly and trusted again slowly.
   */
  observe(key: string, ms: number): void {
    const entry = this.#entry(key);
    const now = this.#now();
    if (entry.ewma === undefined || ms > entry.ewma) entry.ewma = ms;
    else {
      const w = Math.exp(-Math.max(0, now - entry.at) / this.#decayMs);
      entry.ewma = entry.ewma * w + ms * (1 - w);
    }
    entry.at = now;
  }
}
