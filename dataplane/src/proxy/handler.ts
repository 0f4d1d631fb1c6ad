// The node:http side of the proxy: per request, route lookup, then a direct answer (error,
// direct response, redirect) or a forward to a backend chosen by weight.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { PassThrough, type Readable } from 'node:stream';
import type { AIGateway } from '../ai/index.ts';
import { describeError, errorShapeFor, renderErrorBody } from '../errors.ts';
import {
  type AccessLog,
  admissionDecision,
  type DataplaneMetrics,
  type DataplaneTracer,
  type RequestObserver,
  type RouteMetrics,
} from '../observability/index.ts';
import { preflightMethod } from '../policies/edge/index.ts';
import { type Admission, identityHeaders } from '../policies/index.ts';
import { type MatchInput, normalizeHost, type RouteMatch, type Router } from '../router/index.ts';
import { Exchange, type Lease, requestHasBody } from './exchange.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { startMirrors } from './mirror.ts';
import { hostHeaderPort, redirectLocation } from './rewrite.ts';
import type { RoutePlan } from './route-plan.ts';
import { startUpstreamCall } from './upstream-call.ts';

/** One compiled snapshot, as the proxy sees it. */
export interface ProxyConfig {
  readonly router: Router<RoutePlan>;
  /** Keeps this config's pools open until the request that took the lease releases it. */
  lease(): Lease;
}

export interface ProxyOptions {
  /** The active config; a request keeps the one it started with. */
  config(): ProxyConfig | undefined;
  accessLog: AccessLog;
  metrics: DataplaneMetrics;
  routeMetrics(routeId: string): RouteMetrics;
  /** While draining, every response closes its connection. */
  draining(): boolean;
  /** True once a drain has cut the connections still open at its deadline. */
  cutByDrain(): boolean;
  requestStarted(): void;
  requestFinished(): void;
  /** The scheme clients use to reach this listener. */
  scheme?: 'http' | 'https';
  /** Serves AI routes (model routing, provider translation, metering). */
  ai?: AIGateway;
  /** Present only when tracing is on: requests then get a SERVER span. */
  tracer?: DataplaneTracer;
  /** Per-request metrics beyond the route's RED set, and the usage aggregation. */
  observer?: RequestObserver;
}

export interface ProxyHandlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  /** Upgrade (websocket) requests: not supported yet, answered 501. */
  upgrade(req: IncomingMessage, socket: Duplex): void;
}

