export {
  type Admission,
  type AdmitInput,
  type ChainContext,
  compilePolicyChain,
  type PolicyChain,
  type Refusal,
  type RequestContext,
  type TokenUsage,
} from './chain.ts';
export { type CallerIdentity, ConsumerDirectory, hashAPIKey } from './consumers.ts';
export { identityHeaders } from './forwarding.ts';
export {
  LocalRateLimitStore,
  type RateLimitRequest,
  type RateLimitResult,
  type RateLimitStore,
} from './rate-limit.ts';
export {
  BudgetUnavailableError,
  type FailureMode,
  RateLimitUnavailableError,
  StoreUnavailableError,
} from './store-errors.ts';
// The Redis-backed stores are in ./redis.ts, imported only when --redis is configured.
