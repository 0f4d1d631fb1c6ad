// One attempt's HTTP exchange with a provider through the cluster's undici pool. Failures before
// a response (connect, timeout, reset) come back as a ProviderError so the caller can fall back.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { UpstreamCluster } from '../upstream/index.ts';
import type { ProviderError, UpstreamRequest } from './providers/types.ts';

/** A deadline of the call passed; which one decides how transportError classifies the failure. */
abstract class DeadlineError extends Error {
  readonly timeoutMs: number;
  constructor(message: string, timeoutMs: number) {
    super(message);
    this.name = new.target.name;
    this.timeoutMs = timeoutMs;
  }
}

/** The attempt's own deadline (until its response starts reaching the client) passed. */
export class AttemptTimeoutError extends DeadlineError {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`, timeoutMs);
  }
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Dispatcher.ResponseData['body'];
}

export type CallResult = { ok: true; response: UpstreamResponse } | { ok: false; error: ProviderError };

/** No connection to the provider was established within its own connect timeout. */
export class ConnectTimeoutError extends DeadlineError {
  constructor(timeoutMs: number) {
    super(`no connection within ${timeoutMs} ms`, timeoutMs);
  }
}

export interface CallOptions {
  cluster: UpstreamCluster;
  request: UpstreamRequest;
  extraHeaders: Record<string, string>;
  /** Aborted ⇒ the call fails (its reason decides how: see transportError). */
  controller: AbortController;
  /** Longest silence between response body chunks; 0 ⇒ none. */
  idleMs: number;
  /**
   * The provider's own connect deadline (TCP and TLS, or waiting for a pooled connection); 0 ⇒ the
   * pool's. The pools are shared per endpoint, so it is enforced per request, not per pool.
   */
  connectMs?: number;
}

export async function callUpstream(options: CallOptions): Promise<CallResult> {
  const { cluster, request, controller } = options;
  const { signal } = controller;
  const endpoint = cluster.next();
  if (!endpoint)
    return { ok: false, error: { status: 0, kind: 'connect', message: `${cluster.id} has no endpoint` } };
  const headers: Record<string, string> = { ...options.extraHeaders, ...request.headers };
  if (cluster.authority) headers.host = cluster.authority;
  const connectMs = options.connectMs ?? 0;
  let dispatcher: Dispatcher = endpoint.pool;
  let connectTimer: NodeJS.Timeout | undefined;
  if (connectMs > 0) {
    connectTimer = setTimeout(() => controller.abort(new ConnectTimeoutError(connectMs)), connectMs);
    dispatcher = endpoint.pool.compose(
      onConnected(() => {
        clearTimeout(connectTimer);
      }),
    );
  }
  try {
    const response = await dispatcher.request({
      method: request.method,
      path: request.path,
      headers,
      body: request.body ?? null,
      signal,
      // The attempt's deadline is the caller's timer (it also covers the first event); the idle
      // timeout guards a stream that goes silent afterwards.
      headersTimeout: 0,
      bodyTimeout: options.idleMs,
    });
    return {
      ok: true,
      response: { status: response.statusCode, headers: response.headers, body: response.body },
    };
  } catch (error) {
    return { ok: false, error: transportError(error as Error, signal) };
  } finally {
    clearTimeout(connectTimer);
  }
}

/**
 * An interceptor that calls `connected` once the request is on an open connection: undici starts
 * a request (onRequestStart) only then, so time before it is connect time.
 */
function onConnected(connected: () => void): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) =>
    dispatch(opts, {
      onRequestStart(controller, context) {
        connected();
        handler.onRequestStart?.(controller, context);
      },
      onRequestUpgrade: (controller, statusCode, headers, socket) =>
        handler.onRequestUpgrade?.(controller, statusCode, headers, socket),
      onResponseStart: (controller, statusCode, headers, statusMessage) =>
        handler.onResponseStart?.(controller, statusCode, headers, statusMessage),
      onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
      onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
      onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
    });
}

/** A failure below HTTP as a ProviderError: timeouts, connect failures, resets. */
export function transportError(error: Error, signal: AbortSignal): ProviderError {
  const reason = signal.aborted ? (signal.reason as Error | undefined) : undefined;
  if (reason instanceof AttemptTimeoutError) return { status: 0, kind: 'timeout', message: reason.message };
  if (reason instanceof ConnectTimeoutError) return { status: 0, kind: 'connect', message: reason.message };
  if (reason) return { status: 0, kind: 'connect', message: reason.message };
  const code = (error as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
    return { status: 0, kind: 'timeout', message: code };
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EHOSTUNREACH' ||
    code === 'EAI_AGAIN'
  )
    return { status: 0, kind: 'connect', message: code };
  return { status: 0, kind: 'server', message: code || error.message };
}

/** The whole body as text, at most `limit` bytes (more is an error). */
export async function readBodyText(body: UpstreamResponse['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new Error(`the response is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
