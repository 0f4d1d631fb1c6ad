// How the data plane's Redis-backed stores (rate limits, budgets) connect: commands queue while
// (re)connecting, but the command timeout bounds how long a request waits and no command is
// retried, so a slow Redis costs a request at most one command timeout. Loaded only through
// redis.ts, like the stores.
import { Redis } from 'ioredis';

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
