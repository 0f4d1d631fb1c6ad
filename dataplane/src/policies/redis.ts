// The Redis-backed stores, in their own entry point: importing it loads ioredis, which a data
// plane without --redis never needs (main.ts imports this module dynamically).

export { RedisBudgetStore, type RedisBudgetStoreOptions } from './budgets/redis-budget-store.ts';
export { RedisRateLimitStore, type RedisRateLimitStoreOptions } from './redis-store.ts';