export function createProxyHandlers(options: ProxyOptions): ProxyHandlers {
  const { metrics, draining } = options;
  const scheme = options.scheme ?? 'http';
  const { tracer, observer } = options;
  const hooks = {
    accessLog: options.accessLog,
    unmatchedMetrics: options.routeMetrics(''),
    draining,
    cutByDrain: options.cutByDrain,
    ...(observer ? { observe: observer.finished.bind(observer) } : {}),
    onFinished: () => {
      metrics.inflightRequests.dec();
      options.requestFinished();
    },
  };

  function request(req: IncomingMessage, res: ServerResponse): void {
    metrics.inflightRequests.inc();
    options.requestStarted();
    const exchange = new Exchange(req, res, hooks);
    if (tracer) {
      exchange.trace = tracer.startRequest(req, {
        method: exchange.method,
        path: exchange.path,
        host: exchange.host,
        scheme,
      });
    }
    if (draining()) res.setHeader('connection', 'close');
    try {
      serve(exchange);
    } catch (error) {
      exchange.fail('TG_ERR_INTERNAL', { reason: (error as Error).message });
    }
  }

  function serve(exchange: Exchange): void {
    const { req } = exchange;
    if (wantsUpgrade(req)) {
      exchange.fail('TG_ERR_UPGRADE_NOT_SUPPORTED', { protocol: req.headers.upgrade });
      return;
    }
    const config = options.config();
    if (!config) {
      exchange.fail('TG_ERR_NOT_READY');
      return;
    }
    exchange.lease = config.lease();
    const input: MatchInput = {
      host: exchange.host,
      path: exchange.path,
      // A CORS preflight is routed as the request it announces, so the route's CORS policy answers it.
      method: exchange.method === 'OPTIONS' ? (preflightMethod(req) ?? 'OPTIONS') : exchange.method,
      headers: req.headers,
      query: exchange.query,
    };
    const match = config.router.match(input);
    if (!match) {
      exchange.fail('TG_ERR_ROUTE_NOT_FOUND', {
        method: exchange.method,
        path: exchange.path,
        host: normalizeHost(exchange.host),
      });
      return;
    }
    const plan = match.entry.data;
    exchange.route = plan.id;
    exchange.routeMetrics = plan.metrics;
    if (plan.edge?.inbound(exchange, clientAddress(req))) return;
    // AI routes, and routes matching on the model, need the body's model before the final lookup.
    const { ai } = options;
    const byAI = ai?.handles(exchange, match) ?? false;
    const proceed = (): void => {
      if (ai && byAI) {
        ai.serve({
          exchange,
          match,
          rematch: (model) => config.router.match({ ...input, model }),
          serveEntry: (found, body) => serveEntry(exchange, found, body),
          admit: (found, model) => {
            const chain = found.entry.data.policy ?? plan.policy;
            const refusal = chain?.authorize(exchange.policy?.caller, model, exchange.policy?.claims);
            if (refusal) exchange.fail(refusal.code, refusal.params, refusal.headers);
            return refusal === undefined;
          },
        });
        return;
      }
      serveEntry(exchange, match, undefined);
    };
    if (!plan.policy) {
      proceed();
      return;
    }
    // Authorization on AI routes waits for the model, which is in the body.
    const admission = plan.policy.admit({
      req,
      routeId: plan.id,
      clientIP: clientAddress(req),
      deferAuthorization: byAI,
    });
    const decide = (outcome: Admission): void => {
      exchange.policy = outcome.context;
      if (observer) {
        const decision = outcome.ok
          ? admissionDecision(undefined, outcome.responseHeaders['x-ratelimit-limit'] !== undefined)
          : admissionDecision(outcome.refusal.code, false);
        if (decision) observer.decision(decision.kind, plan.id, decision.decision);
      }
      if (!outcome.ok) {
        exchange.fail(outcome.refusal.code, outcome.refusal.params, outcome.refusal.headers);
        return;
      }
      for (const [name, value] of Object.entries(outcome.responseHeaders))
        exchange.res.setHeader(name, value);
      const { settle } = outcome;
      // Token limits: the AI meter's figures are on the exchange once the response is over.
      if (settle) exchange.res.once('close', () => settle(exchange.ai));
      proceed();
    };
    if (admission instanceof Promise) {
      admission.then(decide, (error: Error) => exchange.fail('TG_ERR_INTERNAL', { reason: error.message }));
    } else decide(admission);
  }

  /** Answers or forwards for a matched entry; `body` when it was already read. */
  function serveEntry(exchange: Exchange, match: RouteMatch<RoutePlan>, body: Buffer | undefined): void {
    const plan = match.entry.data;
    exchange.route = plan.id;
    exchange.routeMetrics = plan.metrics;
    const { action } = plan;
    if (action.kind === 'direct-response') {
      exchange.respondError(action.code, action.status, action.message);
      return;
    }
    if (action.kind === 'redirect') {
      const location = redirectLocation(action, plan.rewritePath, {
        host: normalizeHost(exchange.host),
        hostPort: hostHeaderPort(exchange.host),
        path: exchange.path,
        query: exchange.query,
        scheme,
      });
      exchange.res.writeHead(action.statusCode, {
        location,
        'content-length': 0,
        'x-request-id': exchange.requestId,
      });
      exchange.res.end();
      return;
    }
    if (plan.edge?.respond) plan.edge.respond(exchange, () => forwardToBackend(exchange, plan, body));
    else forwardToBackend(exchange, plan, body);
  }

  function forwardToBackend(exchange: Exchange, plan: RoutePlan, buffered: Buffer | undefined): void {
    const session = plan.session?.choose(exchange.req.headers, scheme === 'https');
    const cluster = session ? session.cluster : plan.pickBackend();
    if (cluster) exchange.cluster = cluster.id;
    if (!cluster || cluster.endpointCount === 0) {
      metrics.upstreamErrors.labels(cluster?.id ?? '', 'TG_ERR_NO_HEALTHY_UPSTREAM').inc();
      exchange.fail('TG_ERR_NO_HEALTHY_UPSTREAM', { route: plan.id });
      return;
    }
    const { req } = exchange;
    const headers = upstreamRequestHeaders(req, {
      host: plan.rewriteHost ?? cluster.authority ?? exchange.host,
      clientHost: exchange.host,
      clientAddress: clientAddress(req),
      proto: scheme,
      requestId: exchange.requestId,
    });
    identityHeaders(headers, exchange.policy);
    plan.requestHeaders?.apply(headers);
    plan.edge?.upstreamHeaders?.(exchange, headers);
    const path = exchange.target(plan.rewritePath ? plan.rewritePath(exchange.path) : exchange.path);
    const hasBody = buffered !== undefined || requestHasBody(req);
    let body: Readable | Buffer | null =
      buffered ?? (hasBody ? (plan.edge?.requestBody?.(exchange) ?? req) : null);
    if (plan.mirrors.length > 0) {
      // Mirrors read the body from data events; the main request then reads a piped copy so
      // the client stream's flow is started once, with backpressure from the main upstream only.
      if (hasBody && !buffered) body = req.pipe(new PassThrough());
      startMirrors(plan.mirrors, {
        req,
        method: exchange.method,
        path,
        headers,
        hasBody,
        timeouts: plan.timeouts,
        metrics,
        ...(buffered ? { bufferedBody: buffered } : {}),
      });
    }
    startUpstreamCall({
      exchange,
      plan,
      cluster,
      path,
      headers,
      body,
      metrics,
      draining,
      clientIP: clientAddress(req),
      responseHeader: session?.set,
    });
  }

  function upgrade(req: IncomingMessage, socket: Duplex): void {
    const code = 'TG_ERR_UPGRADE_NOT_SUPPORTED';
    const { status, message } = describeError(code, { protocol: req.headers.upgrade ?? req.method });
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const body = renderErrorBody(errorShapeFor(path), code, status, message);
    socket.on('error', () => {});
    socket.end(
      `HTTP/1.1 ${status} Not Implemented\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `x-tollgate-error-code: ${code}\r\nconnection: close\r\n\r\n${body}`,
    );
    options.accessLog.write({
      method: req.method ?? '',
      host: req.headers.host ?? '',
      path,
      status,
      route: undefined,
      cluster: undefined,
      upstream: undefined,
      bytesIn: 0,
      bytesOut: Buffer.byteLength(body),
      durationMs: 0,
      upstreamMs: undefined,
      requestId: typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : '',
      errorCode: code,
    });
    hooks.unmatchedMetrics.record(req.method ?? 'GET', status, 0);
  }

  return { request, upgrade };
}

function clientAddress(req: IncomingMessage): string | undefined {
  const address = req.socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Whether a request asks to switch protocols in a way we must answer (websocket and the like).
 * An `h2c` upgrade is only an offer (curl --http2 sends it): declining it by answering over
 * HTTP/1.1 is correct, so it is served as a plain request.
 */
export function wantsUpgrade(req: IncomingMessage): boolean {
  const protocol = req.headers.upgrade;
  if (protocol === undefined || !/\bupgrade\b/i.test(String(req.headers.connection))) return false;
  return protocol.trim().toLowerCase() !== 'h2c';
}
