// Writes a whole (non-streamed) answer: translates the provider's JSON to the client's format,
// meters it, lets response guardrails refuse or mask it, and only then sends one body with its
// usage header. An answer that cannot be read is a failed attempt, so fallback can still happen.
import type { IncomingHttpHeaders } from 'node:http';
import { aiResponseFacts } from '../../observability/index.ts';
import { isRecord, parseJson } from '../formats/http.ts';
import type { Usage } from '../metering/usage.ts';
import { formatUsageHeader, USAGE_HEADER } from '../metering/usage-header.ts';
import type { Candidate } from '../plan.ts';
import type { PrepareInput } from '../providers/types.ts';
import { responseText } from '../response-text.ts';
import { noteAttemptFacts, recordCompletionContent } from './attempt-span.ts';
import { type Attempt, badResponse } from './outcome.ts';
import type { Prepared, RequestState } from './state.ts';
import { sendBody } from './write.ts';

export function respondComplete(
  rs: RequestState,
  p: Prepared,
  candidate: Candidate,
  input: PrepareInput,
  native: boolean,
  text: string,
  responseHeaders: IncomingHttpHeaders,
): Attempt {
  const exchange = rs.exchange;
  const adapter = candidate.backend.provider.adapter!;
  const meter = rs.meter!;
  const json = parseJson(text);
  if (json === undefined) return { kind: 'retry', error: badResponse('the response is not JSON') };
  // Translate first: a response that cannot be read is a failed attempt, not a success.
  let out: string;
  let reported: Usage | undefined;
  let generated: () => string;
  let encode: ((usage: Usage) => string) | undefined;
  /** What response guardrails read: the client-format body, or the completion before encoding. */
  let checked: unknown;
  try {
    if (native) {
      reported = adapter.nativeUsage(json, input.operation);
      generated = () => responseText(json);
      out = text;
      checked = json;
    } else if (input.operation === 'embeddings') {
      const converted = adapter.embeddingsResponse!(json, input, responseHeaders);
      reported = converted.usage;
      generated = () => '';
      // The response's usage is the metered one (estimated when the provider reported none).
      encode = (usage) =>
        JSON.stringify({
          ...converted.response,
          usage: { prompt_tokens: usage.inputTokens, total_tokens: usage.inputTokens },
        });
      out = '';
    } else {
      const converted = adapter.chatResponse(json, input);
      reported = converted.usage;
      generated = () => responseText(converted.completion);
      encode = (usage) => p.client.encodeCompletion(converted.completion, usage);
      checked = converted.completion;
      out = '';
    }
  } catch (error) {
    return { kind: 'retry', error: badResponse((error as Error).message) };
  }
  meter.attempt(candidate, 'success');
  rs.firstByte?.();
  noteAttemptFacts(rs, () => aiResponseFacts(json));
  const metered = meter.served(reported, true, generated);
  if (p.guardrails && isRecord(checked)) {
    const verdict = p.guardrails.checkResponse(checked, rs.recordGuardrail);
    if (!verdict.ok) {
      exchange.ai = meter.record;
      exchange.upstreamEnded();
      exchange.fail(verdict.refusal.code, verdict.refusal.params);
      return { kind: 'done' };
    }
    if (verdict.masked && native) out = JSON.stringify(checked);
  }
  // After the guardrails: the span shows the completion as masked.
  if (input.operation === 'chat')
    recordCompletionContent(rs, p, () => ({
      text: generated(),
      finishReason: rs.attemptFacts?.finishReasons?.[0],
    }));
  if (encode) out = encode(metered.usage);
  exchange.ai = meter.record;
  exchange.upstreamEnded();
  const headers: Record<string, string | string[] | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(out),
    'x-request-id': exchange.requestId,
    [USAGE_HEADER]: formatUsageHeader(metered.usage, metered.cost),
  };
  p.plan.responseHeaders?.apply(headers as Record<string, string | string[]>);
  const { res } = exchange;
  if (res.destroyed) return { kind: 'client-gone' };
  sendBody(exchange, 200, headers, out);
  return { kind: 'done' };
}
