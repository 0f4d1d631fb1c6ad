// Usage analysis without new infrastructure: a rolling, in-memory aggregation of requests, tokens
// and cost per consumer, model, provider and route, answered by the admin endpoint GET /usage.
// Memory is bounded: one bucket per minute over the retention, and at most `maxKeysPerBucket`
// distinct keys per dimension in a bucket (the rest are summed under "(other)").
import { z } from 'zod';
import type { AccessRecord } from './access-log.ts';

export const USAGE_DIMENSIONS = ['consumer', 'model', 'provider', 'route'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
export const USAGE_SORTS = ['tokens', 'cost', 'requests'] as const;
export type UsageSort = (typeof USAGE_SORTS)[number];

export const OTHER_KEY = '(other)';
const ANONYMOUS_KEY = '(anonymous)';
const BUCKET_MS = 60_000;

interface Totals {
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  /** Micro-units by currency. */
  cost: Record<string, number>;
}

export interface UsageRow {
  key: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  /** Cost by currency, in units (not micro-units). */
  cost: Record<string, number>;
}

export interface UsageReport {
  by: UsageDimension;
  sort: UsageSort;
  windowSeconds: number;
  /** Oldest data the window actually covers (retention or process start may cut it). */
  from: string;
  to: string;
  rows: UsageRow[];
  /** Sum over every key, the ones past `limit` included. */
  total: Omit<UsageRow, 'key'>;
}

interface Bucket {
  start: number;
  dims: Record<UsageDimension, Map<string, Totals>>;
}

export interface UsageAggregatorOptions {
  /** How far back /usage can look. Default 24 h. */
  retentionMs?: number;
  /** Distinct keys kept per dimension per minute. Default 1,000. */
  maxKeysPerBucket?: number;
  now?: () => number;
}

export class UsageAggregator {
  readonly #buckets: Bucket[] = [];
  readonly #retentionMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #startedAt: number;

  constructor(options: UsageAggregatorOptions = {}) {
    this.#retentionMs = options.retentionMs ?? 24 * 3600_000;
    this.#maxKeys = options.maxKeysPerBucket ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  get retentionMs(): number {
    return this.#retentionMs;
  }

  record(record: AccessRecord): void {
    const bucket = this.#current();
    const { ai } = record;
    const keys: Record<UsageDimension, string | undefined> = {
      consumer: record.consumer ?? ANONYMOUS_KEY,
      route: record.route,
      model: ai ? (ai.model ?? ai.requestModel) : undefined,
      provider: ai?.provider,
    };
    for (const dim of USAGE_DIMENSIONS) {
      const key = keys[dim];
      if (key === undefined) continue;
      const map = bucket.dims[dim];
      let totals = map.get(key);
      if (!totals) {
        const slot = map.size >= this.#maxKeys ? OTHER_KEY : key;
        totals = map.get(slot);
        if (!totals) {
          totals = { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cost: {} };
          map.set(slot, totals);
        }
      }
      totals.requests++;
      if (record.status >= 500) totals.errors++;
      if (ai) {
        totals.inputTokens += ai.inputTokens;
        totals.outputTokens += ai.outputTokens;
        if (ai.costMicros !== undefined && ai.currency !== undefined)
          totals.cost[ai.currency] = (totals.cost[ai.currency] ?? 0) + ai.costMicros;
      }
    }
  }

  /** The top `limit` keys of a dimension over the last `windowMs`, by the chosen figure. */
  top(by: UsageDimension, windowMs: number, limit: number, sort: UsageSort = 'tokens'): UsageReport {
    const now = this.#now();
    this.#expire(now);
    const since = now - Math.min(windowMs, this.#retentionMs);
    const merged = new Map<string, Totals>();
    for (const bucket of this.#buckets) {
      if (bucket.start + BUCKET_MS <= since) continue;
      for (const [key, t] of bucket.dims[by]) {
        const into = merged.get(key) ?? { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, cost: {} };
        into.requests += t.requests;
        into.errors += t.errors;
        into.inputTokens += t.inputTokens;
        into.outputTokens += t.outputTokens;
        for (const [currency, micros] of Object.entries(t.cost))
          into.cost[currency] = (into.cost[currency] ?? 0) + micros;
        merged.set(key, into);
      }
    }
    const rows = [...merged].map(([key, t]) => toRow(key, t));
    const figure = (row: UsageRow): number =>
      sort === 'cost'
        ? Object.values(row.cost).reduce((a, b) => a + b, 0)
        : sort === 'requests'
          ? row.requests
          : row.totalTokens;
    rows.sort((a, b) => figure(b) - figure(a) || b.requests - a.requests || a.key.localeCompare(b.key));
    const total = rows.reduce<Omit<UsageRow, 'key'>>(
      (sum, row) => {
        sum.requests += row.requests;
        sum.errors += row.errors;
        sum.inputTokens += row.inputTokens;
        sum.outputTokens += row.outputTokens;
        sum.totalTokens += row.totalTokens;
        for (const [currency, value] of Object.entries(row.cost))
          sum.cost[currency] = round6((sum.cost[currency] ?? 0) + value);
        return sum;
      },
      { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, totalTokens: 0, cost: {} },
    );
    return {
      by,
      sort,
      windowSeconds: Math.round(windowMs / 1000),
      from: new Date(Math.max(since, this.#startedAt)).toISOString(),
      to: new Date(now).toISOString(),
      rows: rows.slice(0, limit),
      total,
    };
  }

  /** Keys held across every bucket and dimension (what bounds memory). */
  get keyCount(): number {
    let n = 0;
    for (const bucket of this.#buckets) for (const dim of USAGE_DIMENSIONS) n += bucket.dims[dim].size;
    return n;
  }

  #current(): Bucket {
    const now = this.#now();
    const start = now - (now % BUCKET_MS);
    const last = this.#buckets.at(-1);
    if (last && last.start === start) return last;
    this.#expire(now);
    const bucket: Bucket = {
      start,
      dims: { consumer: new Map(), model: new Map(), provider: new Map(), route: new Map() },
    };
    this.#buckets.push(bucket);
    return bucket;
  }

  #expire(now: number): void {
    const oldest = now - this.#retentionMs - BUCKET_MS;
    let drop = 0;
    while (drop < this.#buckets.length && this.#buckets[drop]!.start < oldest) drop++;
    if (drop > 0) this.#buckets.splice(0, drop);
  }
}

function toRow(key: string, t: Totals): UsageRow {
  const cost: Record<string, number> = {};
  for (const [currency, micros] of Object.entries(t.cost)) cost[currency] = round6(micros / 1_000_000);
  return {
    key,
    requests: t.requests,
    errors: t.errors,
    inputTokens: t.inputTokens,
    outputTokens: t.outputTokens,
    totalTokens: t.inputTokens + t.outputTokens,
    cost,
  };
}

function round6(value: number): number {
  return Math.round(value * 1_000_000) / 1_000_000;
}

const DURATION = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;

/** "90s", "15m", "1h", "7d" → milliseconds; undefined when malformed. */
export function parseWindow(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const UsageQuery = z.object({
  by: z.enum(USAGE_DIMENSIONS).default('consumer'),
  window: z
    .string()
    .default('1h')
    .refine((w) => parseWindow(w) !== undefined, 'window: a duration like 15m, 1h or 24h'),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
  sort: z.enum(USAGE_SORTS).default('tokens'),
});

/** GET /usage on the admin port: query parameters in, a report (or a 400 naming the bad parameter) out. */
export function answerUsage(
  usage: UsageAggregator,
  params: URLSearchParams,
): { status: number; body: unknown } {
  const parsed = UsageQuery.safeParse(Object.fromEntries(params));
  if (!parsed.success) {
    return {
      status: 400,
      body: { error: { code: 'TG_ERR_BAD_REQUEST', message: z.prettifyError(parsed.error) } },
    };
  }
  const { by, window, limit, sort } = parsed.data;
  return { status: 200, body: usage.top(by, parseWindow(window)!, limit, sort) };
}
