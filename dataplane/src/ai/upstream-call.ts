// One attempt's HTTP exchange with a provider through the cluster's undici pool. Failures before
// a response (connect, timeout, reset) come back as a ProviderError so the caller can fall back.
// The exchange goes through undici's dispatch API with a handler of our own: the response body
// reaches its reader chunk by chunk (no Readable, no async iteration) and the attempt is aborted
// through a CallAbort (no AbortSignal and its listeners per attempt).
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

/** No connection to the provider was established within its own connect timeout. */
export class ConnectTimeoutError extends DeadlineError {
  constructor(timeoutMs: number) {
    super(`no connection within ${timeoutMs} ms`, timeoutMs);
  }
}

/** The reader of a response body gave it up. */
class BodyDestroyedError extends Error {
  constructor() {
    super('the response body was abandoned');
    this.name = 'BodyDestroyedError';
  }
}

/**
 * Aborts one attempt's call (timers, the client leaving, the route's deadline): what an
 * AbortController does for it, without an event target per attempt. The first reason wins.
 */
export class CallAbort {
  reason: Error | undefined;
  #listener: ((reason: Error) => void) | undefined;

  get aborted(): boolean {
    return this.reason !== undefined;
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.(reason);
  }

  /** The call in flight (one at a time). */
  listen(listener: ((reason: Error) => void) | undefined): void {
    this.#listener = listener;
  }
}

/** Receives a response body chunk by chunk. */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
  error(error: Error): void;
}

/**
 * A provider's response body as undici delivers it. Chunks that arrive together (one read from the
 * provider's socket) reach the reader as one, after the parser is done with the read; chunks that
 * arrive before a reader attaches wait for it. `pause` holds the provider back (the connection's
 * flow control) until `resume`.
 */
