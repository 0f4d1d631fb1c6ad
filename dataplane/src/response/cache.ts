// Policy cache: an HTTP response cache for GET and HEAD, shared-cache semantics from
// http-cache-semantics (Cache-Control max-age / s-maxage / no-store / private / no-cache, Expires,
// Vary, Authorization). Keys: host + path + query (+ consumer when perConsumer), with one variant
// per distinct set of Vary header values. The policy's ttl is the lifetime of a response that
// states none, and caps any lifetime it states. Clients revalidating (If-None-Match /
// If-Modified-Since) against a fresh entry get a 304 from the gateway; a stale entry with a
// validator is revalidated with the upstream (a 304 there renews it and the client gets the body).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ResponseCacheIR } from '@tollgate/snapshot';
import CachePolicy from 'http-cache-semantics';
import type { Exchange } from '../proxy/exchange.ts';
import type { CachedResponse, ResponseCacheStore } from './cache-store.ts';

export interface ResponseCaching {
  /** Serves `exchange` from the cache, or calls `forward` and stores what comes back if it may. */
  respond(exchange: Exchange, forward: () => void): void;
  /** Adds the conditional headers of a stale entry being revalidated to the upstream request. */
  upstreamHeaders(exchange: Exchange, headers: Record<string, string | string[]>): void;
}

/** Stale entries being revalidated: the validators to send, by the exchange that revalidates. */
const revalidating = new WeakMap<Exchange, Record<string, string>>();

export const CACHE_STATUS_HEADER = 'x-tollgate-cache';

export function compileResponseCaching(ir: ResponseCacheIR, store: ResponseCacheStore): ResponseCaching {
  const ttlSeconds = Math.max(1, Math.floor(ir.ttlMs / 1000));
  return {
    respond(exchange, forward) {
      const { req, res } = exchange;
      if (exchange.method !== 'GET' && exchange.method !== 'HEAD') {
        forward();
        return;
      }
      const consumer = ir.perConsumer ? (exchange.policy?.caller?.id ?? '') : '';
      const key = `${exchange.host ?? ''}\n${exchange.target(exchange.path)}\n${consumer}`;
      const request = { method: 'GET', url: exchange.target(exchange.path), headers: req.headers };
      const variants = store.get(key);
      const hit = variants?.find((v) => v.policy.satisfiesWithoutRevalidation(request));
      if (hit) {
        store.onLookup?.('hit');
        serveCached(exchange, hit);
        return;
      }
      res.setHeader(CACHE_STATUS_HEADER, 'MISS');
      // HEAD has no body to store; conditional requests are the client's own revalidation (their
      // 304s are not stored).
      if (
        exchange.method === 'HEAD' ||
        req.headers['if-none-match'] !== undefined ||
        req.headers['if-modified-since'] !== undefined
      ) {
        forward();
        return;
      }
      let revalidated = false;
      const stale = variants?.find(
        (v) => v.variant === variantOf(v.policy.responseHeaders() as IncomingHttpHeaders, req.headers),
      );
      const conditional = stale ? conditionalHeaders(stale.policy.revalidationHeaders(request)) : undefined;
      if (stale && conditional) {
        revalidating.set(exchange, conditional);
        renewOn304(exchange, stale, ttlSeconds, (renewed) => {
          revalidated = true;
          store.onLookup?.('revalidated');
          store.set(key, renewed);
        });
      }
      // Counted once the upstream answered: a revalidation that comes back 304 is not a miss.
      exchange.res.once('finish', () => {
        if (!revalidated) store.onLookup?.('miss');
      });
      capture(
        exchange,
        (status, headers, body) => {
          const policy = new CachePolicy(
            request,
            { status, headers: withLifetimeCap(headers, ttlSeconds) },
            { shared: true },
          );
          // Vary: * matches no later request: storing it would only take memory.
          if (!policy.storable() || policy.timeToLive() <= 0 || String(headers.vary).trim() === '*') return;
          const bytes = body.length + JSON.stringify(headers).length;
          store.set(key, { policy, status, body, variant: variantOf(headers, req.headers), bytes });
        },
        ir.maxEntryBytes,
      );
      forward();
    },
    upstreamHeaders(exchange, headers) {
      const conditional = revalidating.get(exchange);
      if (conditional) Object.assign(headers, conditional);
    },
  };
}

/** The validators of a revalidation request; undefined when the entry has none to offer. */
function conditionalHeaders(headers: CachePolicy.Headers): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const name of ['if-none-match', 'if-modified-since']) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * When the upstream answers the revalidation with 304, the client gets the stored response
 * (renewed: new lifetime and headers from the 304) instead of a 304 it did not ask for.
 */
function renewOn304(
  exchange: Exchange,
  entry: CachedResponse,
  ttlSeconds: number,
  renew: (entry: CachedResponse) => void,
): void {
  const { res } = exchange;
  const writeHead = res.writeHead as (...args: unknown[]) => typeof res;
  const end = res.end as (...args: unknown[]) => typeof res;
  let renewed: CachedResponse | undefined;
  res.writeHead = function (this: typeof res, statusCode: number, ...rest: unknown[]) {
    if (statusCode !== 304) return writeHead.call(this, statusCode, ...rest);
    const last = rest[rest.length - 1];
    const given = lowercase(
      last && typeof last === 'object' && !Array.isArray(last) ? (last as OutgoingHttpHeaders) : {},
    ) as IncomingHttpHeaders;
    const request = { method: 'GET', url: exchange.target(exchange.path), headers: exchange.req.headers };
    // A 304 that restates the lifetime is capped like any response; one that does not keeps the entry's.
    const headers304 = given['cache-control'] ? withLifetimeCap(given, ttlSeconds) : given;
    const { policy } = entry.policy.revalidatedPolicy(request, { status: 304, headers: headers304 });
    renewed = { ...entry, policy };
    renew(renewed);
    const headers = policy.responseHeaders() as OutgoingHttpHeaders;
    headers[CACHE_STATUS_HEADER] = 'REVALIDATED';
    headers['x-request-id'] = exchange.requestId;
    headers['content-length'] = String(entry.body.length);
    return writeHead.call(this, entry.status, headers);
  } as typeof res.writeHead;
  res.end = function (this: typeof res, ...args: unknown[]) {
    if (!renewed) return end.call(this, ...args);
    exchange.bytesOut += renewed.body.length;
    return end.call(this, exchange.method === 'HEAD' ? undefined : renewed.body);
  } as typeof res.end;
}

