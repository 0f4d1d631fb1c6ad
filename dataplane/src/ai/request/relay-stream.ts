// Relays a streamed answer. Nothing reaches the client until the first translated event (before
// that, a failure still falls back to the next provider); after it, the stream is never duplicated.
// On the way it applies stream guardrails and a partial budget grant, which may cut the stream
// with an error event, and it ends with the usage as a trailer.
import { maskedCompletion, streamFacts } from '../../observability/index.ts';
import { guardrailStreamError } from '../../policies/guardrails/index.ts';
import type { Refusal } from '../../policies/index.ts';
import { StreamOutputCount } from '../budget-spend.ts';
import type { ClientStreamEncoder } from '../clients/types.ts';
import { USAGE_HEADER } from '../metering/usage-header.ts';
import type { PrepareInput, ProviderError, StreamState } from '../providers/types.ts';
import { type CallAbort, transportError, type UpstreamResponse } from '../upstream-call.ts';
import { noteAttemptFacts, recordCompletionContent } from './attempt-span.ts';
import { type Attempt, badResponse, retryOrFinal } from './outcome.ts';
import type { Prepared, RequestState } from './state.ts';
import { endStream } from './write.ts';

export function relayStream(
  rs: RequestState,
  p: Prepared,
  input: PrepareInput,
  native: boolean,
  response: UpstreamResponse,
  abort: CallAbort,
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
  const translate = (chunk: Buffer | undefined): string | Buffer => {
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

  const watcher = p.guardrails?.streamWatcher(rs.recordGuardrail);
  // A stream granted less than its most (its budget nearly spent) stops where the grant ends.
  const budgetCount = rs.budget?.partial ? new StreamOutputCount(p.endpoint.api) : undefined;
  const { body } = response;

  return new Promise<Attempt>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: Attempt): void => {
      if (settled) return;
      settled = true;
      res.off('drain', resume);
      res.off('close', gone);
      resolve(outcome);
    };
    /** The body is over (ended, broken, or given up): what follows is the old loop's epilogue. */
    const finish = (cut: Refusal | undefined, broken: ProviderError | undefined): void => {
      if (settled) return;
      if (rs.clientGone || res.destroyed) {
        rs.onClientGone();
        settle({ kind: 'client-gone' });
        return;
      }
      if (cut) {
        settle(cutStream(rs, p, cut));
        return;
      }
      settle(endRelay(rs, p, state, encoder, translate, committed, commit, stopTimer, broken));
    };
    const stop = (cut: Refusal | undefined): void => {
      body.destroy();
      finish(cut, undefined);
    };
    // Held back while the client reads slowly; a client that leaves meanwhile ends the relay.
    const resume = (): void => {
      res.off('drain', resume);
      res.off('close', gone);
      if (!settled && !res.destroyed) body.resume();
    };
    const gone = (): void => {
      res.off('drain', resume);
      res.off('close', gone);
      stop(undefined);
    };
    const failed = (error: Error): void => {
      if (settled) return;
      if (rs.clientGone) {
        settle({ kind: 'client-gone' });
        return;
      }
      const failure = transportError(error, abort);
      if (!committed) {
        stopTimer();
        settle({ kind: 'retry', error: failure });
        return;
      }
      finish(undefined, failure);
    };
    const relay = (chunk: Buffer): void => {
      const out = translate(chunk);
      if (!committed) {
        if (state.error) {
          stopTimer();
          body.destroy();
          settle(retryOrFinal(state.error));
          return;
        }
        if (out.length === 0) return;
        commit();
      }
      if (watcher || budgetCount) {
        const text = typeof out === 'string' ? out : out.toString('utf8');
        const cut = watcher?.push(text);
        if (cut) {
          stop(cut);
          return;
        }
        if (budgetCount && !rs.budget!.fits(budgetCount.push(text))) {
          stop(rs.budget!.cutRefusal());
          return;
        }
      }
      if (out.length === 0) return;
      if (res.destroyed) {
        stop(undefined);
        return;
      }
      const flowing = res.write(out);
      exchange.bytesOut += typeof out === 'string' ? Buffer.byteLength(out) : out.length;
      if (!flowing) {
        body.pause();
        res.on('drain', resume);
        res.on('close', gone);
      }
    };
    body.consume({
      data(chunk) {
        if (settled) return;
        try {
          relay(chunk);
        } catch (error) {
          // A chunk that cannot be relayed breaks the stream like a broken connection would.
          body.destroy();
          failed(error as Error);
        }
      },
      end() {
        try {
          finish(undefined, undefined);
        } catch (error) {
          // A bug past the provider's stream: the request answers it (internalError).
          settled = true;
          reject(error);
        }
      },
      error(error) {
        try {
          failed(error);
        } catch (thrown) {
          settled = true;
          reject(thrown);
        }
      },
    });
  });
}

/** The provider's stream ended (or broke after the first event): the last events, metering, the trailer. */
function endRelay(
  rs: RequestState,
  p: Prepared,
  state: StreamState,
  encoder: ClientStreamEncoder | undefined,
  translate: (chunk: Buffer | undefined) => string | Buffer,
  committed: boolean,
  commit: () => void,
  stopTimer: () => void,
  broken: ProviderError | undefined,
): Attempt {
  const exchange = rs.exchange;
  const meter = rs.meter!;
  const last = translate(undefined);
  if (!committed) {
    stopTimer();
    if (state.error) return retryOrFinal(state.error);
    if (last.length === 0) return { kind: 'retry', error: badResponse('the stream ended without any event') };
    commit();
  }
  let tail = typeof last === 'string' ? last : last.toString('utf8');
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
