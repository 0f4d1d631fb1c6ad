// One client request's way upstream when it may take several attempts: admission under the
// cluster's concurrency limits (circuit breaking), the endpoint for each attempt, retries with
// back-off inside the request deadline and the retry budget, and what each attempt teaches the
// cluster (in-flight counts, latency, passive outlier detection). Each attempt is one call of
// `forward` (forward.ts), which owns the wire and the attempt's span.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import type { ErrorCode } from '../errors.ts';
import type { DataplaneMetrics } from '../observability/index.ts';
import type { UpstreamCluster, UpstreamEndpoint } from '../upstream/index.ts';
import type { Exchange } from './exchange.ts';
import { type AttemptObserver, AttemptTimeoutError, forward, UpstreamDeadlineError } from './forward.ts';
import type { HeaderMap } from './headers.ts';
import type { AttemptFailure, RetryPolicy } from './retry-policy.ts';
import type { RoutePlan } from './route-plan.ts';

export interface UpstreamCallRequest {
  exchange: Exchange;
  plan: RoutePlan;
  cluster: UpstreamCluster;
  path: string;
  headers: HeaderMap;
  /** The client's body stream, or the body already read. */
  body: Readable | Buffer | null;
  metrics: DataplaneMetrics;
  draining: () => boolean;
  clientIP: string | undefined;
  /** A header the response must carry (session persistence), name and value. */
  responseHeader?: [string, string] | undefined;
}

/** Sends the request upstream, retrying as the route's policy allows; answers the client in every case. */
export function startUpstreamCall(request: UpstreamCallRequest): void {
  const { cluster, exchange } = request;
  if (cluster.state.limits === undefined && request.plan.retry === undefined) {
    // The common case: no limits, no retries — one attempt, nothing to hold on to.
    new UpstreamCall(request, false).attempt();
    return;
  }
  const call = new UpstreamCall(request, true);
  let queueTimer: NodeJS.Timeout | undefined;
  const granted = (): void => {
    clearTimeout(queueTimer);
    call.admitted();
  };
  const admission = cluster.state.admit(granted);
  if (admission === 'overflow') {
    const limit = cluster.state.limits?.maxRequests ?? 0;
    request.metrics.upstreamErrors.labels(cluster.id, 'TG_ERR_UPSTREAM_OVERFLOW').inc();
    exchange.fail('TG_ERR_UPSTREAM_OVERFLOW', { upstream: cluster.id, limit });
    return;
  }
  if (admission === 'queued') {
    // A request waiting for a slot is still bound by its deadline.
    const { totalMs } = request.plan.timeouts;
    if (totalMs !== undefined) {
      queueTimer = setTimeout(() => {
        cluster.state.withdraw(granted);
        request.metrics.upstreamErrors.labels(cluster.id, 'TG_ERR_UPSTREAM_TIMEOUT').inc();
        exchange.fail('TG_ERR_UPSTREAM_TIMEOUT', { upstream: cluster.id, timeoutMs: totalMs });
      }, totalMs);
    }
    exchange.onClientClosed = () => {
      clearTimeout(queueTimer);
      cluster.state.withdraw(granted);
    };
    return;
  }
  call.admitted();
}

class UpstreamCall implements AttemptObserver {
  readonly #request: UpstreamCallRequest;
  readonly #retry: RetryPolicy | undefined;
  /** Whether this call holds a concurrency slot of the cluster. */
  readonly #holdsSlot: boolean;
  readonly #deadlineAt: number | undefined;
  #body: Readable | Buffer | null;
  /** Whether the body can be sent again (absent, or buffered). */
  #replayable: boolean;
  #retriesDone = 0;
  #endpoint: UpstreamEndpoint | undefined;
  #attemptStartedAt = 0;
  #isRetry = false;
  #retryScheduled = false;
  #ended = false;

