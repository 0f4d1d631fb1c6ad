// Global rate limits shared by data-plane pods: the GCRA of LocalRateLimitStore, run in Redis as
// one Lua script per call so check-and-charge is atomic across pods and across the several
// limits of a request. The script reads Redis's own clock (TIME), so pods' clocks do not matter,
// and every counter carries a TTL that ends when it is back to full.
import type { Redis } from 'ioredis';
import {
  LocalRateLimitStore,
  type RateLimitRequest,
  type RateLimitResult,
  type RateLimitStore,
} from './rate-limit.ts';
import { connectWithScripts, type RedisStoreOptions } from './redis-connection.ts';
import { type FailureMode, RateLimitUnavailableError } from './store-errors.ts';

// ARGV per request: limit, windowMs, cost. Returns per request: allowed, remaining, resetMs,
// retryAfterMs (as strings: Redis would truncate Lua floats to integers).
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local eps = 1e-6
local out, nexts, costs, ok = {}, {}, {}, true
for i = 1, #KEYS do
  local limit, window, cost = tonumber(ARGV[i*3-2]), tonumber(ARGV[i*3-1]), tonumber(ARGV[i*3])
  local interval = window / limit
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local nxt = tat + interval * cost
  local ahead = nxt - now
  local over
  if cost == 0 then over = ahead >= window - eps else over = ahead > window + eps end
  if over then
    ok = false
    local retry = ahead - window
    if cost == 0 then retry = retry + interval end
    out[#out+1] = '0'; out[#out+1] = '0'
    out[#out+1] = string.format('%.3f', tat - now); out[#out+1] = string.format('%.3f', retry)
  else
    out[#out+1] = '1'; out[#out+1] = tostring(math.floor((window - ahead + eps) / interval))
    out[#out+1] = string.format('%.3f', ahead); out[#out+1] = '0'
  end
  nexts[i] = nxt; costs[i] = cost
end
if ok then
  for i = 1, #KEYS do
    if costs[i] > 0 then
      redis.call('SET', KEYS[i], string.format('%.3f', nexts[i]), 'PX', math.ceil(nexts[i] - now) + 1000)
    end
  end
end
return out
`;

const CHARGE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
for i = 1, #KEYS do
  local limit, window, cost = tonumber(ARGV[i*3-2]), tonumber(ARGV[i*3-1]), tonumber(ARGV[i*3])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local nxt = tat + window / limit * cost
  redis.call('SET', KEYS[i], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now) + 1000)
end
return 1
`;

/** `keyPrefix` defaults to `tollgate:rl:`. */
export interface RedisRateLimitStoreOptions extends RedisStoreOptions {
  /**
   * When Redis does not answer in time: admit (open) or refuse with 503 (closed). A limit whose
   * policy says `failureMode: closed` fails closed either way. Default open.
   */
  failureMode?: FailureMode;
}

interface RateLimitScripts {
  tgAcquire(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  tgCharge(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis & RateLimitScripts;
  readonly #failureMode: FailureMode;
  readonly #prefix: string;
  readonly #onFailure: ((error: Error, mode: FailureMode) => void) | undefined;
  readonly #local = new LocalRateLimitStore();

  constructor(options: RedisRateLimitStoreOptions) {
    this.#failureMode = options.failureMode ?? 'open';
    this.#prefix = options.keyPrefix ?? 'tollgate:rl:';
    this.#onFailure = options.onFailure;
    this.#redis = connectWithScripts<RateLimitScripts>(options.url, options.commandTimeoutMs, {
      tgAcquire: ACQUIRE,
      tgCharge: CHARGE,
    });
  }

  /**
   * All or nothing across both stores: `scope: local` limits are taken in process first (they
   * are synchronous); when a shared limit then refuses, the local charge is given back.
   */
  async acquire(requests: readonly RateLimitRequest[]): Promise<RateLimitResult[]> {
    const local = requests.filter((r) => r.scope === 'local');
    if (local.length === requests.length) return this.#local.acquire(requests);
    const shared = requests.filter((r) => r.scope !== 'local');
    const localResults = local.length > 0 ? this.#local.acquire(local) : [];
    if (localResults.some((r) => !r.allowed)) {
      // Not evaluated in Redis; the refusing local result is what the caller reports.
      return merge(requests, localResults, shared.map(untouched));
    }
    let sharedResults: RateLimitResult[];
    try {
      sharedResults = await this.#acquireShared(shared);
    } catch (error) {
      this.#local.charge(local.map(refund));
      throw error;
    }
    if (sharedResults.some((r) => !r.allowed)) this.#local.charge(local.map(refund));
    return merge(requests, localResults, sharedResults);
  }

  async #acquireShared(requests: readonly RateLimitRequest[]): Promise<RateLimitResult[]> {
    let reply: string[];
    try {
      reply = await this.#redis.tgAcquire(requests.length, ...this.#keys(requests), ...argv(requests));
    } catch (error) {
      const closed = this.#failureMode === 'closed' || requests.some((r) => r.failureMode === 'closed');
      const mode: FailureMode = closed ? 'closed' : 'open';
      this.#onFailure?.(error as Error, mode);
      if (closed) throw new RateLimitUnavailableError((error as Error).message, { cause: error });
      return requests.map(untouched);
    }
    return requests.map((r, i) => ({
      allowed: reply[i * 4] === '1',
      limit: r.limit,
      remaining: Number(reply[i * 4 + 1]),
      resetMs: Number(reply[i * 4 + 2]),
      retryAfterMs: Number(reply[i * 4 + 3]),
    }));
  }

  async charge(requests: readonly RateLimitRequest[]): Promise<void> {
    const local = requests.filter((r) => r.scope === 'local');
    if (local.length > 0) this.#local.charge(local);
    const shared = requests.filter((r) => r.scope !== 'local');
    if (shared.length === 0) return;
    try {
      await this.#redis.tgCharge(shared.length, ...this.#keys(shared), ...argv(shared));
    } catch (error) {
      // Tokens already spent cannot be refused; a lost charge only loosens the limit.
      this.#onFailure?.(error as Error, 'open');
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  #keys(requests: readonly RateLimitRequest[]): string[] {
    return requests.map((r) => this.#prefix + r.key);
  }
}

/** A result that charged nothing: shown for limits not evaluated, or admitted by fail-open. */
function untouched(r: RateLimitRequest): RateLimitResult {
  return { allowed: true, limit: r.limit, remaining: r.limit, resetMs: 0, retryAfterMs: 0 };
}

function refund(r: RateLimitRequest): RateLimitRequest {
  return { ...r, cost: -(r.cost ?? 1) };
}

/** Results back in the order of `requests`, from the local and the shared ones. */
function merge(
  requests: readonly RateLimitRequest[],
  local: readonly RateLimitResult[],
  shared: readonly RateLimitResult[],
): RateLimitResult[] {
  let l = 0;
  let g = 0;
  return requests.map((r) => (r.scope === 'local' ? local[l++]! : shared[g++]!));
}

function argv(requests: readonly RateLimitRequest[]): number[] {
  return requests.flatMap((r) => [r.limit, r.windowMs, r.cost ?? 1]);
}
