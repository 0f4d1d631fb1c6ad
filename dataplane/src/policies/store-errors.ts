// Errors of the shared (Redis) stores, kept apart from the stores themselves so the policy chain
// can recognise them without loading a Redis client: data planes without --redis never load one.
import { type ErrorCode, type ErrorParams, TollgateError } from '../errors.ts';

export type FailureMode = 'open' | 'closed';

/** A shared store did not answer and the policy fails closed; the chain answers with its code. */
export class StoreUnavailableError extends TollgateError {
  readonly params: ErrorParams;

  constructor(code: ErrorCode, params: ErrorParams, options?: ErrorOptions) {
    super(code, params, options);
    this.params = params;
  }
}

/** Thrown by a fail-closed rate-limit store when Redis does not answer; the chain turns it into a 503. */
export class RateLimitUnavailableError extends StoreUnavailableError {
  readonly reason: string;

  constructor(reason: string, options?: ErrorOptions) {
    super('TG_ERR_RATE_LIMIT_UNAVAILABLE', { reason }, options);
    this.reason = reason;
  }
}

/** Thrown when a budget that fails closed cannot be checked because Redis does not answer. */
export class BudgetUnavailableError extends StoreUnavailableError {
  constructor(budget: string, reason: string, options?: ErrorOptions) {
    super('TG_ERR_BUDGET_UNAVAILABLE', { budget, reason }, options);
  }
}
