// One provider, one try: builds the provider's request (native pass-through or translated from
// the unified form), calls it under the attempt's own deadline, and hands a good answer to the
// writer for whole or streamed responses. Every failure comes back as an Attempt for the loop.
import { performance } from 'node:perf_hooks';
import { ClientRequestError } from '../clients/types.ts';
import type { Candidate } from '../plan.ts';
import {
  type Operation,
  type PrepareInput,
  ProviderAuthError,
  ProviderRequestError,
  type RequestBody,
  type UpstreamRequest,
} from '../providers/types.ts';
import type { ChatRequest, EmbeddingsRequest } from '../unified.ts';
import { AttemptTimeoutError, CallAbort, callUpstream, transportError } from '../upstream-call.ts';
import { type Attempt, final, retryOrFinal } from './outcome.ts';
import { relayStream } from './relay-stream.ts';
import { respondComplete } from './respond-complete.ts';
import type { Prepared, RequestState } from './state.ts';

const MAX_ERROR_BODY_BYTES = 1024 * 1024;

export async function attempt(rs: RequestState, p: Prepared, candidate: Candidate): Promise<Attempt> {
  const exchange = rs.exchange;
  const { provider } = candidate.backend;
  const adapter = provider.adapter!;
  const { operation, api } = p.endpoint;
  const native = adapter.nativeAPI === api;
  let body: RequestBody;
  try {
    body = native ? { kind: 'native', text: p.text, json: p.json } : unifiedBody(rs, p, operation);
  } catch (error) {
    if (error instanceof ClientRequestError) return final(400, 'invalid_request', error.message);
    throw error;
  }
  const input: PrepareInput = {
    target: provider.target,
    operation,
    model: candidate.model.upstream,
    stream: p.stream,
    body,
    clientHeaders: exchange.req.headers,
  };
  let request: UpstreamRequest;
  try {
    // Most adapters prepare synchronously: no await (and its microtask) for them.
    const prepared = adapter.prepare(input);
    request = prepared instanceof Promise ? await prepared : prepared;
  } catch (error) {
    if (error instanceof ProviderRequestError) return final(400, 'invalid_request', error.message);
    if (error instanceof ProviderAuthError) return final(0, 'authentication', error.message);
    throw error;
  }

  const attemptMs = attemptTimeoutMs(p, provider);
  const abort = new CallAbort();
  rs.abortAttempt = (reason) => abort.abort(reason);
  if (rs.deadline) abort.abort(rs.deadline);
  const timer =
    attemptMs > 0 ? setTimeout(() => abort.abort(new AttemptTimeoutError(attemptMs)), attemptMs) : undefined;
  const stopTimer = (): void => clearTimeout(timer);
  exchange.onClientClosed = (error) => {
    rs.onClientGone();
    abort.abort(error);
  };
  if (exchange.upstreamStartedAt === 0) exchange.upstreamStartedAt = performance.now();
  const extraHeaders: Record<string, string> = { 'x-request-id': exchange.requestId };
  p.plan.requestHeaders?.apply(extraHeaders);
  rs.attemptSpan?.inject(extraHeaders);
  const call = await callUpstream({
    cluster: candidate.backend.cluster,
    request,
    extraHeaders,
    abort,
    idleMs: p.plan.timeouts.idleMs,
    connectMs: provider.connectTimeoutMs,
  });
  if (rs.clientGone) {
    stopTimer();
    if (call.ok) call.response.body.destroy();
    return { kind: 'client-gone' };
  }
  if (!call.ok) {
    stopTimer();
    return { kind: 'retry', error: call.error };
  }
  const { response } = call;
  if (response.status >= 400) {
    const text = await response.body.text(MAX_ERROR_BODY_BYTES).catch(() => '');
    stopTimer();
    return retryOrFinal(adapter.parseError(response.status, response.headers, text));
  }
  if (!p.stream) {
    let text: string;
    try {
      text = await response.body.text(rs.gateway.maxResponseBodyBytes);
    } catch (error) {
      stopTimer();
      if (rs.clientGone) return { kind: 'client-gone' };
      return { kind: 'retry', error: transportError(error as Error, abort) };
    }
    stopTimer();
    return respondComplete(rs, p, candidate, input, native, text, response.headers);
  }
  return relayStream(rs, p, input, native, response, abort, stopTimer);
}

/**
 * One attempt's deadline: the shorter of the route's (backendRequest, else the proxy's headers
 * timeout) and the provider's own timeouts.request.
 */
export function attemptTimeoutMs(p: Prepared, provider: Candidate['backend']['provider']): number {
  const route = p.plan.ir.timeouts.backendRequestMs || p.plan.timeouts.headersMs;
  const own = provider.attemptTimeoutMs;
  if (!own) return route;
  return route > 0 ? Math.min(route, own) : own;
}

/** The request in the unified form, decoded once for all the attempts that translate it. */
function unifiedBody(rs: RequestState, p: Prepared, operation: Operation): RequestBody {
  if (operation === 'embeddings') return { kind: 'embeddings', request: rs.unified as EmbeddingsRequest };
  rs.unified ??= p.client.decode(p.json);
  return { kind: 'chat', request: rs.unified as ChatRequest };
}
