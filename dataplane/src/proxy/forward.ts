// Forwarding one request upstream with undici's dispatch API: the request body streams up, the
// response streams down, each side pausing the other when it cannot keep up.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ErrorCode } from '../errors.ts';
import {
  type AttemptSpan,
  connectErrorReason,
  type DataplaneMetrics,
  startUpstreamAttemptSpan,
} from '../observability/index.ts';
import type { UpstreamCluster, UpstreamEndpoint } from '../upstream/index.ts';
import { ClientClosedError, type Exchange } from './exchange.ts';
import { downstreamResponseHeaders, type HeaderMap } from './headers.ts';
import type { RoutePlan } from './route-plan.ts';

export interface ForwardRequest {
  exchange: Exchange;
  plan: RoutePlan;
  cluster: UpstreamCluster;
  endpoint: UpstreamEndpoint;
  path: string;
  headers: HeaderMap;
  /** The client's body stream, or the body already read (routes that match on the model). */
  body: Readable | Buffer | null;
  metrics: DataplaneMetrics;
  draining: () => boolean;
  /** performance.now() by which the whole upstream exchange must be over, retries included. */
  deadlineAt?: number | undefined;
  /** A header the response must carry (session persistence), name and value. */
  responseHeader?: [string, string] | undefined;
  /** The retry loop (upstream-call.ts): it may take a failed attempt over before the client sees it. */
  observer?: AttemptObserver | undefined;
  /** A retry sending the body again: its bytes were counted by the first attempt. */
  resend?: boolean | undefined;
}

/** What the retry loop learns from one attempt, and where it can step in. */
export interface AttemptObserver {
  /**
   * The response started (its latency is known). Before its head goes to the client: true ⇒ this
   * attempt is dropped and retried.
   */
  retryStatus(status: number, headers: IncomingHttpHeaders): boolean;
  /** A failure before any byte reached the client: true ⇒ the caller retries and forward stays silent. */
  retryError(code: ErrorCode, error: Error): boolean;
  /** Once per attempt, when it is over: the status it answered (0 if none) and its error code. */
  finished(status: number, code: ErrorCode | undefined): void;
}

/** One attempt's response did not start within the retry policy's perTryTimeout. */
export class AttemptTimeoutError extends Error {
  readonly code = 'TG_ERR_UPSTREAM_TIMEOUT';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no response within the per-try timeout of ${timeoutMs} ms`);
    this.name = 'AttemptTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}

/** Aborts an attempt whose response the retry loop drops. */
class DroppedForRetryError extends Error {
  constructor() {
    super('response dropped for a retry');
    this.name = 'DroppedForRetryError';
  }
}

/** The deadline of the whole upstream exchange passed (the route's request/backendRequest timeout). */
export class UpstreamDeadlineError extends Error {
  readonly code = 'TG_ERR_UPSTREAM_TIMEOUT';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no complete answer within ${timeoutMs} ms`);
    this.name = 'UpstreamDeadlineError';
    this.timeoutMs = timeoutMs;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'TG_ERR_UPSTREAM_TIMEOUT']);

/**
 * What went wrong, from the error and whether the request had reached a connection: errors before
 * that are connect failures (refused, unreachable, DNS, TLS handshake, connect timeout).
 */
export function classifyUpstreamError(error: Error, reachedConnection: boolean): ErrorCode {
  const code = (error as { code?: string }).code;
  if (code !== undefined && TIMEOUT_CODES.has(code)) return 'TG_ERR_UPSTREAM_TIMEOUT';
  // The request could not even be built (say, a header value a modifier made invalid).
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') return 'TG_ERR_INTERNAL';
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'TG_ERR_UPSTREAM_CONNECT_TIMEOUT';
  if (!reachedConnection) return 'TG_ERR_UPSTREAM_CONNECT';
  return 'TG_ERR_UPSTREAM_RESET';
}

