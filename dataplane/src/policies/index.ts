export {
  type BudgetGuard,
  type BudgetHold,
  compileBudgetGuard,
  type SpendDemand,
  type SpentUsage,
} from './budgets/guard.ts';
export { BudgetService, budgetReport } from './budgets/service.ts';
export {
  type BudgetGrant,
  type BudgetLine,
  type BudgetStore,
  type BudgetUsage,
  LocalBudgetStore,
} from './budgets/store.ts';
export { type Period, type PeriodWindow, periodWindow } from './budgets/windows.ts';
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
