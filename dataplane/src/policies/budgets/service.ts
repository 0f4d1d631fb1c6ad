// Budgets as the data plane runs them: the store (in process or Redis), outliving snapshots, and
// what they report — Prometheus gauges read from the store at scrape time, counters of refusals
// and store failures, and log lines (at most one per budget key per minute). Every budget series
// carries the same labels (observability/labels.ts): the budget `<namespace>/<policy>/<budget>`,
// `per`, and the key in the label of its scope (consumer `<namespace>/<name>`, team or tenant);
// bounded by configuration, since Consumers declare their teams and tenants.
import type { Logger } from '@tollgate/telemetry';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type BudgetScopeLabels, budgetLabel, budgetScopeLabels } from '../../observability/labels.ts';
import type { FailureMode } from '../store-errors.ts';
import type { BudgetLine, BudgetStore, BudgetUsage } from './store.ts';

const LOG_EVERY_MS = 60_000;
const MAX_LOGGED_KEYS = 10_000;

type Series = BudgetScopeLabels & { budget: string; unit: string };
type ScopeLabel = 'budget' | keyof BudgetScopeLabels;
/** tollgate_budget_used_ratio's labels. */
export type BudgetRatioLabel = ScopeLabel;

export class BudgetService {
  readonly store: BudgetStore;
  readonly #logger: Logger | undefined;
  readonly #exceeded: Counter<ScopeLabel | 'mode'> | undefined;
  readonly #failures: Counter<'mode'> | undefined;
  readonly #lastLogged = new Map<string, number>();
  readonly #usedRatio: Gauge<ScopeLabel> | undefined;
  /** The store read in flight: the three gauges of one scrape share it. */
  #scrape: Promise<Map<string, Series & { spent: number; reserved: number; limit: number }>> | undefined;