  constructor(request: UpstreamCallRequest, holdsSlot: boolean) {
    this.#request = request;
    this.#retry = request.plan.retry;
    this.#holdsSlot = holdsSlot;
    const { totalMs } = request.plan.timeouts;
    this.#deadlineAt = totalMs === undefined ? undefined : performance.now() + totalMs;
    this.#body = request.body;
    this.#replayable = !(request.body !== null && !Buffer.isBuffer(request.body));
  }

  /**
   * The request holds its slot: read a body of up to bufferBodyLimit bytes so it can be replayed
   * (a larger one, by Content-Length or once it outgrows the limit, streams on), then attempt.
   */
  admitted(): void {
    const { exchange } = this.#request;
    if (exchange.res.destroyed) {
      this.#end();
      return;
    }
    const body = this.#body;
    const limit = this.#retry?.ir.bufferBodyLimit ?? 0;
    const length = Number(exchange.req.headers['content-length'] ?? Number.NaN);
    if (this.#retry && body !== null && !Buffer.isBuffer(body) && !(length > limit)) {
      exchange.onClientClosed = () => this.#end();
      readUpTo(body, limit).then(
        (read) => {
          if (Buffer.isBuffer(read)) {
            this.#body = read;
            this.#replayable = true;
          } else this.#body = read;
          this.attempt();
        },
        (error: Error) => {
          // A client that left needs no answer; a body that broke otherwise does.
          if (!exchange.res.headersSent && !exchange.res.destroyed)
            exchange.fail('TG_ERR_BAD_REQUEST', {
              reason: `the request body could not be read: ${error.message}`,
            });
          this.#end();
        },
      );
      return;
    }
    this.attempt();
  }

