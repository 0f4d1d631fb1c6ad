// Policy section `budgets`: tokens or money per calendar period, per consumer, team or tenant.
import { z } from 'zod';
import { listMap, withRules } from '../cel.ts';
import { currency, decimal, dnsLabel, timeZone } from '../common.ts';
import { tokenCounts } from './rate-limits.ts';

export const TokenBudget = z
  .object({
    limit: z.number().int().min(1).max(1e15).meta({ description: 'Tokens allowed per period.' }),
    count: z
      .enum(tokenCounts)
      .default('total')
      .meta({ description: 'Which tokens count: input (prompt), output (completion) or total.' }),
  })
  .meta({ description: 'A budget in LLM tokens.' });
export type TokenBudget = z.infer<typeof TokenBudget>;

export const CostBudget = z
  .object({
    amount: decimal.meta({ description: 'Money allowed per period, as a decimal string ("250.00").' }),
    currency,
  })
  .meta({ description: 'A budget in money, metered with the model prices of the AIProviders.' });
export type CostBudget = z.infer<typeof CostBudget>;

export const Budget = withRules(
  z
    .object({
      name: dnsLabel.meta({ description: 'Name of the budget, unique in the policy; used in metrics.' }),
      tokens: TokenBudget.optional(),
      cost: CostBudget.optional(),
      period: z
        .enum(['day', 'week', 'month'])
        .default('month')
        .meta({ description: 'Calendar period after which the budget resets. Weeks start on Monday.' }),
      timeZone: timeZone.default('UTC').meta({
        description: 'IANA time zone in which periods start, e.g. "Europe/Paris". Defaults to UTC.',
      }),
      per: z
        .enum(['consumer', 'team', 'tenant'])
        .default('consumer')
        .meta({ description: 'Who the budget applies to, each separately.' }),
      mode: z.enum(['enforce', 'shadow']).default('enforce').meta({
        description:
          'enforce refuses requests once the budget is spent (429); shadow only reports and meters.',
      }),
      failureMode: z.enum(['open', 'closed']).default('open').meta({
        description:
          'When the shared store (Redis) does not answer: open admits the request unmetered by this budget, closed refuses it (503).',
      }),
    })
    .meta({ description: 'One budget.' }),
  [{ rule: 'has(self.tokens) != has(self.cost)', message: 'set exactly one of tokens and cost' }],
);
export type Budget = z.infer<typeof Budget>;

export const Budgets = listMap(z.array(Budget).max(16), ['name']).meta({
  description: 'Budgets; a request is refused when any enforced budget is spent.',
});
