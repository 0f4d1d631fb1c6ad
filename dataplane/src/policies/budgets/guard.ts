// The budgets of a route entry (one Policy's `budgets` section), compiled once per snapshot. For
// a request it reserves the most the request can cost in every budget that counts the caller,
// all or nothing; the hold it returns settles with the metered usage once the response is over
// (or releases on failure) and tells a stream whether it still fits what was granted.
import { randomUUID } from 'node:crypto';
import type { BudgetIR, BudgetsIR } from '@tollgate/snapshot';
import type { Refusal } from '../chain.ts';
import type { CallerIdentity } from '../consumers.ts';
import type { BudgetService } from './service.ts';
import type { BudgetGrant, BudgetLine } from './store.ts';
import { periodWindow } from './windows.ts';

/** The most a request can use, as the AI gateway works it out before calling a provider. */
export interface SpendDemand {
  /** Prompt tokens (the gateway's estimate). */
  inputTokens: number;
  /** Most output tokens: the request's max_tokens, else the model's limit; Infinity if none. */
  maxOutputTokens: number;
  /** Most the tokens can cost in `currency` (micro-units) across the candidate models; 0 if none is priced in it. */
  costMicros(currency: string, inputTokens: number, outputTokens: number): number;
}

/** What the request was metered at. */
export interface SpentUsage {
  inputTokens: number;
  outputTokens: number;
  costMicros?: number | undefined;
  currency?: string | undefined;
}

export interface BudgetHold {
  /** Response headers (shadow budgets the request would have exceeded). */
  readonly headers: Record<string, string>;
  /** True when an enforced budget granted less than the most the request can cost. */
  readonly partial: boolean;
  /**
   * For a partial grant, the most output tokens that keep the request within what it was granted
   * (at least 1: the one partial grant a key has in flight may run past it); the provider is asked
   * for no more. Undefined when output does not need capping.
   */
  readonly outputCap: number | undefined;
  /** Whether `outputTokens` generated so far still fit every partial grant. */
  fits(outputTokens: number): boolean;
  /** The error a stream ends with when it no longer fits (in the caller's format). */
  cutRefusal(): Refusal;
  /** Once: charges the metered usage (undefined ⇒ nothing was served: a plain release). */
  settle(usage: SpentUsage | undefined): void;
}

export interface BudgetGuard {
  reserve(caller: CallerIdentity | undefined, demand: SpendDemand): Promise<BudgetHold | Refusal>;
}

const PERIOD_NOUN = { day: 'day', week: 'week', month: 'month' } as const;

export function compileBudgetGuard(ir: BudgetsIR, service: BudgetService): BudgetGuard {
  const budgets = ir.budgets.map((b) => ({ ir: b, label: `${ir.from}/${b.name}` }));

  function linesFor(caller: CallerIdentity | undefined, demand: SpendDemand, now: number): BudgetLine[] {
    return budgets.map(({ ir: b, label }) => {
      const subject = subjectOf(b, caller);
      const window = periodWindow(b.period, b.timeZone, now);
      const want = Math.min(
        b.limit,
        Math.ceil(amount(b, demand, demand.inputTokens, demand.maxOutputTokens)),
      );
      return {
        key: `${label}/${b.per}=${subject}@${window.id}`,
        budget: label,
        per: b.per,
        subject,
        unit: b.unit,
        ...(b.currency ? { currency: b.currency } : {}),
        limit: b.limit,
        windowEnd: window.end,
        want: Number.isFinite(want) ? want : b.limit,
        enforce: b.mode === 'enforce',
      };
    });
  }

  async function reserve(
    caller: CallerIdentity | undefined,
    demand: SpendDemand,
  ): Promise<BudgetHold | Refusal> {
    const lines = linesFor(caller, demand, Date.now());
    const holdId = randomUUID();
    let grants: BudgetGrant[];
    try {
      grants = await service.store.reserve(holdId, lines);
    } catch (error) {
      // The store did not answer: budgets that fail closed refuse; the others let the request
      // through unmetered by them (and say so in the log and metrics).
      const closed = budgets.find(({ ir: b }) => b.mode === 'enforce' && b.failureMode === 'closed');
      service.storeFailed(error as Error, closed ? 'closed' : 'open');
      if (closed) {
        return {
          code: 'TG_ERR_BUDGET_UNAVAILABLE',
          params: { budget: closed.ir.name, reason: (error as Error).message },
        };
      }
      return unmetered;
    }
    lines.forEach((l, i) => {
      service.observed(l, grants[i]!.spent);
    });
    const refusedAt = grants.findIndex((g) => !g.allowed);
    if (refusedAt >= 0) {
      const b = budgets[refusedAt]!.ir;
      const line = lines[refusedAt]!;
      const g = grants[refusedAt]!;
      service.exceeded(line, 'enforce');
      const spentSoFar = `${formatAmount(b, g.spent)} spent${g.reserved > 0 ? `, ${formatAmount(b, g.reserved)} reserved by requests in flight` : ''}`;
      if (g.partialInFlight) {
        // The rest of the period is held for a request that may use all of it: worth asking again
        // as soon as that request is over.
        const left = formatAmount(b, b.limit - g.spent - g.reserved);
        return {
          ...exceeded(
            b,
            line,
            `${spentSoFar}, limit ${formatAmount(b, b.limit)}; the ${left} left waits for a request in flight that may use it`,
          ),
          headers: { 'retry-after': '1' },
        };
      }
      return {
        ...exceeded(b, line, `${spentSoFar}, limit ${formatAmount(b, b.limit)}`),
        headers: { 'retry-after': String(Math.max(1, Math.ceil((line.windowEnd - Date.now()) / 1000))) },
      };
    }
    const shadowOver = lines.filter(
      (l, i) => !l.enforce && grants[i]!.spent + grants[i]!.reserved + l.want > l.limit,
    );
    for (const l of shadowOver) service.exceeded(l, 'shadow');
    // Partial grants: the request gets what is left and a stream stops when that is used. The store
    // lets one partial grant per key be in flight, so together they overrun by one request at most.
    const partial = lines
      .map((l, i) => ({ b: budgets[i]!.ir, line: l, granted: grants[i]!.granted }))
      .filter(({ b, line, granted }) => {
        if (!line.enforce) return false;
        return granted < amount(b, demand, demand.inputTokens, demand.maxOutputTokens);
      });
    const outputCap = capOf(partial, demand);
    let settled = false;
    /** The partial grant a stream ran past (for the error it ends with). */
    let overflowing: (typeof partial)[number] | undefined;
    return {
      headers:
        shadowOver.length > 0
          ? {
              'x-tollgate-budget-shadow-exceeded': shadowOver
                .map((l) => l.budget.split('/').pop())
                .join(', '),
            }
          : {},
      partial: partial.length > 0,
      outputCap,
      fits: (outputTokens) => {
        overflowing = partial.find(
          ({ b, granted }) => amount(b, demand, demand.inputTokens, outputTokens) > granted,
        );
        return overflowing === undefined;
      },
      cutRefusal: () => {
        const { b, line, granted } = overflowing ?? partial[0]!;
        return exceeded(b, line, `the response was cut where the ${formatAmount(b, granted)} left ran out`);
      },
      settle: (usage) => {
        if (settled) return;
        settled = true;
        const spent = budgets.map(({ ir: b }) => (usage ? spentAmount(b, usage) : 0));
        void Promise.resolve(service.store.settle(holdId, lines, spent)).then(
          () => service.settled(lines, spent),
          (error: unknown) => service.storeFailed(error as Error, 'open'),
        );
      },
    };
  }

  return { reserve };
}

