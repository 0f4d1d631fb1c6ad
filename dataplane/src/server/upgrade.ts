// Upgrade requests (websockets and other HTTP/1.1 protocol switches) through http-proxy-3: the
// route is matched like any request, the route's IP filter and policy chain (API keys, JWT,
// authorization, rate limits) admit it, then the connection is handed to the chosen upstream
// endpoint and the two sockets are spliced until either side closes. One access-log line per
// upgrade, written when the tunnel closes.
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import {
  describeError,
  type ErrorCode,
  type ErrorParams,
  errorShapeFor,
  renderErrorBody,
} from '../errors.ts';
import type { AccessLog, RouteMetrics } from '../observability/index.ts';
import type { Admission } from '../policies/index.ts';
import type { ProxyConfig } from '../proxy/index.ts';

export interface UpgradeOptions {
  config(): ProxyConfig | undefined;
  accessLog: AccessLog;
  routeMetrics(routeId: string): RouteMetrics;
  /** While draining, upgrades are refused (they would outlive the drain). */
  draining(): boolean;
  /** Called when a tunnel opens and when it closes, so drains can wait for tunnels. */
  tunnelOpened?(): void;
  tunnelClosed?(): void;
}

export interface UpgradeHandler {
  (req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Tunnels open right now. */
  readonly open: number;
  /** Resolves once no tunnel is open (drains wait for it, up to their deadline). */
  whenIdle(): Promise<void>;
  /** Cuts every open tunnel (the drain deadline passed). */
  closeAll(): void;
}

export function createUpgradeHandler(options: UpgradeOptions): UpgradeHandler {
  // One proxy for every tunnel: it keeps no per-target state. xfwd adds X-Forwarded-*.
  const proxy = createProxyServer({ ws: true, xfwd: true });
  proxy.on('error', () => {});
  // Upgraded sockets leave node:http's connection tracking: without this set a listener's close
  // would wait for them forever.
  const tunnels = new Set<Duplex>();
  const idleWaiters: Array<() => void> = [];

  const handle = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const host = req.headers.host ?? '';
    let routeId: string | undefined;
    let clusterId: string | undefined;
    let upstream: string | undefined;
    let logged = false;
    const log = (status: number, errorCode: string | undefined) => {
      if (logged) return;
      logged = true;
      const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
      options.accessLog.write({
        method: req.method ?? 'GET',
        host,
        path,
        status,
        route: routeId,
        cluster: clusterId,
        upstream,
        bytesIn: (socket as Socket).bytesRead ?? 0,
        bytesOut: (socket as Socket).bytesWritten ?? 0,
        durationMs,
        upstreamMs: undefined,
        requestId: typeof req.headers['x-request-id'] === 'string' ? req.headers['x-request-id'] : '',
        errorCode,
      });
      options.routeMetrics(routeId ?? '').record(req.method ?? 'GET', status, durationMs / 1000);
    };
    const refuse = (code: ErrorCode, params: ErrorParams = {}, headers: Record<string, string> = {}) => {
      const { status, message } = describeError(code, params);
      const body = renderErrorBody(errorShapeFor(path), code, status, message);
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      if (socket.writable) {
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
            `x-tollgate-error-code: ${code}\r\n${extra}connection: close\r\n\r\n${body}`,
        );
      }
      log(status, code);
    };
    socket.on('error', () => {});

    if (options.draining()) return refuse('TG_ERR_DRAINING');
    const config = options.config();
    if (!config) return refuse('TG_ERR_NOT_READY');
    const match = config.router.match({
      host: req.headers.host,
      path,
      method: req.method ?? 'GET',
      headers: req.headers,
      query: req.url?.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : undefined,
    });
    if (!match) {
      return refuse('TG_ERR_ROUTE_NOT_FOUND', { method: req.method, path, host });
    }
    const plan = match.entry.data;
    routeId = plan.id;
    const clientIP = clientAddress(socket as Socket);
    if (plan.edge?.allowsAddress && !plan.edge.allowsAddress(clientIP))
      return refuse('TG_ERR_IP_FORBIDDEN', { ip: clientIP ?? 'unknown' });
    if (plan.action.kind !== 'forward' || plan.ai)
      return refuse('TG_ERR_UPGRADE_NOT_SUPPORTED', { protocol: req.headers.upgrade });

    const tunnel = () => {
      const cluster = plan.pickBackend();
      const endpoint = cluster?.next();
      if (!cluster || !endpoint) return refuse('TG_ERR_NO_HEALTHY_UPSTREAM', { route: plan.id });
      clusterId = cluster.id;
      upstream = endpoint.address;
      if (cluster.authority ?? plan.rewriteHost) req.headers.host = plan.rewriteHost ?? cluster.authority;
      if (plan.rewritePath) {
        const q = req.url?.indexOf('?') ?? -1;
        req.url = plan.rewritePath(path) + (q === -1 ? '' : req.url!.slice(q));
      }
      plan.requestHeaders?.apply(req.headers as Record<string, string>);
      const target = `${cluster.ir.tls ? 'https' : 'http'}://${endpoint.address}`;
      options.tunnelOpened?.();
      tunnels.add(socket);
      socket.once('close', () => {
        tunnels.delete(socket);
        if (tunnels.size === 0) for (const wake of idleWaiters.splice(0)) wake();
        options.tunnelClosed?.();
        log(101, undefined);
      });
      proxy.ws(req, socket, head, { target, secure: true }, (error) => {
        const code = (error as { code?: string }).code ?? error.message;
        refuse('TG_ERR_UPGRADE_FAILED', {
          protocol: req.headers.upgrade,
          upstream: cluster.id,
          reason: code,
        });
      });
    };
    if (!plan.policy) return tunnel();
    const decide = (outcome: Admission) => {
      if (!outcome.ok) return refuse(outcome.refusal.code, outcome.refusal.params, outcome.refusal.headers);
      tunnel();
    };
    const admission = plan.policy.admit({ req, routeId: plan.id, clientIP, deferAuthorization: false });
    if (admission instanceof Promise)
      admission.then(decide, (error: Error) => refuse('TG_ERR_INTERNAL', { reason: error.message }));
    else decide(admission);
  };
  return Object.defineProperties(handle, {
    open: { get: () => tunnels.size },
    whenIdle: {
      value: () =>
        tunnels.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)),
    },
    closeAll: {
      value: () => {
        for (const socket of tunnels) socket.destroy();
      },
    },
  }) as UpgradeHandler;
}

function clientAddress(socket: Socket): string | undefined {
  const address = socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}