export class UpstreamBody {
  readonly #controller: Dispatcher.DispatchController;
  #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #failure: Error | undefined;
  #sink: BodySink | undefined;
  #paused = false;
  #closed = false;
  #scheduled = false;
  readonly #flushLater = (): void => {
    this.#scheduled = false;
    this.#flush();
  };

  constructor(controller: Dispatcher.DispatchController) {
    this.#controller = controller;
  }

  /** Reads the whole body as text, at most `limit` bytes (more is an error). */
  text(limit: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let first: Buffer | undefined;
      let chunks: Buffer[] | undefined;
      let size = 0;
      this.consume({
        data: (chunk) => {
          size += chunk.length;
          if (size > limit) {
            this.destroy();
            reject(new Error(`the response is larger than ${limit} bytes`));
            return;
          }
          if (first === undefined) first = chunk;
          else if (chunks) chunks.push(chunk);
          else chunks = [first, chunk];
        },
        end: () => {
          if (chunks) resolve(Buffer.concat(chunks, size).toString('utf8'));
          else resolve(first ? first.toString('utf8') : '');
        },
        error: reject,
      });
    });
  }

  /** Attaches the one reader: what arrived so far at once, then as it arrives. */
  consume(sink: BodySink): void {
    this.#sink = sink;
    this.#flush();
  }

  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.#controller.pause();
  }

  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#flush();
    if (!this.#paused && !this.#closed) this.#controller.resume();
  }

  /** Gives the body up: the rest is not read and the connection is not reused. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink = undefined;
    this.#queue = [];
    if (!this.#ended && !this.#failure) this.#controller.abort(new BodyDestroyedError());
  }

  /** From the handler. */
  push(chunk: Buffer): void {
    if (this.#closed) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#schedule();
  }

  finish(): void {
    this.#ended = true;
    this.#schedule();
  }

  /** A failure reaches the reader before anything still queued (which is dropped), paused or not. */
  fail(error: Error): void {
    this.#failure = error;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled || !this.#sink) return;
    this.#scheduled = true;
    queueMicrotask(this.#flushLater);
  }

  #flush(): void {
    const sink = this.#sink;
    if (!sink || this.#closed) return;
    if (this.#failure) {
      this.#closed = true;
      this.#queue = [];
      sink.error(this.#failure);
      return;
    }
    if (this.#paused) return;
    const queue = this.#queue;
    if (queue.length > 0) {
      const chunk = queue.length === 1 ? queue[0]! : Buffer.concat(queue, this.#queued);
      this.#queue = [];
      this.#queued = 0;
      sink.data(chunk);
      // The reader may have paused, given up or met a failure meanwhile.
      if (this.#closed || this.#sink !== sink) return;
      if (this.#failure) {
        this.#flush();
        return;
      }
      if (this.#paused || this.#queue.length > 0) return;
    }
    if (this.#ended) {
      this.#closed = true;
      sink.end();
    }
  }
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: UpstreamBody;
}

export type CallResult = { ok: true; response: UpstreamResponse } | { ok: false; error: ProviderError };

export interface CallOptions {
  cluster: UpstreamCluster;
  request: UpstreamRequest;
  extraHeaders: Record<string, string>;
  /** Aborted ⇒ the call fails (its reason decides how: see transportError). */
  abort: CallAbort;
  /** Longest silence between response body chunks; 0 ⇒ none. */
  idleMs: number;
  /**
   * The provider's own connect deadline (TCP and TLS, or waiting for a pooled connection); 0 ⇒ the
   * pool's. The pools are shared per endpoint, so it is enforced per request, not per pool.
   */
  connectMs?: number;
}

export function callUpstream(options: CallOptions): Promise<CallResult> {
  const { cluster, request, abort } = options;
  const endpoint = cluster.next();
  if (!endpoint)
    return Promise.resolve({
      ok: false,
      error: { status: 0, kind: 'connect', message: `${cluster.id} has no endpoint` },
    });
  if (abort.reason) return Promise.resolve({ ok: false, error: transportError(abort.reason, abort) });
  const headers: Record<string, string> = { ...options.extraHeaders, ...request.headers };
  if (cluster.authority) headers.host = cluster.authority;
  return new Promise((resolve) => {
    const handler = new CallHandler(abort, resolve, options.connectMs ?? 0);
    endpoint.pool.dispatch(
      {
        method: request.method,
        path: request.path,
        headers,
        body: request.body ?? null,
        // The attempt's deadline is the caller's timer (it also covers the first event); the idle
        // timeout guards a stream that goes silent afterwards.
        headersTimeout: 0,
        bodyTimeout: options.idleMs,
      },
      handler,
    );
  });
}

/** Settles the call with the response head, then hands the body's chunks to its UpstreamBody. */
class CallHandler implements Dispatcher.DispatchHandler {
  readonly #abort: CallAbort;
  #resolve: ((result: CallResult) => void) | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #body: UpstreamBody | undefined;
  #connectTimer: NodeJS.Timeout | undefined;

  constructor(abort: CallAbort, resolve: (result: CallResult) => void, connectMs: number) {
    this.#abort = abort;
    this.#resolve = resolve;
    abort.listen((reason) => this.#aborted(reason));
    if (connectMs > 0)
      this.#connectTimer = setTimeout(() => abort.abort(new ConnectTimeoutError(connectMs)), connectMs);
  }

  #aborted(reason: Error): void {
    clearTimeout(this.#connectTimer);
    if (this.#controller) {
      this.#controller.abort(reason);
      return;
    }
    // Still waiting for a connection: fail now; the queued request is aborted once it starts.
    this.#settle({ ok: false, error: transportError(reason, this.#abort) });
  }

  #settle(result: CallResult): void {
    const resolve = this.#resolve;
    if (!resolve) return;
    this.#resolve = undefined;
    resolve(result);
  }

  // undici starts a request only once it is on an open connection: time before it is connect time.
  onRequestStart(controller: Dispatcher.DispatchController): void {
    clearTimeout(this.#connectTimer);
    this.#controller = controller;
    if (this.#abort.reason) controller.abort(this.#abort.reason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return;
    if (!this.#resolve) {
      controller.abort(new BodyDestroyedError());
      return;
    }
    const body = new UpstreamBody(controller);
    this.#body = body;
    this.#settle({ ok: true, response: { status: statusCode, headers, body } });
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#body?.push(chunk);
  }

  onResponseEnd(): void {
    this.#abort.listen(undefined);
    this.#body?.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    clearTimeout(this.#connectTimer);
    this.#abort.listen(undefined);
    const reason = this.#abort.reason ?? error;
    if (this.#body) this.#body.fail(reason);
    else this.#settle({ ok: false, error: transportError(reason, this.#abort) });
  }
}

/** A failure below HTTP as a ProviderError: timeouts, connect failures, resets. */
export function transportError(error: Error, abort: CallAbort): ProviderError {
  const reason = abort.reason;
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
