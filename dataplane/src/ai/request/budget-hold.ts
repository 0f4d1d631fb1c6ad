// Budgets glue: reserves the most the request can cost before any provider is called, so that
// concurrent requests cannot together spend past a limit. The hold is settled by the orchestrator
// once the request is over. A partial grant lowers the output the provider is asked for to what
// the grant leaves, and a stream is also cut by the relay where the grant runs out.
import { budgetDecisionOf } from '../../observability/index.ts';
import { spendDemand } from '../budget-spend.ts';
import { spliceJson } from '../json-splice.ts';
import { estimateInputTokens } from '../metering/estimate.ts';
import type { Candidate } from '../plan.ts';
import type { ChatRequest } from '../unified.ts';
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
  if (outcome.outputCap !== undefined && p.endpoint.operation === 'chat') capOutput(rs, p, outcome.outputCap);
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

/** Output limits a client body may carry, in either API. */
const OUTPUT_FIELDS = ['max_completion_tokens', 'max_tokens', 'max_output_tokens'] as const;

/**
 * Asks the provider for at most `cap` output tokens: the client's own limit fields are lowered
 * (Anthropic's max_tokens, else OpenAI's max_completion_tokens, is added when the body has none),
 * in the body passed through as is and in the decoded form providers translate from (Gemini
 * maxOutputTokens, Bedrock maxTokens and the others derive from it).
 */
function capOutput(rs: RequestState, p: Prepared, cap: number): void {
  const present = OUTPUT_FIELDS.filter((f) => typeof p.json[f] === 'number');
  const fields =
    present.length > 0 ? present : [p.endpoint.api === 'anthropic' ? 'max_tokens' : 'max_completion_tokens'];
  const lowered = Object.fromEntries(fields.map((f) => [f, Math.min(cap, numberOr(p.json[f], cap))]));
  p.json = { ...p.json, ...lowered };
  p.text = spliceJson(p.text, Object.fromEntries(Object.entries(lowered).map(([f, v]) => [f, String(v)])));
  if (rs.unified) {
    const unified: ChatRequest = { ...(rs.unified as ChatRequest) };
    for (const f of ['max_completion_tokens', 'max_tokens'] as const)
      if (typeof lowered[f] === 'number') unified[f] = lowered[f];
    rs.unified = unified;
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}