export function forward(request: ForwardRequest): void {
  const { exchange, plan, endpoint, path, headers, body } = request;
  const { timeouts } = plan;
  exchange.attempts++;
  if (exchange.attempts > 1) request.metrics.upstreamRetries.labels(request.cluster.id).inc();
  // Checked here, not inside: with tracing off not even the attributes object is built.
  const attempt = exchange.trace
    ? startUpstreamAttemptSpan(exchange.trace, {
        method: exchange.method,
        cluster: request.cluster.id,
        address: endpoint.address,
        target: path,
        resendCount: exchange.attempts - 1,
      })
    : undefined;
  attempt?.inject(headers);
  const handler = new ForwardHandler(request, attempt);
  exchange.upstreamStartedAt = performance.now();
  exchange.onClientClosed = (error) => handler.abort(error);
  endpoint.pool.dispatch(
    {
      path,
      method: exchange.method,
      headers,
      body,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.idleMs,
    },
    handler,
  );
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #request: ForwardRequest;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reachedConnection = false;
  #done = false;
  #failed = false;
  #dropped = false;
  /** Until the response starts (perTryTimeout); undici's own header timeout is too coarse for it. */
  #tryTimer: NodeJS.Timeout | undefined;
  #code: ErrorCode | undefined;
  /** The attempt's CLIENT span (tracing on only) and the status it answered. */
  readonly #attempt: AttemptSpan | undefined;
  #status = 0;

  constructor(request: ForwardRequest, attempt: AttemptSpan | undefined) {
    this.#request = request;
    this.#attempt = attempt;
    const { totalMs } = request.plan.timeouts;
    if (totalMs !== undefined) {
      const remaining =
        request.deadlineAt === undefined ? totalMs : Math.max(0, request.deadlineAt - performance.now());
      this.#timer = setTimeout(() => this.abort(new UpstreamDeadlineError(totalMs)), remaining);
    }
    const { perTryMs } = request.plan.timeouts;
    if (perTryMs !== undefined) {
      this.#tryTimer = setTimeout(() => this.abort(new AttemptTimeoutError(perTryMs)), perTryMs);
    }
  }

  /** Aborts the upstream exchange; before it reached a connection, as soon as it does. */
  abort(reason: Error): void {
    if (this.#done || this.#abortReason) return;
    this.#abortReason = reason;
    if (this.#timer) clearTimeout(this.#timer);
    clearTimeout(this.#tryTimer);
    if (this.#controller) {
      this.#controller.abort(reason);
      return;
    }
    // Still waiting for a connection: answer the deadline now rather than when one frees up; the
    // queued request is aborted the moment it reaches a connection.
    if (reason instanceof UpstreamDeadlineError) this.#fail(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this.#reachedConnection = true;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onBodySent(chunk: Buffer | string): void {
    if (this.#request.resend) return;
    this.#request.exchange.bytesIn += chunk.length;
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    upstreamHeaders: IncomingHttpHeaders,
  ): void {
    const { exchange, plan, draining } = this.#request;
    const { res } = exchange;
    this.#status = statusCode;
    clearTimeout(this.#tryTimer);
    if (res.destroyed) return;
    if (this.#request.observer?.retryStatus(statusCode, upstreamHeaders)) {
      this.#dropped = true;
      controller.abort(new DroppedForRetryError());
      return;
    }
    const headers = downstreamResponseHeaders(upstreamHeaders);
    const { responseHeader } = this.#request;
    if (responseHeader) appendHeader(headers, responseHeader[0], responseHeader[1]);
    plan.responseHeaders?.apply(headers);
    headers['x-request-id'] ??= exchange.requestId;
    if (draining()) headers.connection = 'close';
    res.writeHead(statusCode, headers);
    res.on('drain', () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res } = this.#request.exchange;
    if (res.destroyed) return;
    this.#request.exchange.bytesOut += chunk.length;
    if (!res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#settle();
    const { res } = this.#request.exchange;
    if (!res.destroyed) res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    // A response dropped for a retry is an answer (its status says why), not a broken exchange.
    this.#attempt?.end(
      this.#dropped
        ? { status: this.#status }
        : {
            status: this.#status,
            error:
              this.#abortReason instanceof ClientClosedError
                ? 'TG_ERR_CLIENT_CLOSED'
                : classifyUpstreamError(error, this.#reachedConnection),
          },
    );
    // The client left first: nothing to answer, the exchange records it as a client close.
    if (this.#abortReason instanceof ClientClosedError) {
      this.#code = 'TG_ERR_CLIENT_CLOSED';
      this.#settle();
      return;
    }
    if (this.#dropped || this.#failed) {
      this.#settle();
      return;
    }
    const code = classifyUpstreamError(error, this.#reachedConnection);
    const { exchange, observer } = this.#request;
    if (observer && !exchange.res.headersSent && observer.retryError(code, error)) {
      this.#code = code;
      this.#settle();
      return;
    }
    this.#fail(error);
    this.#settle();
  }

  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    const { exchange, cluster, metrics, plan } = this.#request;
    const code = classifyUpstreamError(error, this.#reachedConnection);
    this.#code = code;
    this.#attempt?.end({ status: this.#status, error: code });
    metrics.upstreamErrors.labels(cluster.id, code).inc();
    if (code === 'TG_ERR_UPSTREAM_CONNECT' || code === 'TG_ERR_UPSTREAM_CONNECT_TIMEOUT')
      metrics.upstreamConnectErrors.labels(cluster.id, connectErrorReason(error)).inc();
    exchange.fail(code, {
      upstream: cluster.id,
      // Error codes (ECONNREFUSED, …) tell the client enough without exposing internal addresses.
      reason:
        code === 'TG_ERR_INTERNAL' ? error.message : ((error as { code?: string }).code ?? error.message),
      timeoutMs:
        code === 'TG_ERR_UPSTREAM_CONNECT_TIMEOUT' ? cluster.connectTimeoutMs : timeoutOf(error, plan),
    });
  }

  #settle(): void {
    if (this.#done) return;
    this.#done = true;
    this.#request.observer?.finished(this.#status, this.#code);
    this.#attempt?.end({ status: this.#status });
    if (this.#timer) clearTimeout(this.#timer);
    clearTimeout(this.#tryTimer);
    this.#request.exchange.upstreamEnded();
  }
}

function timeoutOf(error: Error, plan: RoutePlan): number {
  if (error instanceof UpstreamDeadlineError || error instanceof AttemptTimeoutError) return error.timeoutMs;
  const code = (error as { code?: string }).code;
  return code === 'UND_ERR_BODY_TIMEOUT' ? plan.timeouts.idleMs : plan.timeouts.headersMs;
}

function appendHeader(headers: HeaderMap, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else headers[name] = Array.isArray(existing) ? [...existing, value] : [String(existing), value];
}