/** The request header values a response varies on, as one string (variants of a key differ in it). */
function variantOf(responseHeaders: IncomingHttpHeaders, requestHeaders: IncomingHttpHeaders): string {
  const vary = responseHeaders.vary;
  if (vary === undefined) return '';
  return String(vary)
    .toLowerCase()
    .split(',')
    .map((name) => `${name.trim()}=${String(requestHeaders[name.trim()] ?? '')}`)
    .join('\n');
}

/**
 * The response headers as the cache judges them: no stated lifetime ⇒ `s-maxage=<ttl>`; a longer
 * one is cut to the ttl. (Only the cache's view changes; the client sees the upstream's headers.)
 */
function withLifetimeCap(headers: IncomingHttpHeaders, ttlSeconds: number): IncomingHttpHeaders {
  const cacheControl = String(headers['cache-control'] ?? '');
  const lifetimes = [...cacheControl.matchAll(/(?:^|,)\s*(s-maxage|max-age)\s*=\s*"?(\d+)"?/gi)];
  if (lifetimes.length === 0 && headers.expires !== undefined) return headers;
  const stated = lifetimes.find((m) => m[1]!.toLowerCase() === 's-maxage') ?? lifetimes[0];
  if (stated && Number(stated[2]) <= ttlSeconds) return headers;
  const others = cacheControl
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d.length > 0 && !/^s-maxage\s*=/i.test(d));
  return { ...headers, 'cache-control': [...others, `s-maxage=${ttlSeconds}`].join(', ') };
}

function serveCached(exchange: Exchange, entry: CachedResponse): void {
  const { req, res } = exchange;
  const headers = entry.policy.responseHeaders() as OutgoingHttpHeaders;
  headers[CACHE_STATUS_HEADER] = 'HIT';
  headers['x-request-id'] = exchange.requestId;
  if (notModified(req.headers, headers)) {
    for (const name of ['content-length', 'content-type', 'content-encoding', 'transfer-encoding'])
      delete headers[name];
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['content-length'] = String(entry.body.length);
  res.writeHead(entry.status, headers);
  exchange.bytesOut += entry.body.length;
  res.end(exchange.method === 'HEAD' ? undefined : entry.body);
}

/** RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since. */
function notModified(request: IncomingHttpHeaders, response: OutgoingHttpHeaders): boolean {
  const ifNoneMatch = request['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const etag = response.etag;
    if (typeof etag !== 'string') return false;
    const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
    return ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => opaque(tag) === opaque(etag));
  }
  const since = request['if-modified-since'];
  const lastModified = response['last-modified'];
  if (since === undefined || typeof lastModified !== 'string') return false;
  const sinceMs = Date.parse(since);
  const modifiedMs = Date.parse(lastModified);
  return !Number.isNaN(sinceMs) && !Number.isNaN(modifiedMs) && modifiedMs <= sinceMs;
}

/**
 * Tees the response as it is written: status and headers at writeHead, the body up to `maxBytes`;
 * at the end, `done` gets them (a body over the limit, or a response cut short, is not stored).
 */
function capture(
  exchange: Exchange,
  done: (status: number, headers: IncomingHttpHeaders, body: Buffer) => void,
  maxBytes: number,
): void {
  const { res } = exchange;
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  let status = 0;
  let headers: IncomingHttpHeaders = {};
  let chunks: Buffer[] | undefined = [];
  let size = 0;
  const keep = (chunk: unknown) => {
    if (!chunks || chunk === undefined || typeof chunk === 'function') return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > maxBytes) chunks = undefined;
    else chunks.push(buffer);
  };
  res.writeHead = function (this: typeof res, statusCode: number, ...rest: unknown[]) {
    status = statusCode;
    const last = rest[rest.length - 1];
    const given =
      last && typeof last === 'object' && !Array.isArray(last) ? (last as OutgoingHttpHeaders) : {};
    // Only what the upstream sent: headers set before (CORS, rate limits) belong to this request.
    headers = lowercase(given) as IncomingHttpHeaders;
    delete headers[CACHE_STATUS_HEADER];
    delete headers['x-request-id'];
    return (writeHead as (...args: unknown[]) => typeof res).call(this, statusCode, ...rest);
  } as typeof res.writeHead;
  res.write = function (this: typeof res, chunk: unknown, ...rest: unknown[]) {
    keep(chunk);
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof res.write;
  res.end = function (this: typeof res, chunk?: unknown, ...rest: unknown[]) {
    keep(chunk);
    const result = (end as (...args: unknown[]) => typeof res).call(this, chunk, ...rest);
    // Only a response that reached its end is complete; errors answered by the gateway carry a code.
    if (chunks && status > 0 && exchange.errorCode === undefined)
      done(status, headers, Buffer.concat(chunks));
    chunks = undefined;
    return result;
  } as typeof res.end;
}

function lowercase(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}
