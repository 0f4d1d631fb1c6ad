// Relays a streamed answer. Nothing reaches the client until the first translated event (before
// that, a failure still falls back to the next provider); after it, the stream is never duplicated.
// On the way it applies stream guardrails and a partial budget grant, which may cut the stream
// with an error event, and it ends with the usage as a trailer.
import type { ServerResponse } from 'node:http';
import { maskedCompletion, streamFacts } from '../../observability/index.ts';
import { guardrailStreamError } from '../../policies/guardrails/index.ts';
import type { Refusal } from '../../policies/index.ts';
import { StreamOutputCount } from '../budget-spend.ts';
import { USAGE_HEADER } from '../metering/usage-header.ts';
import type { PrepareInput, ProviderError } from '../providers/types.ts';
import { transportError, type UpstreamResponse } from '../upstream-call.ts';
import { noteAttemptFacts, recordCompletionContent } from './attempt-span.ts';
import { type Attempt, badResponse, retryOrFinal } from './outcome.ts';
import type { Prepared, RequestState } from './state.ts';
import { endStream } from './write.ts';

export async function relayStream(
  rs: RequestState,
  p: Prepared,
  input: PrepareInput,
  native: boolean,
  response: UpstreamResponse,
  controller: AbortController,
  stopTimer: () => void,
): Promise<Attempt> {
  const exchange = rs.exchange;
  const { res } = exchange;
  const meter = rs.meter!;
  const candidate = meter.candidate!;
  const adapter = candidate.backend.provider.adapter!;
  const passthrough = native
    ? adapter.passthroughStream!(input, { dropUsageEvent: p.endpoint.api === 'openai' && !p.wantsUsage })
    : undefined;
  const decoder = native ? undefined : adapter.streamDecoder(input);
  const encoder = native ? undefined : p.client.streamEncoder({ includeUsage: p.wantsUsage, model: p.model });
  const state = (passthrough ?? decoder)!.state;
  const translate = (chunk: Buffer | undefined): string => {
    if (passthrough) return chunk ? passthrough.push(chunk) : passthrough.end();
    return encoder!.chunks(chunk ? decoder!.push(chunk) : decoder!.end());
  };
  let committed = false;
  const commit = (): void => {
    stopTimer();
    committed = true;
    rs.streamState = state;
    meter.attempt(candidate, 'success');
    meter.firstToken();
    rs.firstByte?.();
    const headers: Record<string, string | string[]> = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': exchange.requestId,
      trailer: USAGE_HEADER,
    };
    p.plan.responseHeaders?.apply(headers);
    res.writeHead(200, headers);
  };

  let broken: ProviderError | undefined;
  const watcher = p.guardrails?.streamWatcher(rs.recordGuardrail);
  let cut: Refusal | undefined;
  // A stream granted less than its most (its budget nearly spent) stops where the grant ends.
  const budgetCount = rs.budget?.partial ? new StreamOutputCount(p.endpoint.api) : undefined;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      const text = translate(chunk);
      if (!committed) {
        if (state.error) {
          stopTimer();
          response.body.destroy();
          return retryOrFinal(state.error);
        }
        if (!text) continue;
        commit();
      }
      cut = watcher?.push(text);
      if (cut) break;
      if (budgetCount && !rs.budget!.fits(budgetCount.push(text))) {
        cut = rs.budget!.cutRefusal();
        break;
      }
      if (!(await write(res, text))) break;
      exchange.bytesOut += Buffer.byteLength(text);
    }
  } catch (error) {
    if (rs.clientGone) return { kind: 'client-gone' };
    const failure = transportError(error as Error, controller.signal);
    if (!committed) {
      stopTimer();
      return { kind: 'retry', error: failure };
    }
    broken = failure;
  }
  if (rs.clientGone || res.destroyed) {
    rs.onClientGone();
    return { kind: 'client-gone' };
  }
  if (cut) return cutStream(rs, p, cut);
  let tail = translate(undefined);
  if (!committed) {
    stopTimer();
    if (state.error) return retryOrFinal(state.error);
    if (!tail) return { kind: 'retry', error: badResponse('the stream ended without any event') };
    commit();
  }
  const error = state.error ?? broken;
  noteAttemptFacts(rs, () => streamFacts(state));
  recordCompletionContent(rs, p, () => ({
    text: maskedCompletion(state.generatedText(), p.guardrails),
    finishReason: state.finishReasons?.[0],
  }));
  const metered = meter.served(
    state.usage,
    state.finished,
    () => state.generatedText(),
    error ? 'stream_error' : undefined,
  );
  if (error) exchange.errorCode = 'TG_ERR_AI_STREAM_ERROR';
  if (encoder) tail += error ? encoder.error(error) : encoder.end(metered.usage);
  exchange.ai = meter.record;
  exchange.upstreamEnded();
  endStream(exchange, tail, metered);
  return { kind: 'done' };
}

/** A guardrail or the budget stopped the stream's text: meter what was generated, end with an error event. */
function cutStream(rs: RequestState, p: Prepared, cut: Refusal): Attempt {
  const exchange = rs.exchange;
  const meter = rs.meter!;
  const state = rs.streamState!;
  const why = cut.code === 'TG_ERR_BUDGET_EXCEEDED' ? 'budget_exceeded' : 'guardrail';
  const metered = meter.served(state.usage, false, () => state.generatedText(), why);
  exchange.errorCode = cut.code;
  exchange.ai = meter.record;
  exchange.upstreamEnded();
  endStream(exchange, guardrailStreamError(p.endpoint.api, cut), metered);
  return { kind: 'done' };
}

/** Writes with backpressure; false when the client is gone. */
function write(res: ServerResponse, text: string): Promise<boolean> | boolean {
  if (res.destroyed) return false;
  if (res.write(text)) return true;
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!res.destroyed);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
