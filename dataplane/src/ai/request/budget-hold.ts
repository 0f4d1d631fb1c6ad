// Budgets glue: reserves the most the request can cost before any provider is called, so that
// concurrent requests cannot together spend past a limit. The hold is settled by the orchestrator
// once the request is over; a partial grant is enforced by the stream relay.
import { budgetDecisionOf } from '../../observability/index.ts';
import { spendDemand } from '../budget-spend.ts';
import { estimateInputTokens } from '../metering/estimate.ts';
import type { Candidate } from '../plan.ts';
import type { Prepared, RequestState } from './state.ts';

/** False ⇒ refused, or the client left meanwhile (answered already). */
export async function holdBudget(
  rs: RequestState,
  p: Prepared,
  candidates: readonly Candidate[],
): Promise<boolean> {
  const exchange = rs.exchange;
  const caller = exchange.policy?.caller;
  const guard = (p.plan.policy ?? rs.context.match.entry.data.policy)?.budgets(caller);
  if (!guard) return true;
  const demand = spendDemand(
    p.json,
    p.endpoint.operation,
    candidates,
    reservedInputTokens(estimateInputTokens(p.json)),
  );
  const outcome = await guard.reserve(caller, demand);
  rs.gateway.metrics.budgetDecisions.inc({
    route: p.plan.id,
    decision: budgetDecisionOf('code' in outcome ? outcome.code : undefined),
  });
  if ('code' in outcome) {
    rs.meter!.failed('budget_exceeded');
    exchange.ai = rs.meter!.record;
    exchange.fail(outcome.code, outcome.params, outcome.headers);
    return false;
  }
  rs.budget = outcome;
  for (const [name, value] of Object.entries(outcome.headers)) exchange.res.setHeader(name, value);
  if (rs.clientGone) {
    rs.onClientGone();
    outcome.settle(undefined);
    return false;
  }
  return true;
}

/**
 * The prompt tokens a reservation counts: the gateway's estimate (OpenAI's encoding, or characters
 * / 4 before it loads) with a margin, because providers count with their own tokenizers and add
 * their own framing. The budget guarantee rests on a request never settling above what it
 * reserved, so the reservation errs high; the settlement charges the provider's figure.
 */
export function reservedInputTokens(estimate: number): number {
  return Math.ceil(estimate * INPUT_MARGIN) + INPUT_FRAMING;
}

/** Other tokenizers count up to about a third more tokens for the same text. */
const INPUT_MARGIN = 1.5;
/** Tokens a provider may add around the prompt (reply priming, tool and system framing). */
const INPUT_FRAMING = 16;
