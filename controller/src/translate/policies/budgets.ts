// The `budgets` section of a Policy compiled for the snapshot: money amounts become integer
// micro-units (the unit the AI meter prices requests in), defaults are made explicit.
import type { BudgetIR, BudgetsIR } from '@tollgate/snapshot';
import type { PolicyIR } from './attachment.ts';

/** "250.00" → 250_000_000 micro-units; digits past the sixth decimal are dropped. */
export function decimalToMicros(amount: string): number {
  const [whole = '0', fraction = ''] = amount.split('.');
  return Number(whole) * 1_000_000 + Number(fraction.slice(0, 6).padEnd(6, '0'));
}

export function compileBudgets(policy: PolicyIR): BudgetsIR | undefined {
  const budgets = policy.spec.budgets;
  if (!budgets?.length) return undefined;
  const out: BudgetIR[] = [];
  for (const b of budgets) {
    const common = {
      name: b.name,
      period: b.period,
      timeZone: b.timeZone,
      per: b.per,
      mode: b.mode,
      failureMode: b.failureMode,
    };
    if (b.tokens) out.push({ ...common, unit: 'tokens', limit: b.tokens.limit, count: b.tokens.count });
    else if (b.cost) {
      out.push({ ...common, unit: 'cost', limit: decimalToMicros(b.cost.amount), currency: b.cost.currency });
    }
  }
  return out.length > 0 ? { from: policy.id, budgets: out } : undefined;
}
