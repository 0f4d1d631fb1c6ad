// How the data plane's Redis-backed stores (rate limits, budgets) connect: commands queue while
// (re)connecting, but the command timeout bounds how long a request waits and no command is
// retried, so a slow Redis costs a request at most one command timeout. Loaded only through
// redis.ts, like the stores.
import { Redis } from 'ioredis';
import type { FailureMode } from './store-errors.ts';

/** What every Redis-backed store is configured with. */
export interface RedisStoreOptions {
  url: string;
  /** Per command; past it Redis counts as unreachable. Default 250 ms. */
  commandTimeoutMs?: number;
  /** Prefix of every key (each store has its own default). */
  keyPrefix?: string;
  /** Called when Redis failed, with what the store did about it (admitted: open, refused: closed). */
  onFailure?: (error: Error, mode: FailureMode) => void;
}

export function connectRedis(url: string, commandTimeoutMs = 250): Redis {
  const redis = new Redis(url, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    disconnectTimeout: 100,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  redis.on('error', () => {
    // Reported per call through the errors the callers see; the client reconnects by itself.
  });
  return redis;
}

/**
 * A connection on which each Lua script is a command of its name: ioredis sends it by hash and
 * loads it once when Redis does not know it, so every call is one round trip and atomic.
 */
export function connectWithScripts<Commands extends object>(
  url: string,
  commandTimeoutMs: number | undefined,
  scripts: Record<keyof Commands & string, string>,
): Redis & Commands {
  const redis = connectRedis(url, commandTimeoutMs);
  for (const [name, lua] of Object.entries<string>(scripts)) redis.defineCommand(name, { lua });
  return redis as Redis & Commands;
}
