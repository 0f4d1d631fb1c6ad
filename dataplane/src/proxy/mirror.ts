// Request mirroring: a copy of the request goes to each mirror cluster, fire-and-forget. The
// mirror's answer is discarded and its failures are only counted; a slow mirror never slows the
// client's request (its body copy is dropped once too much of it is waiting).
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { DataplaneMetrics } from '../observability/index.ts';
import type { UpstreamCluster } from '../upstream/index.ts';
import { classifyUpstreamError } from './forward.ts';
import type { HeaderMap } from './headers.ts';
import type { UpstreamTimeouts } from './route-plan.ts';

/** Body bytes a mirror may fall behind the client's request before the mirror is dropped. */
const MAX_MIRROR_BACKLOG_BYTES = 1024 * 1024;

export interface MirrorRequest {
  req: IncomingMessage;
  method: string;
  path: string;
  headers: HeaderMap;
  /** Whether the client request has a body to copy. */
  hasBody: boolean;
  /** The body, when it was already read (model-matched routes read it to find the model). */
  bufferedBody?: Buffer;
  timeouts: UpstreamTimeouts;
  metrics: DataplaneMetrics;
}

export function startMirrors(mirrors: readonly UpstreamCluster[], request: MirrorRequest): void {
  for (const cluster of mirrors) {
    const endpoint = cluster.next();
    if (!endpoint) {
      request.metrics.mirrorErrors.labels(cluster.id, 'TG_ERR_NO_HEALTHY_UPSTREAM').inc();
      continue;
    }
    const headers = { ...request.headers };
    if (cluster.authority) headers.host = cluster.authority;
    const copy = request.bufferedBody === undefined && request.hasBody ? copyBody(request.req) : null;
    const body = request.bufferedBody ?? copy;
    endpoint.pool.dispatch(
      {
        path: request.path,
        method: request.method,
        headers,
        body,
        headersTimeout: request.timeouts.headersMs,
        bodyTimeout: request.timeouts.idleMs,
      },
      new MirrorHandler(cluster.id, request.metrics, copy),
    );
  }
}

/** A copy of the request body fed from the client stream's data events, never pausing it. */
function copyBody(req: IncomingMessage): Readable {
  const copy = new PassThrough();
  const onData = (chunk: Buffer): void => {
    if (copy.writableLength > MAX_MIRROR_BACKLOG_BYTES) {
      cleanup();
      copy.destroy(Object.assign(new Error('mirror fell too far behind'), { code: 'TG_ERR_MIRROR_BACKLOG' }));
      return;
    }
    copy.write(chunk);
  };
  const onEnd = (): void => {
    cleanup();
    copy.end();
  };
  const onAbort = (): void => {
    cleanup();
    copy.destroy(new Error('client request aborted'));
  };
  const cleanup = (): void => {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onAbortIfIncomplete);
  };
  const onAbortIfIncomplete = (): void => {
    if (!req.complete) onAbort();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onAbortIfIncomplete);
  return copy;
}

class MirrorHandler implements Dispatcher.DispatchHandler {
  readonly #cluster: string;
  readonly #metrics: DataplaneMetrics;
  readonly #body: Readable | null;
  #reachedConnection = false;

  constructor(cluster: string, metrics: DataplaneMetrics, body: Readable | null) {
    this.#cluster = cluster;
    this.#metrics = metrics;
    this.#body = body;
  }

  onRequestStart(): void {
    this.#reachedConnection = true;
  }

  // The mirror's answer is read and dropped.
  onResponseStart(): void {}
  onResponseData(): void {}
  onResponseEnd(): void {}

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    const ownCode = (error as { code?: string }).code;
    const code =
      ownCode === 'TG_ERR_MIRROR_BACKLOG' ? ownCode : classifyUpstreamError(error, this.#reachedConnection);
    this.#metrics.mirrorErrors.labels(this.#cluster, code).inc();
    this.#body?.destroy();
  }
}
