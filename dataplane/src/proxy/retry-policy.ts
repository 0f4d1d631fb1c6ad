// A route entry's retry policy, compiled once per snapshot: which failures are retried, how long
// to back off, and which requests may be retried at all.
import type { RetryIR } from '@tollgate/snapshot';

/** What went wrong with one attempt, in the vocabulary of `retryOn`. */
export type AttemptFailure =
  | { kind: 'connect-failure' }
  | { kind: 'reset' }
  | { kind: 'timeout' }
  | { kind: 'status'; status: number };

/** Methods that may be repeated without changing the outcome (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class RetryPolicy {
  readonly ir: RetryIR;
  readonly #on: ReadonlySet<string>;

  constructor(ir: RetryIR) {
    this.ir = ir;
    this.#on = new Set(ir.retryOn);
  }

  get attempts(): number {
    return this.ir.attempts;
  }

  /** The retryOn condition a failure meets, or undefined when it is not to be retried. */
  condition(failure: AttemptFailure): string | undefined {
    if (failure.kind !== 'status') return this.#on.has(failure.kind) ? failure.kind : undefined;
    const { status } = failure;
    if (status >= 500) {
      if (this.#on.has('5xx')) return '5xx';
      if ((status === 502 || status === 503 || status === 504) && this.#on.has('gateway-error'))
        return 'gateway-error';
      return undefined;
    }
    if (status === 409 && this.#on.has('retriable-4xx')) return 'retriable-4xx';
    if (status === 429 && this.#on.has('rate-limited')) return 'rate-limited';
    return undefined;
  }

  /** Whether a status is worth holding the response for (it might be retried). */
  retriesStatus(status: number): boolean {
    return status >= 409 && this.condition({ kind: 'status', status }) !== undefined;
  }

  /**
   * Whether a request of this method may be sent again after `failure`. A failed connect never
   * reached the upstream, so it is always safe; anything else may have been processed, which only
   * idempotent methods tolerate unless retryNonIdempotent says otherwise.
   */
  methodAllows(method: string, failure: AttemptFailure): boolean {
    return failure.kind === 'connect-failure' || this.ir.retryNonIdempotent || IDEMPOTENT.has(method);
  }

  /** Exponential back-off with full jitter before retry number `retry` (1-based). */
  backoffMs(retry: number): number {
    const ceiling = Math.min(this.ir.backoffMaxMs, this.ir.backoffBaseMs * 2 ** (retry - 1));
    return Math.floor(Math.random() * ceiling);
  }
}