  constructor(
    store: BudgetStore,
    options: {
      registry?: Registry;
      logger?: Logger;
      /** tollgate_budget_used_ratio, set from each reservation's view of the counter. */
      usedRatio?: Gauge<ScopeLabel>;
    } = {},
  ) {
    this.store = store;
    this.#logger = options.logger;
    this.#usedRatio = options.usedRatio;
    const { registry } = options;
    if (!registry) return;
    const labelNames = ['budget', 'per', 'consumer', 'team', 'tenant', 'unit'] as const;
    const gauge = (
      name: string,
      help: string,
      pick: (r: { spent: number; reserved: number; limit: number }) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: async function (this: Gauge<(typeof labelNames)[number]>) {
          this.reset();
          for (const row of (await service.#rows()).values()) {
            const { spent, reserved, limit, ...labels } = row;
            this.set(labels, pick({ spent, reserved, limit }));
          }
        },
      });
    const service = this;
    gauge(
      'tollgate_budget_spent',
      'Spent in the current period (tokens, or micro-units of the currency for cost budgets), by budget (namespace/policy/name) and key (consumer namespace/name, team or tenant, as per says).',
      (r) => r.spent,
    );
    gauge(
      'tollgate_budget_reserved',
      'Reserved by requests in flight, as tollgate_budget_spent.',
      (r) => r.reserved,
    );
    gauge('tollgate_budget_limit', 'The limit of one key of the budget, in the same unit.', (r) => r.limit);
    this.#exceeded = new Counter({
      name: 'tollgate_budget_exceeded_total',
      help: 'Requests refused by an enforced budget (mode enforce) or that a shadow budget would have refused (mode shadow).',
      labelNames: ['budget', 'per', 'consumer', 'team', 'tenant', 'mode'],
      registers: [registry],
    });
    this.#failures = new Counter({
      name: 'tollgate_budget_store_failures_total',
      help: 'Budget decisions taken without the shared store, by failure mode (open: admitted unmetered, closed: refused).',
      labelNames: ['mode'],
      registers: [registry],
    });
  }

  usage(): Promise<BudgetUsage[]> {
    return Promise.resolve(this.store.usage());
  }

  exceeded(line: BudgetLine, mode: 'enforce' | 'shadow'): void {
    this.#exceeded?.inc({ ...lineLabels(line), mode });
    if (!this.#shouldLog(`${mode} ${line.key}`)) return;
    this.#logger?.warn(
      { budget: line.budget, per: line.per, subject: line.subject, limit: line.limit, unit: line.unit, mode },
      mode === 'shadow' ? 'shadow budget exceeded (request admitted)' : 'budget exceeded (request refused)',
    );
  }

  /** A reservation saw the counter: spent share of the limit, by budget and key. */
  observed(line: BudgetLine, spent: number): void {
    if (!this.#usedRatio || line.limit <= 0) return;
    this.#usedRatio.set(lineLabels(line), Math.min(1, spent / line.limit));
  }

  settled(_lines: readonly BudgetLine[], _spent: readonly number[]): void {
    // Gauges read the store at scrape time; nothing to update per request.
  }

  storeFailed(error: Error, mode: FailureMode): void {
    this.#failures?.labels(mode).inc();
    if (!this.#shouldLog(`store ${mode}`)) return;
    this.#logger?.warn({ err: error, failureMode: mode }, 'budget store unavailable');
  }

  async close(): Promise<void> {
    await this.store.close?.();
  }

  #shouldLog(key: string): boolean {
    const now = Date.now();
    const last = this.#lastLogged.get(key);
    if (last !== undefined && now - last < LOG_EVERY_MS) return false;
    if (this.#lastLogged.size >= MAX_LOGGED_KEYS) this.#lastLogged.clear();
    this.#lastLogged.set(key, now);
    return true;
  }

  #rows() {
    if (this.#scrape) return this.#scrape;
    const now = Date.now();
    const rows = this.usage().then(
      (usage) => {
        const out = new Map<string, Series & { spent: number; reserved: number; limit: number }>();
        for (const u of usage) {
          if (u.windowEnd <= now) continue;
          const series: Series = {
            ...lineLabels(u),
            unit: u.unit === 'cost' ? (u.currency ?? 'USD') : 'tokens',
          };
          // One row per budget key; two windows of a key can only meet across a period boundary.
          const id = `${u.budget}\u0000${u.per}\u0000${u.subject}`;
          const row = out.get(id) ?? { ...series, spent: 0, reserved: 0, limit: u.limit };
          row.spent += u.spent;
          row.reserved += u.reserved;
          out.set(id, row);
        }
        return out;
      },
      () => new Map(),
    );
    this.#scrape = rows;
    // Cleared once read: the next scrape reads the store afresh.
    void rows.then(() => {
      setImmediate(() => {
        if (this.#scrape === rows) this.#scrape = undefined;
      });
    });
    return rows;
  }
}

/** The budget and scope labels of one key of a budget. */
function lineLabels(line: { budget: string; per: string; subject: string }): Record<ScopeLabel, string> {
  return { budget: budgetLabel(line.budget), ...budgetScopeLabels(line.per, line.subject) };
}

/** GET /budgets on the admin port: every key of the current periods, soonest reset first. */
export async function budgetReport(service: BudgetService): Promise<{ budgets: unknown[] }> {
  const usage = await service.usage();
  const now = Date.now();
  return {
    budgets: usage
      .filter((u) => u.windowEnd > now)
      .sort((a, b) => a.windowEnd - b.windowEnd || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((u) => ({
        budget: u.budget,
        per: u.per,
        subject: u.subject,
        unit: u.unit,
        ...(u.currency ? { currency: u.currency } : {}),
        limit: u.limit,
        spent: u.spent,
        reserved: u.reserved,
        remaining: Math.max(0, u.limit - u.spent - u.reserved),
        windowEnd: new Date(u.windowEnd).toISOString(),
        key: u.key,
      })),
  };
}
