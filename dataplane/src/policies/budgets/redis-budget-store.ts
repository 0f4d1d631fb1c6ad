// Budgets shared by data-plane pods: LocalBudgetStore's behaviour in Redis, one Lua script per
// call so that reserving across the budgets of a request is atomic against every other pod. A
// key is a hash (spent, reserved, one field per hold, the hold with the key's partial grant, and
// what the admin API shows) beside a sorted set of hold ids by expiry; scripts read Redis's own
// clock (TIME) to expire holds.
import type { Redis } from 'ioredis';
import { connectWithScripts, type RedisStoreOptions } from '../redis-connection.ts';
import {
  type BudgetGrant,
  type BudgetLine,
  type BudgetStore,
  type BudgetUsage,
  HOLD_TTL_MS,
  KEY_GRACE_MS,
} from './store.ts';

// Shared by both scripts: drop holds that expired (their pod never settled).
const EXPIRE_HOLDS = `
local function expire_holds(h, z, now)
  local ids = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  for _, id in ipairs(ids) do
    local amount = tonumber(redis.call('HGET', h, 'h:' .. id) or '0')
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -amount))
    redis.call('HDEL', h, 'h:' .. id)
    redis.call('ZREM', z, id)
    if redis.call('HGET', h, 'partial') == id then redis.call('HDEL', h, 'partial') end
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: hash, holds per line. ARGV: holdId, holdTtlMs, then per line (9): want, limit, enforce,
// expireAt, budget, per, subject, unit, currency, windowEnd → 10. Returns per line: allowed,
// granted, spent, reserved, partialInFlight. A partial grant (isPartialGrant in store.ts) is
// refused while another hold of the key has one.
const RESERVE = `${EXPIRE_HOLDS}
local hold, ttl = ARGV[1], tonumber(ARGV[2])
local n = #KEYS / 2
local rows, ok = {}, true
for i = 1, n do
  local h, z = KEYS[2*i-1], KEYS[2*i]
  expire_holds(h, z, now)
  local b = 2 + (i-1) * 10
  local want, limit, enforce = tonumber(ARGV[b+1]), tonumber(ARGV[b+2]), ARGV[b+3] == '1'
  local spent = tonumber(redis.call('HGET', h, 'spent') or '0')
  local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
  local room = limit - spent - reserved
  local granted = want
  local partial, busy = false, false
  if enforce then
    partial = room < want or want >= limit
    busy = room > 0 and partial and redis.call('HEXISTS', h, 'partial') == 1
    if room <= 0 or busy then ok = false end
    granted = math.max(0, math.min(want, room))
  end
  rows[i] = { granted, spent, reserved, partial, busy }
