// Retry delays: full jitter over an exponential ceiling, so many informers (and many controller
// replicas) that failed together do not retry together.

export interface BackoffOptions {
  /** Ceiling of the first delay. */
  initialMs?: number;
  /** Largest ceiling. */
  maxMs?: number;
}

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 500;
    this.#maxMs = options.maxMs ?? 30_000;
  }

  /** The delay before the next attempt: uniform in [0, min(max, initial·2^attempt)]. */
  next(): number {
    const ceiling = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(Math.random() * ceiling);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
