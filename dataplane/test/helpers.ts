// Shared test helpers: IR builders, a log-capturing logger and a real Dataplane on ephemeral ports.
import type { ClusterIR, RetryIR, RouteActionIR, RouteEntryIR, Snapshot } from '@tollgate/snapshot';
import { emptySnapshotContent, sealSnapshot } from '@tollgate/snapshot';
import { createLogger, type Logger } from '@tollgate/telemetry';
import { Dataplane, type DataplaneOptions } from '../src/index.ts';

export type LogLine = Record<string, unknown> & { msg?: string };

/** A logger that keeps its lines in memory instead of printing them. */
export function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger({
    name: 'dataplane',
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  return { logger, lines };
}

type PathType = RouteEntryIR['match']['path']['type'];

export interface EntryOptions {
  path?: [PathType, string];
  method?: string;
  headers?: Array<['Exact' | 'RegularExpression', string, string]>;
  query?: Array<['Exact' | 'RegularExpression', string, string]>;
  model?: { type: 'Exact' | 'Glob'; value: string };
  /** Cluster ids with weights; ignored when `action` is given. */
  backends?: Array<[string, number]>;
  action?: RouteActionIR;
  requestHeaders?: RouteEntryIR['requestHeaders'];
  responseHeaders?: RouteEntryIR['responseHeaders'];
  urlRewrite?: RouteEntryIR['urlRewrite'];
  mirrors?: string[];
  timeouts?: RouteEntryIR['timeouts'];
}

/** A route entry; its id doubles as the route name so tests can tell entries apart. */
export function entry(id: string, options: EntryOptions = {}): RouteEntryIR {
  const [type, value] = options.path ?? ['PathPrefix', '/'];
  return {
    id,
    route: { namespace: 'test', name: id, rule: 0 },
    match: {
      path: { type, value },
      ...(options.method ? { method: options.method } : {}),
      headers: (options.headers ?? []).map(([t, name, v]) => ({ type: t, name, value: v })),
      queryParams: (options.query ?? []).map(([t, name, v]) => ({ type: t, name, value: v })),
      ...(options.model ? { model: options.model } : {}),
    },
    ...(options.requestHeaders ? { requestHeaders: options.requestHeaders } : {}),
    ...(options.responseHeaders ? { responseHeaders: options.responseHeaders } : {}),
    ...(options.urlRewrite ? { urlRewrite: options.urlRewrite } : {}),
    ...(options.mirrors ? { mirrors: options.mirrors } : {}),
    action: options.action ?? {
      kind: 'forward',
      backends: (options.backends ?? []).map(([clusterId, weight]) => ({ clusterId, weight })),
    },
    timeouts: options.timeouts ?? {},
  };
}

/** A static-URL-style cluster pointing at loopback ports. */
export function cluster(id: string, ports: number[], extra: Partial<ClusterIR> = {}): ClusterIR {
  return {
    id,
    kind: 'url',
    tls: false,
    endpoints: ports.map((port) => ({ host: '127.0.0.1', port })),
    ...extra,
  };
}

/** A sealed snapshot from virtual hosts (hostname → entries in precedence order) and clusters. */
export function snapshotOf(
  vhosts: Record<string, RouteEntryIR[]>,
  clusters: ClusterIR[] = [],
  extra = {},
): Snapshot {
  return sealSnapshot({
    ...emptySnapshotContent(),
    virtualHosts: Object.entries(vhosts).map(([hostname, routes]) => ({ hostname, routes })),
    clusters,
    ...extra,
  });
}

export interface RunningDataplane {
  dataplane: Dataplane;
  /** The proxy's port (`url` is http://127.0.0.1:<port>). */
  port: number;
  /** The TLS listener's port, when the options asked for one (`listenTls`). */
  tlsPort?: number;
  url: string;
  adminUrl: string;
  logs: LogLine[];
  /** Access-log lines only. */
  accessLogs(): LogLine[];
  close(): Promise<void>;
}

export async function startDataplane(options: Partial<DataplaneOptions> = {}): Promise<RunningDataplane> {
  const { logger, lines } = memoryLogger();
  const dataplane = new Dataplane({
    logger,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    ...options,
  });
  const { port, adminPort, tlsPort } = await dataplane.start();
  return {
    dataplane,
    port,
    ...(tlsPort === undefined ? {} : { tlsPort }),
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    logs: lines,
    accessLogs: () => lines.filter((l) => l.log === 'access'),
    close: () => dataplane.close(),
  };
}

/** startDataplane with a TLS listener too, on a free port of its own. */
export async function startTlsDataplane(
  options: Partial<DataplaneOptions> = {},
): Promise<RunningDataplane & { tlsPort: number }> {
  const running = await startDataplane({ listenTls: { host: '127.0.0.1', port: 0 }, ...options });
  const { tlsPort } = running;
  if (tlsPort === undefined) throw new Error('the data plane opened no TLS port');
  return { ...running, tlsPort };
}

/** Retries with a millisecond backoff and no retry budget to run out of; `overrides` for what a test checks. */
export function retriesIR(overrides: Partial<RetryIR> & Pick<RetryIR, 'from' | 'retryOn'>): RetryIR {
  return {
    attempts: 2,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    retryNonIdempotent: false,
    budgetPercent: 100,
    minRetryConcurrency: 10,
    bufferBodyLimit: 65_536,
    ...overrides,
  };
}
