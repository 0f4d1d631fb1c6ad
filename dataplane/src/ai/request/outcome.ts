// How one attempt at a provider ended, and what that means for fallback: a failure another
// provider may not share moves on to the next candidate, a failure of the request itself is
// answered at once. Kept apart so the attempt, the loop and the writers agree on one vocabulary.
import type { AttemptOutcome } from '../meter.ts';
import type { ProviderError } from '../providers/types.ts';

/** How an attempt ended. */
export type Attempt =
  | { kind: 'done' }
  | { kind: 'client-gone' }
  /** The provider failed in a way another provider may not: try the next one. */
  | { kind: 'retry'; error: ProviderError }
  /** The request itself is the problem (or the provider refused it for good): answer now. */
  | { kind: 'final'; error: ProviderError };

const RETRIABLE = new Set<ProviderError['kind']>([
  'rate_limit',
  'overloaded',
  'server',
  'timeout',
  'connect',
]);
const SLOW_FAILURES = new Set<ProviderError['kind']>(['server', 'timeout', 'connect']);

/** A failure that cost time (timeout, broken connection, bad answer): it counts as a slow answer. */
export function isSlowFailure(error: ProviderError): boolean {
  return SLOW_FAILURES.has(error.kind);
}

export function final(status: number, kind: ProviderError['kind'], message: string): Attempt {
  return { kind: 'final', error: { status, kind, message } };
}

export function retryOrFinal(error: ProviderError): Attempt {
  return RETRIABLE.has(error.kind) ? { kind: 'retry', error } : { kind: 'final', error };
}

/** A provider answer the gateway cannot read: as bad as a server error, so the next one is tried. */
export function badResponse(message: string): ProviderError {
  return { status: 502, kind: 'server', message };
}

/** The metrics label of a failed attempt. */
export function outcomeOf(error: ProviderError): AttemptOutcome {
  switch (error.kind) {
    case 'rate_limit':
      return 'rate_limited';
    case 'overloaded':
      return 'overloaded';
    case 'timeout':
      return 'timeout';
    case 'connect':
      return 'connect_error';
    case 'server':
      return 'server_error';
    default:
      return 'rejected';
  }
}