end
local out = {}
for i = 1, n do
  local h, z = KEYS[2*i-1], KEYS[2*i]
  local b = 2 + (i-1) * 10
  local granted = ok and rows[i][1] or 0
  if ok then
    redis.call('HINCRBY', h, 'reserved', string.format('%d', granted))
    redis.call('HSET', h, 'h:' .. hold, string.format('%d', granted), 'limit', ARGV[b+2], 'budget', ARGV[b+5],
      'per', ARGV[b+6], 'subject', ARGV[b+7], 'unit', ARGV[b+8], 'currency', ARGV[b+9], 'windowEnd', ARGV[b+10])
    redis.call('ZADD', z, now + ttl, hold)
    if rows[i][4] then redis.call('HSET', h, 'partial', hold) end
    redis.call('PEXPIREAT', h, ARGV[b+4])
    redis.call('PEXPIREAT', z, ARGV[b+4])
  end
  out[#out+1] = ok and 1 or 0
  out[#out+1] = granted
  out[#out+1] = rows[i][2]
  out[#out+1] = rows[i][3]
  out[#out+1] = rows[i][5] and 1 or 0
end
return out
`;

// KEYS: hash, holds per line. ARGV: holdId, then per line: spent, expireAt.
const SETTLE = `${EXPIRE_HOLDS}
local hold = ARGV[1]
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2*i-1], KEYS[2*i]
  expire_holds(h, z, now)
  local amount = redis.call('HGET', h, 'h:' .. hold)
  if amount then
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -tonumber(amount)))
    redis.call('HDEL', h, 'h:' .. hold)
    redis.call('ZREM', z, hold)
  end
  if redis.call('HGET', h, 'partial') == hold then redis.call('HDEL', h, 'partial') end
  local spent = tonumber(ARGV[2*i])
  if spent > 0 then
    redis.call('HINCRBY', h, 'spent', string.format('%d', spent))
    redis.call('PEXPIREAT', h, ARGV[2*i+1])
  end
end
return 1
`;

/** `keyPrefix` defaults to `tollgate:budget:`. */
export type RedisBudgetStoreOptions = RedisStoreOptions;

interface BudgetScripts {
  tgBudgetReserve(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
  tgBudgetSettle(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

const HOLDS_SUFFIX = ':holds';

export class RedisBudgetStore implements BudgetStore {
  readonly #redis: Redis & BudgetScripts;
  readonly #prefix: string;
  readonly #onFailure: RedisBudgetStoreOptions['onFailure'];

  constructor(options: RedisBudgetStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'tollgate:budget:';
    this.#onFailure = options.onFailure;
    this.#redis = connectWithScripts<BudgetScripts>(options.url, options.commandTimeoutMs, {
      tgBudgetReserve: RESERVE,
      tgBudgetSettle: SETTLE,
    });
  }

  /** Throws when Redis does not answer; the guard decides by each budget's failure mode. */
  async reserve(holdId: string, lines: readonly BudgetLine[]): Promise<BudgetGrant[]> {
    const args: Array<string | number> = [holdId, HOLD_TTL_MS];
    for (const l of lines) {
      args.push(
        l.want,
        l.limit,
        l.enforce ? 1 : 0,
        l.windowEnd + KEY_GRACE_MS,
        l.budget,
        l.per,
        l.subject,
        l.unit,
        l.currency ?? '',
        l.windowEnd,
      );
    }
    const reply = await this.#redis.tgBudgetReserve(lines.length * 2, ...this.#keys(lines), ...args);
    return lines.map((_l, i) => ({
      allowed: reply[i * 5] === 1,
      granted: Number(reply[i * 5 + 1]),
      spent: Number(reply[i * 5 + 2]),
      reserved: Number(reply[i * 5 + 3]),
      partialInFlight: reply[i * 5 + 4] === 1,
    }));
  }

  async settle(holdId: string, lines: readonly BudgetLine[], spent: readonly number[]): Promise<void> {
    const args: Array<string | number> = [holdId];
    lines.forEach((l, i) => {
      args.push(Math.max(0, Math.round(spent[i] ?? 0)), l.windowEnd + KEY_GRACE_MS);
    });
    try {
      await this.#redis.tgBudgetSettle(lines.length * 2, ...this.#keys(lines), ...args);
    } catch (error) {
      // Spent tokens cannot be refused; a lost settlement only loosens the budget (and its hold
      // expires by itself).
      this.#onFailure?.(error as Error, 'open');
    }
  }

  async usage(): Promise<BudgetUsage[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.#redis.scan(cursor, 'MATCH', `${this.#prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of found) if (!key.endsWith(HOLDS_SUFFIX)) keys.push(key);
    } while (cursor !== '0');
    keys.sort();
    const pipeline = this.#redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const replies = (await pipeline.exec()) ?? [];
    const now = Date.now();
    return keys.flatMap((key, i) => {
      const h = (replies[i]?.[1] ?? {}) as Record<string, string>;
      if (!h.budget) return [];
      const windowEnd = Number(h.windowEnd);
      if (windowEnd + KEY_GRACE_MS <= now) return [];
      return [
        {
          key: key.slice(this.#prefix.length),
          budget: h.budget,
          per: h.per ?? '',
          subject: h.subject ?? '',
          unit: h.unit ?? '',
          ...(h.currency ? { currency: h.currency } : {}),
          limit: Number(h.limit),
          spent: Number(h.spent ?? 0),
          reserved: Number(h.reserved ?? 0),
          windowEnd,
        },
      ];
    });
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  #keys(lines: readonly BudgetLine[]): string[] {
    return lines.flatMap((l) => [this.#prefix + l.key, this.#prefix + l.key + HOLDS_SUFFIX]);
  }
}
