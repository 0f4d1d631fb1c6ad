// IR of budgets: tokens or money (integer micro-units of a currency) per calendar period, per
// consumer, team or tenant. The data plane reserves, settles and reports against these.
import { z } from 'zod';

export const BudgetIR = z.object({
  name: z.string(),
  /** tokens: `limit` is a token count; cost: `limit` is micro-units of `currency`. */
  unit: z.enum(['tokens', 'cost']),
  limit: z.number().int().min(0),
  /** Which tokens a token budget counts. */
  count: z.enum(['input', 'output', 'total']).optional(),
  currency: z.string().optional(),
  period: z.enum(['day', 'week', 'month']),
  /** IANA time zone in which periods start. */
  timeZone: z.string(),
  per: z.enum(['consumer', 'team', 'tenant']),
  mode: z.enum(['enforce', 'shadow']),
  failureMode: z.enum(['open', 'closed']),
});
export type BudgetIR = z.infer<typeof BudgetIR>;

export const BudgetsIR = z.object({ from: z.string(), budgets: z.array(BudgetIR) });
export type BudgetsIR = z.infer<typeof BudgetsIR>;
