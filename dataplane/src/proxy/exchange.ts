// One client request from arrival to the access-log line: its state, the responses the gateway
// answers itself, and the single place where logging and metrics happen.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  describeError,
  type ErrorCode,
  type ErrorParams,
  type ErrorShape,
  errorShapeFor,
  renderErrorBody,
} from '../errors.ts';
import {
  type AccessLog,
  type AccessRecord,
  type AIAccessRecord,
  endServerSpan,
  type GuardrailAccessRecord,
  type RequestTrace,
  type RouteMetrics,
  traceIdOf,
} from '../observability/index.ts';
import type { RequestContext } from '../policies/index.ts';

/** Lets a generation (one compiled snapshot) know when its last request is over. */
export interface Lease {
  release(): void;
}

export interface ExchangeHooks {
  accessLog: AccessLog;
  /** Metrics for requests that matched no route. */
  unmatchedMetrics: RouteMetrics;
  /** While draining, every response closes its connection. */
  draining(): boolean;
  /** True once a drain has cut the connections still open at its deadline. */
  cutByDrain(): boolean;
  /** Called once per exchange, after logging. */
  onFinished(): void;
  /** Sees every request's record, before access-log sampling (metrics, usage aggregation). */
  observe?(record: AccessRecord): void;
}

const MAX_REQUEST_ID_LENGTH = 200;

export class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly startedAt = performance.now();
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly query: string | undefined;
  /** The Host the client addressed (absolute-form URLs override the header, per RFC 9112). */
  readonly host: string | undefined;

  route: string | undefined;
  routeMetrics: RouteMetrics | undefined;
  cluster: string | undefined;
  upstream: string | undefined;
  errorCode: string | undefined;
  bytesIn = 0;
  bytesOut = 0;
  upstreamStartedAt = 0;
  upstreamMs: number | undefined;
  lease: Lease | undefined;
  /** Aborts the upstream exchange when the client goes away. */
  onClientClosed: ((error: Error) => void) | undefined;
  /** Set by AI routes: errors then take the shape of the API the client called. */
  errorShape: ErrorShape | undefined;
  /** Set by the policy chain: who calls (access log, identity headers upstream). */
  policy: RequestContext | undefined;
  /** Set by AI routes: model, provider, tokens and cost, for the access log. */
  ai: AIAccessRecord | undefined;
  /** Set by AI routes' guardrails: which one acted, for the access log. */
  guardrail: GuardrailAccessRecord | undefined;
  /** The SERVER span when tracing is on; attempt spans hang from it. */
  trace: RequestTrace | undefined;
  /** Upstream attempts made for a plain route (retries included). */
  attempts = 0;

  readonly #hooks: ExchangeHooks;
  #finished = false;

  constructor(req: IncomingMessage, res: ServerResponse, hooks: ExchangeHooks) {
    this.req = req;
    this.res = res;
    this.#hooks = hooks;
    this.method = req.method ?? 'GET';
    const clientId = req.headers['x-request-id'];
    this.requestId =
      typeof clientId === 'string' && clientId.length > 0 && clientId.length <= MAX_REQUEST_ID_LENGTH
        ? clientId
        : randomUUID();

    let url = req.url ?? '/';
    let host = req.headers.host;
    if (url.charCodeAt(0) !== 47 /* / */ && /^https?:\/\//i.test(url)) {
      const parsed = URL.canParse(url) ? new URL(url) : undefined;
      if (parsed) {
        url = `${parsed.pathname}${parsed.search}`;
        host = parsed.host;
      }
    }
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? undefined : url.slice(q + 1);
    this.host = host;

    res.once('close', () => this.#finish());
  }

  /** The request target to send upstream: the path (possibly rewritten) and the original query. */
  target(path: string): string {
    return this.query === undefined ? path : `${path}?${this.query}`;
  }

  upstreamEnded(): void {
    if (this.upstreamStartedAt > 0 && this.upstreamMs === undefined) {
      this.upstreamMs = performance.now() - this.upstreamStartedAt;
    }
  }

  /** Answers with one of our error codes, in the caller's API shape. */
  fail(code: ErrorCode, params: ErrorParams = {}, extraHeaders?: Record<string, string>): void {
    const { status, message } = describeError(code, params);
    this.respondError(code, status, message, extraHeaders);
  }

  respondError(code: string, status: number, message: string, extraHeaders?: Record<string, string>): void {
    this.errorCode = code;
    const { res } = this;
    if (res.headersSent) {
      // Too late for an error response: cutting the connection is the only honest signal left.
      res.destroy();
      return;
    }
    if (res.destroyed) return;
    const body = renderErrorBody(this.errorShape ?? errorShapeFor(this.path), code, status, message);
    const headers: Record<string, string | number> = {
      ...extraHeaders,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'x-tollgate-error-code': code,
      'x-request-id': this.requestId,
    };
    // A request body still arriving cannot be skipped reliably: close the connection after this.
    if ((!this.req.complete && requestHasBody(this.req)) || this.#hooks.draining())
      headers.connection = 'close';
    res.writeHead(status, headers);
    this.bytesOut += headers['content-length'] as number;
    res.end(this.method === 'HEAD' ? undefined : body);
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const { res } = this;
    let status = res.statusCode;
    if (!res.writableFinished) {
      const cause = this.#hooks.cutByDrain() ? 'TG_ERR_DRAIN_DEADLINE' : 'TG_ERR_CLIENT_CLOSED';
      this.errorCode ??= cause;
      if (!res.headersSent) status = describeError(cause).status;
      this.onClientClosed?.(new ClientClosedError());
    }
    this.upstreamEnded();
    const durationMs = performance.now() - this.startedAt;
    const consumer = this.policy?.caller
      ? `${this.policy.caller.namespace}/${this.policy.caller.name}`
      : undefined;
    const requestTrace = this.trace;
    if (requestTrace) {
      endServerSpan(requestTrace, {
        status,
        route: this.route,
        cluster: this.cluster,
        consumer,
        errorCode: this.errorCode,
        bytesIn: this.bytesIn,
        bytesOut: this.bytesOut,
        ...(this.ai ? { ai: this.ai } : {}),
      });
    }
    const traceId = requestTrace ? requestTrace.traceId : traceIdOf(this.req.headers.traceparent);
    const record: AccessRecord = {
      method: this.method,
      host: this.host ?? '',
      path: this.path,
      status,
      route: this.route,
      cluster: this.cluster,
      upstream: this.upstream,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: round(durationMs),
      upstreamMs: this.upstreamMs === undefined ? undefined : round(this.upstreamMs),
      requestId: this.requestId,
      errorCode: this.errorCode,
      ...(traceId ? { traceId } : {}),
      ...(this.attempts > 0 ? { attempts: this.attempts } : {}),
      ...(consumer ? { consumer } : {}),
      ...(this.policy?.caller?.team ? { team: this.policy.caller.team } : {}),
      ...(this.ai ? { ai: this.ai } : {}),
      ...(this.guardrail ? { guardrail: this.guardrail } : {}),
    };
    this.#hooks.observe?.(record);
    this.#hooks.accessLog.write(record);
    (this.routeMetrics ?? this.#hooks.unmatchedMetrics).record(this.method, status, durationMs / 1000);
    this.lease?.release();
    this.#hooks.onFinished();
  }
}

export class ClientClosedError extends Error {
  readonly code = 'TG_ERR_CLIENT_CLOSED';
  constructor() {
    super('the client closed the connection');
    this.name = 'ClientClosedError';
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Whether the request announces a body (Content-Length other than 0, or chunked). */
export function requestHasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
