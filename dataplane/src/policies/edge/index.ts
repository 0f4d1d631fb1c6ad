// The edge steps of one route entry, compiled once per snapshot from its EdgePolicyIR. Inbound
// (before authentication): IP filter → size limits → CORS, then the response is wrapped for
// compression. Outbound (around the upstream call of HTTP routes): the response cache, wrapped
// outside the compression so it stores the identity body and every client gets it encoded as it
// accepts. Entries without edge sections get no steps at all.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { EdgePolicyIR } from '@tollgate/snapshot';
import type { Exchange } from '../../proxy/exchange.ts';
import {
  type Compression,
  compileCompression,
  compileResponseCaching,
  type ResponseCacheStore,
  type ResponseCaching,
} from '../../response/index.ts';
import { compileCors } from './cors.ts';
import { compileIPFilter } from './ip-filter.ts';
import { BodyLimiter, checkDeclaredSizes } from './limits.ts';

export { preflightMethod } from './cors.ts';
export { compileIPFilter, type IPFilter } from './ip-filter.ts';

export interface EdgeSteps {
  /** Runs before the policy chain; true when it answered the request itself (refusal, preflight). */
  inbound(exchange: Exchange, clientAddress: string | undefined): boolean;
  /** The IP filter alone (upgrade requests, which have no response object); absent ⇒ any address. */
  allowsAddress?(clientAddress: string | undefined): boolean;
  /** The body to send upstream in place of the client's stream (a chunked body under a limit). */
  requestBody?(exchange: Exchange): Readable | undefined;
  /** Wraps the upstream call of HTTP routes: the response cache. */
  respond?(exchange: Exchange, forward: () => void): void;
  /** Last word on the upstream request headers (the cache's revalidation validators). */
  upstreamHeaders?(exchange: Exchange, headers: Record<string, string | string[]>): void;
}

export interface EdgeContext {
  /** The process's response cache; without one, cache sections are ignored. */
  responseCache?: ResponseCacheStore;
}

export function compileEdgeSteps(ir: EdgePolicyIR | undefined, context: EdgeContext): EdgeSteps | undefined {
  if (!ir) return undefined;
  const ipAllowed = ir.ipFilter ? compileIPFilter(ir.ipFilter) : undefined;
  const limits = ir.limits;
  const cors = ir.cors ? compileCors(ir.cors) : undefined;
  const compression: Compression | undefined = ir.compression
    ? compileCompression(ir.compression)
    : undefined;
  const caching: ResponseCaching | undefined =
    ir.cache && context.responseCache ? compileResponseCaching(ir.cache, context.responseCache) : undefined;
  const maxBody = limits?.maxRequestBodyBytes;

  const steps: EdgeSteps = {
    inbound(exchange, clientAddress) {
      if (ipAllowed && !ipAllowed(clientAddress)) {
        exchange.fail('TG_ERR_IP_FORBIDDEN', { ip: clientAddress ?? 'unknown' });
        return true;
      }
      if (limits) {
        const verdict = checkDeclaredSizes(exchange.req, limits);
        if (verdict?.code === 'TG_ERR_REQUEST_BODY_TOO_LARGE') {
          exchange.fail(verdict.code, { limit: verdict.limit });
          return true;
        }
        if (verdict) {
          exchange.fail(verdict.code, { reason: verdict.reason });
          return true;
        }
      }
      if (cors) {
        const preflight = cors.preflight(exchange.req);
        if (preflight.kind === 'refused') {
          exchange.fail('TG_ERR_CORS_FORBIDDEN', { origin: preflight.origin, reason: preflight.reason });
          return true;
        }
        if (preflight.kind === 'allowed') {
          exchange.res.writeHead(204, {
            ...preflight.headers,
            'content-length': '0',
            'x-request-id': exchange.requestId,
          });
          exchange.res.end();
          return true;
        }
        const headers = cors.actual(exchange.req);
        if (headers) applyCorsHeaders(exchange.res, headers);
      }
      // Whatever answers from here on (upstream, AI gateway, a refusal) is compressed as negotiated.
      compression?.wrap(exchange.req, exchange.res);
      return false;
    },
  };
  if (ipAllowed) steps.allowsAddress = ipAllowed;
  if (maxBody !== undefined) {
    steps.requestBody = (exchange) => {
      // A declared length was checked up front; only chunked bodies need counting.
      if (exchange.req.headers['content-length'] !== undefined) return undefined;
      const limiter = new BodyLimiter(maxBody, () => {
        exchange.fail('TG_ERR_REQUEST_BODY_TOO_LARGE', { limit: maxBody });
        // The upstream must not take a cut-short body for a whole one: abort it once the 413 is out.
        const abort = () => limiter.destroy(new Error(`request body over ${maxBody} bytes`));
        if (exchange.res.writableFinished) abort();
        else exchange.res.once('finish', abort);
      });
      exchange.req.pipe(limiter);
      return limiter;
    };
  }
  if (caching) steps.upstreamHeaders = (exchange, headers) => caching.upstreamHeaders(exchange, headers);
  if (caching) steps.respond = (exchange, forward) => caching.respond(exchange, forward);
  return steps;
}

/**
 * The route's CORS answer is the gateway's: its headers win over the upstream's, except Vary,
 * which keeps the upstream's values and gains ours. Gateway errors carry them too (set now).
 */
function applyCorsHeaders(res: ServerResponse, cors: Record<string, string>): void {
  for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
  const writeHead = res.writeHead as (...args: unknown[]) => ServerResponse;
  res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    const last = rest[rest.length - 1];
    if (last && typeof last === 'object' && !Array.isArray(last)) {
      const given = last as OutgoingHttpHeaders;
      for (const [name, value] of Object.entries(cors)) {
        if (name !== 'vary') given[name] = value;
        else if (given.vary === undefined) given.vary = value;
        else if (!/(^|,)\s*origin\s*(,|$)/i.test(String(given.vary)))
          given.vary = `${String(given.vary)}, ${value}`;
      }
    }
    return writeHead.call(this, statusCode, ...rest);
  } as ServerResponse['writeHead'];
}
