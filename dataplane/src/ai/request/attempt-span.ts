// Tracing of one provider attempt: its CLIENT span, the GenAI content a Policy opted into, and the
// result attributes. Only a recording span reads response facts or builds content, so a
// sampled-out request pays nothing here.
import {
  type AIAttemptResult,
  type AttemptSpan,
  genAIInputMessages,
  genAIOutputMessages,
  recordAIResult,
  recordGenAIContent,
  startAIAttemptSpan,
} from '../../observability/index.ts';
import type { Candidate } from '../plan.ts';
import type { Attempt } from './outcome.ts';
import type { Prepared, RequestState } from './state.ts';

/** Opens the attempt's span (tracing on only) and makes it the one in flight. */
export function startAttemptSpan(
  rs: RequestState,
  p: Prepared,
  candidate: Candidate,
): AttemptSpan | undefined {
  const exchange = rs.exchange;
  const { provider } = candidate.backend;
  const span = exchange.trace
    ? startAIAttemptSpan(exchange.trace, {
        operation: p.endpoint.operation,
        providerType: provider.ir.type,
        provider: provider.name,
        requestModel: p.model,
        upstreamModel: candidate.model.upstream,
        cluster: candidate.backend.cluster.id,
        stream: p.stream,
        attempt: rs.meter!.attempts + 1,
      })
    : undefined;
  rs.attemptSpan = span;
  rs.attemptFacts = undefined;
  // Content only with a Policy's opt-in, and the prompt as the guardrails left it (masked).
  if (span?.span.isRecording())
    recordGenAIContent(span, recordsContent(p), () => ({ input: genAIInputMessages(p.json) }));
  return span;
}

/** Notes what the response said (model, finish reasons, …) for the span's result attributes. */
export function noteAttemptFacts(rs: RequestState, facts: () => AIAttemptResult): void {
  if (rs.attemptSpan?.span.isRecording()) rs.attemptFacts = facts();
}

/** Puts the completion on the span, when the Policy opted in; undefined text ⇒ nothing to show. */
export function recordCompletionContent(
  rs: RequestState,
  p: Prepared,
  completion: () => { text: string | undefined; finishReason: string | undefined },
): void {
  const span = rs.attemptSpan;
  if (!span?.span.isRecording()) return;
  recordGenAIContent(span, recordsContent(p), () => {
    const { text, finishReason } = completion();
    return text === undefined ? {} : { output: genAIOutputMessages(text, finishReason) };
  });
}

export function endAttemptSpan(rs: RequestState, span: AttemptSpan, outcome: Attempt | undefined): void {
  rs.attemptSpan = undefined;
  if (outcome?.kind === 'done') {
    // A sampled-out attempt builds nothing: it only ends.
    if (span.span.isRecording()) {
      const record = rs.meter?.record;
      recordAIResult(span, {
        ...rs.attemptFacts,
        ...(record
          ? {
              inputTokens: record.inputTokens,
              outputTokens: record.outputTokens,
              cachedInputTokens: record.cachedInputTokens,
              ...(record.ttftMs !== undefined ? { ttftMs: record.ttftMs } : {}),
            }
          : {}),
      });
    }
    span.end({ status: 200, ...(rs.exchange.errorCode ? { error: rs.exchange.errorCode } : {}) });
  } else if (outcome?.kind === 'retry' || outcome?.kind === 'final') {
    span.end({ status: outcome.error.status, error: outcome.error.kind });
  } else {
    span.end({ error: outcome ? 'client_closed' : 'internal' });
  }
}

/** Whether a Policy opted the request's route into prompt/completion content on spans. */
function recordsContent(p: Prepared): boolean {
  return p.plan.ir.policy?.observability?.recordContent === true;
}