/** Output tokens that fit every partial grant beside the prompt; undefined ⇒ no grant limits output. */
function capOf(
  partial: ReadonlyArray<{ b: BudgetIR; granted: number }>,
  demand: SpendDemand,
): number | undefined {
  let cap = demand.maxOutputTokens;
  for (const { b, granted } of partial) {
    if (b.unit === 'tokens' && b.count === 'input') continue;
    // amount() grows with output: the largest output whose amount fits, by halving.
    const fits = (output: number) => amount(b, demand, demand.inputTokens, output) <= granted;
    const top = Math.min(cap, 2 ** 31);
    if (fits(top)) continue;
    let low = 0;
    let high = top;
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (fits(mid)) low = mid;
      else high = mid;
    }
    cap = Math.min(cap, low);
  }
  return Number.isFinite(cap) && cap < demand.maxOutputTokens ? Math.max(1, cap) : undefined;
}

const unmetered: BudgetHold = {
  headers: {},
  partial: false,
  outputCap: undefined,
  fits: () => true,
  cutRefusal: () => ({ code: 'TG_ERR_BUDGET_EXCEEDED', params: {} }),
  settle: () => {},
};

function subjectOf(b: BudgetIR, caller: CallerIdentity | undefined): string {
  if (b.per === 'consumer') return caller?.id ?? '-';
  if (b.per === 'team') return caller?.team ?? '-';
  return caller?.tenant ?? '-';
}

function describeSubject(line: BudgetLine): string {
  if (line.subject === '-') return `callers without a ${line.per}`;
  if (line.per === 'consumer') return `consumer ${line.subject.replace(/^consumer\//, '')}`;
  return `${line.per} ${line.subject}`;
}

/** What `inputTokens` + `outputTokens` count against a budget. */
function amount(b: BudgetIR, demand: SpendDemand, inputTokens: number, outputTokens: number): number {
  if (b.unit === 'cost') return demand.costMicros(b.currency ?? 'USD', inputTokens, outputTokens);
  if (b.count === 'input') return inputTokens;
  if (b.count === 'output') return outputTokens;
  return inputTokens + outputTokens;
}

function spentAmount(b: BudgetIR, usage: SpentUsage): number {
  if (b.unit === 'cost') return usage.currency === (b.currency ?? 'USD') ? (usage.costMicros ?? 0) : 0;
  if (b.count === 'input') return usage.inputTokens;
  if (b.count === 'output') return usage.outputTokens;
  return usage.inputTokens + usage.outputTokens;
}

function formatAmount(b: BudgetIR, value: number): string {
  if (b.unit === 'tokens') return `${value} tokens`;
  return `${(value / 1_000_000).toFixed(6).replace(/0{1,4}$/, '')} ${b.currency ?? 'USD'}`;
}

/** The refusal naming the budget a request ran past; `detail` says how (refused up front, or cut). */
function exceeded(b: BudgetIR, line: BudgetLine, detail: string): Refusal {
  return {
    code: 'TG_ERR_BUDGET_EXCEEDED',
    params: {
      budget: b.name,
      key: describeSubject(line),
      period: PERIOD_NOUN[b.period],
      detail,
      resetsAt: new Date(line.windowEnd).toISOString(),
    },
  };
}