  /** One attempt on the next endpoint; the single place a new upstream exchange starts. */
  attempt(): void {
    const { exchange, cluster, metrics, plan } = this.#request;
    const endpoint = this.#pickEndpoint();
    if (!endpoint) {
      metrics.upstreamErrors.labels(cluster.id, 'TG_ERR_NO_HEALTHY_UPSTREAM').inc();
      exchange.fail('TG_ERR_NO_HEALTHY_UPSTREAM', { route: plan.id });
      this.#end();
      return;
    }
    this.#endpoint = endpoint;
    exchange.upstream = endpoint.address;
    endpoint.state.inFlight++;
    if (this.#isRetry) cluster.state.retriesActive++;
    this.#attemptStartedAt = performance.now();
    const { path, headers, draining, responseHeader } = this.#request;
    forward({
      exchange,
      plan,
      cluster,
      endpoint,
      path,
      headers,
      body: this.#body,
      metrics,
      draining,
      deadlineAt: this.#deadlineAt,
      responseHeader,
      observer: this,
      resend: this.#isRetry,
    });
  }

  #pickEndpoint(): UpstreamEndpoint | undefined {
    const { cluster, exchange, clientIP } = this.#request;
    const first = cluster.hashes
      ? cluster.pick({ headers: exchange.req.headers, query: exchange.query, clientIP })
      : cluster.next();
    if (!this.#isRetry || !first || first !== this.#endpoint || cluster.endpointCount < 2) return first;
    // A retry prefers another endpoint than the one that just failed.
    for (let i = 0; i < 3; i++) {
      const other = cluster.next();
      if (other && other !== this.#endpoint) return other;
    }
    return first;
  }

  // ---- AttemptObserver (called by forward.ts) --------------------------------------------------

  retryStatus(status: number, headers: IncomingHttpHeaders): boolean {
    // Peak EWMA measures time to response headers.
    this.#endpoint?.state.recordLatency(performance.now() - this.#attemptStartedAt);
    if (!this.#retry?.retriesStatus(status)) return false;
    return this.#tryRetry({ kind: 'status', status }, status === 429 ? retryAfterMs(headers) : undefined);
  }

  retryError(code: ErrorCode, error: Error): boolean {
    if (!this.#retry || error instanceof UpstreamDeadlineError) return false;
    const errorCode = (error as { code?: string }).code;
    let failure: AttemptFailure;
    // A connect that failed or timed out sent nothing: always safe to retry.
    if (code === 'TG_ERR_UPSTREAM_CONNECT' || code === 'TG_ERR_UPSTREAM_CONNECT_TIMEOUT')
      failure = { kind: 'connect-failure' };
    else if (code === 'TG_ERR_UPSTREAM_RESET') failure = { kind: 'reset' };
    else if (error instanceof AttemptTimeoutError || errorCode === 'UND_ERR_HEADERS_TIMEOUT')
      failure = { kind: 'timeout' };
    else return false;
    return this.#tryRetry(failure);
  }

  finished(status: number, code: ErrorCode | undefined): void {
    const endpoint = this.#endpoint;
    const { cluster } = this.#request;
    if (endpoint) {
      endpoint.state.inFlight--;
      const failed =
        status >= 500 ||
        code === 'TG_ERR_UPSTREAM_CONNECT' ||
        code === 'TG_ERR_UPSTREAM_CONNECT_TIMEOUT' ||
        code === 'TG_ERR_UPSTREAM_RESET' ||
        code === 'TG_ERR_UPSTREAM_TIMEOUT';
      if (code !== 'TG_ERR_CLIENT_CLOSED') cluster.state.report(endpoint.state, failed);
    }
    if (this.#isRetry) cluster.state.retriesActive--;
    if (!this.#retryScheduled) this.#end();
  }

  // ---- retries ------------------------------------------------------------------------------

  /** `waitMs`: what the upstream asked for (429 Retry-After), the least delay before the retry. */
  #tryRetry(failure: AttemptFailure, waitMs?: number): boolean {
    const retry = this.#retry!;
    const { exchange, cluster } = this.#request;
    const condition = retry.condition(failure);
    if (condition === undefined) return false;
    if (this.#retriesDone >= retry.attempts) return false;
    // A streamed body is gone once sent: only a buffered (or absent) body can be sent again.
    if (!this.#replayable) return false;
    if (!retry.methodAllows(exchange.method, failure)) return false;
    if (!cluster.state.retryAllowed(retry.ir.budgetPercent, retry.ir.minRetryConcurrency)) return false;
    if (exchange.res.headersSent || exchange.res.destroyed) return false;
    if (waitMs !== undefined && waitMs > MAX_RETRY_AFTER_MS) return false;
    const delay = Math.max(retry.backoffMs(this.#retriesDone + 1), waitMs ?? 0);
    if (this.#deadlineAt !== undefined && performance.now() + delay >= this.#deadlineAt) return false;
    this.#retriesDone++;
    this.#retryScheduled = true;
    const timer = setTimeout(() => {
      this.#retryScheduled = false;
      if (exchange.res.destroyed) {
        this.#end();
        return;
      }
      this.#isRetry = true;
      this.attempt();
    }, delay);
    exchange.onClientClosed = () => {
      clearTimeout(timer);
      this.#retryScheduled = false;
      this.#end();
    };
    return true;
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#holdsSlot) this.#request.cluster.state.release();
  }
}

/** Longest Retry-After a retry waits for; beyond it the 429 goes to the client. */
const MAX_RETRY_AFTER_MS = 10_000;

/** Retry-After in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
function retryAfterMs(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['retry-after'];
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The whole body when it ends within `limit` bytes; otherwise a stream of what was read followed
 * by the rest, still flowing with backpressure.
 */
async function readUpTo(stream: Readable, limit: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await iterator.next();
    if (next.done) return Buffer.concat(chunks, size);
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) {
      return Readable.from(
        (async function* () {
          yield* chunks;
          for (let rest = await iterator.next(); !rest.done; rest = await iterator.next()) yield rest.value;
        })(),
        { objectMode: false },
      );
    }
  }
}
