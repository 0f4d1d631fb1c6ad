// The data plane: a proxy listener and an admin listener around the active generation (the
// compiled snapshot). Snapshots are validated and compiled off to the side, then swapped in
// atomically; a request keeps the generation it started with.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SliceClock, Snapshot } from '@tollgate/snapshot';
import type { Logger, Tracer } from '@tollgate/telemetry';
import { z } from 'zod';
import { AdminServer } from './admin/index.ts';
import { AIGateway, type AIGatewayOptions } from './ai/index.ts';
import { TollgateError } from './errors.ts';
import { type CompileOptions, Generation } from './generation.ts';
import {
  AccessLog,
  type AccessLogSettings,
  answerUsage,
  createDataplaneMetrics,
  type DataplaneMetrics,
  DataplaneTracer,
  RequestObserver,
  RouteMetrics,
  trackConnections,
  UsageAggregator,
} from './observability/index.ts';
import {
  BudgetService,
  type BudgetStore,
  budgetReport,
  LocalBudgetStore,
  type RateLimitStore,
} from './policies/index.ts';
import { createProxyHandlers, DEFAULT_TIMEOUTS, type ProxyOptions, wantsUpgrade } from './proxy/index.ts';
import { ResponseCacheStore } from './response/index.ts';
import {
  type CertificateSet,
  createUpgradeHandler,
  H2cAcceptor,
  limitConnectionsPerIP,
  registerEdgeMetrics,
  SecureListener,
  type UpgradeHandler,
} from './server/index.ts';
import { KEEP_ALIVE_GRACE_MS, stopAcceptingGently } from './server/keep-alive-drain.ts';
import { connectUpstreamMetrics, PoolRegistry, type PoolSettings, upstreamView } from './upstream/index.ts';

export interface ListenAddress {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface DataplaneOptions {
  logger: Logger;
  listen: ListenAddress;
  admin: ListenAddress;
  /** Upstream connection pool settings (connections per endpoint, keep-alive, connect timeout). */
  pools?: Partial<PoolSettings>;
  /** Upstream timeouts for routes that set none (see DEFAULT_TIMEOUTS). */
  timeouts?: { headersMs: number; idleMs: number };
  /** How long an idle client keep-alive connection stays open. Default 60 s. */
  clientKeepAliveMs?: number;
  /** The HTTPS listener (TLS with SNI certificates from the snapshot, HTTP/2 and HTTP/1.1). */
  listenTls?: ListenAddress;
  /** Also accept HTTP/2 with prior knowledge (h2c) on the plaintext listener. */
  h2c?: boolean;
  /** Open connections one client IP may hold on each listener; further ones are closed at accept. */
  maxConnectionsPerIP?: number;
  /** Memory for the HTTP response cache (Policy cache), in bytes. Default 64 MiB. */
  responseCacheMaxBytes?: number;
  /** AI gateway limits (request and response body sizes). */
  ai?: Omit<AIGatewayOptions, 'metrics'>;
  /** Rate-limit counters shared by pods (a RedisRateLimitStore); default: in this process. */
  rateLimits?: RateLimitStore;
  /** Budget counters shared by pods (a RedisBudgetStore); default: in this process. */
  budgets?: BudgetStore;
  /** Spans for every request; absent ⇒ tracing off and it costs nothing (see startTracing). */
  tracer?: Tracer;
  /** Access-log sampling and per-route opt-out. */
  accessLog?: AccessLogSettings;
}

export interface DataplanePorts {
  port: number;
  adminPort: number;
  /** With listenTls. */
  tlsPort?: number;
}

export class Dataplane {
  readonly #options: DataplaneOptions;
  readonly #logger: Logger;
  readonly #metrics: DataplaneMetrics;
  readonly #pools: PoolRegistry;
  readonly #routeMetrics = new Map<string, RouteMetrics>();
  readonly #server: Server;
  readonly #admin: AdminServer;
  readonly #ai: AIGateway;
  readonly #usage = new UsageAggregator();
  readonly #budgets: BudgetService;
  readonly #secure: SecureListener | undefined;
  readonly #h2c: H2cAcceptor | undefined;
  readonly #upgrades: UpgradeHandler;
  readonly #responseCache: ResponseCacheStore;
  #active: Generation | undefined;
  /** Bytes, backend and AI series per finished request; route series are forgotten with the route. */
  readonly #observer: RequestObserver;
  /** The pass that forgets the metrics of routes the active snapshot no longer has, while unfinished. */
  #forgetting: Generator<void, void> | undefined;
  #inflight = 0;
  #idleWaiters: Array<() => void> = [];
  #draining: Promise<void> | undefined;
  #cut = false;
  #closed: Promise<void> | undefined;

  constructor(options: DataplaneOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#metrics = createDataplaneMetrics();
    this.#pools = new PoolRegistry(options.pools);
    connectUpstreamMetrics(this.#metrics, this.#pools.clusters);
    this.#observer = new RequestObserver(this.#metrics, this.#usage);
    this.#ai = new AIGateway({ ...options.ai, metrics: this.#metrics.ai, logger: options.logger });
    const proxyOptions: ProxyOptions = {
      ai: this.#ai,
      config: () => this.#active,
      accessLog: new AccessLog(options.logger, options.accessLog),
      ...(options.tracer ? { tracer: new DataplaneTracer(options.tracer) } : {}),
      observer: this.#observer,
      metrics: this.#metrics,
      routeMetrics: (id) => this.#metricsFor(id),
      draining: () => this.#draining !== undefined,
      cutByDrain: () => this.#cut,
      requestStarted: () => {
        this.#inflight++;
      },
      requestFinished: () => {
        this.#inflight--;
        if (this.#inflight === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
      },
    };
    const handlers = createProxyHandlers(proxyOptions);
    this.#responseCache = new ResponseCacheStore(options.responseCacheMaxBytes ?? 64 * 1024 * 1024);
    const edgeMetrics = registerEdgeMetrics(this.#metrics.registry, {
      cache: this.#responseCache,
      certificates: () => this.#secure?.certificates,
    });
    const upgrade = createUpgradeHandler({ ...proxyOptions, draining: () => this.#draining !== undefined });
    this.#upgrades = upgrade;
    if (options.listenTls) {
      this.#secure = new SecureListener({
        request: createProxyHandlers({ ...proxyOptions, scheme: 'https' }).request,
        upgrade,
        keepAliveMs: options.clientKeepAliveMs ?? 60_000,
        ...(options.maxConnectionsPerIP ? { maxConnectionsPerIP: options.maxConnectionsPerIP } : {}),
        onConnectionRefused: () => edgeMetrics.connectionRefused('https'),
      });
    }
    this.#server = createServer(
      { keepAliveTimeout: options.clientKeepAliveMs ?? 60_000, shouldUpgradeCallback: wantsUpgrade },
      handlers.request,
    );
    trackConnections(this.#server, this.#metrics);
    if (options.maxConnectionsPerIP)
      limitConnectionsPerIP(this.#server, options.maxConnectionsPerIP, () =>
        edgeMetrics.connectionRefused('http'),
      );
    if (options.h2c)
      this.#h2c = new H2cAcceptor(this.#server, handlers.request, options.clientKeepAliveMs ?? 60_000);
    this.#server.on('upgrade', upgrade);
    this.#server.on('connect', handlers.upgrade);
    this.#budgets = new BudgetService(options.budgets ?? new LocalBudgetStore(), {
      registry: this.#metrics.registry,
      logger: options.logger,
      usedRatio: this.#metrics.budgetUsedRatio,
    });
    this.#admin = new AdminServer(
      {
        ready: () => this.#active !== undefined && this.#draining === undefined,
        draining: () => this.#draining !== undefined,
        active: () => this.#active,
        upstreams: () => upstreamView(this.#pools.clusters),
        aiProviders: () => this.#ai.providerStatus(),
        usage: (params) => answerUsage(this.#usage, params),
        budgets: () => budgetReport(this.#budgets),
      },
      this.#metrics.registry,
    );
  }

  /** Opens both listeners. The proxy answers 503 TG_ERR_NOT_READY until the first snapshot. */
  async start(): Promise<DataplanePorts> {
    const { listen, admin } = this.#options;
    const adminPort = await this.#admin.listen(admin.host, admin.port);
    const port = await new Promise<number>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(listen.port, listen.host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
    const tls = this.#options.listenTls;
    const tlsPort = tls ? await this.#secure?.listen(tls.host, tls.port) : undefined;
    return { port, adminPort, ...(tlsPort !== undefined ? { tlsPort } : {}) };
  }

  /**
   * Validates and compiles a snapshot, then swaps it in. Throws a TollgateError
   * (TG_ERR_SNAPSHOT_INVALID) on any problem, leaving the active snapshot in place: the caller
   * NACKs with the error's message.
   */
  applySnapshot(input: unknown, options: { validated?: boolean } = {}): void {
    const started = performance.now();
    const version = (input as { version?: unknown } | null)?.version;
    let next: Generation;
    let certificates: CertificateSet | undefined;
    this.#stopForgetting();
    try {
      // `validated`: the config stream's decodeSnapshot has parsed it already (at 10,000 routes a
      // second parse would hold the event loop for another ~100 ms).
      const snapshot = options.validated ? (input as Snapshot) : Snapshot.parse(input);
      certificates = this.#prepareFor(snapshot);
      next = new Generation(snapshot, this.#compileOptions());
    } catch (error) {
      throw this.#rejected(error, version);
    }
    this.#swapIn(next, certificates, started);
  }

  /**
   * applySnapshot for a snapshot the config stream has decoded and validated: compiled in slices
   * between which requests are served, keeping what is unchanged from the active generation, then
   * swapped in at once. Rejects with the same TollgateError, leaving the active snapshot in place.
   */
  async applyDecodedSnapshot(snapshot: Snapshot): Promise<void> {
    const started = performance.now();
    let next: Generation;
    let certificates: CertificateSet | undefined;
    this.#stopForgetting();
    try {
      certificates = this.#prepareFor(snapshot);
      next = await Generation.build(snapshot, this.#compileOptions());
    } catch (error) {
      throw this.#rejected(error, snapshot.version);
    }
    this.#swapIn(next, certificates, started);
  }

  #prepareFor(snapshot: Snapshot): CertificateSet | undefined {
    const certificates = this.#secure?.compile(snapshot.tls);
    // The tokenizer (~40 MiB) loads in the background once AI providers are configured; a data
    // plane that never serves AI traffic never loads it.
    if (snapshot.aiProviders.length > 0) this.#ai.prepare().catch(() => {});
    return certificates;
  }

  #compileOptions(): CompileOptions {
    return {
      pools: this.#pools,
      routeMetrics: (id) => this.#metricsFor(id),
      timeouts: this.#options.timeouts ?? DEFAULT_TIMEOUTS,
      rateLimits: this.#options.rateLimits,
      budgets: this.#budgets,
      responseCache: this.#responseCache,
      previous: this.#active,
    };
  }

  #rejected(error: unknown, version: unknown): TollgateError {
    this.#metrics.snapshotRejections.inc();
    const reason = error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message;
    const rejection = new TollgateError(
      'TG_ERR_SNAPSHOT_INVALID',
      { version: typeof version === 'string' ? version : '(no version)', reason },
      { cause: error },
    );
    this.#logger.warn({ version, err: rejection }, 'snapshot rejected');
    // The pass stopped for this snapshot (and metrics its compile created) resumes for the active one.
    if (this.#active) this.#forgetRemovedRoutes(this.#active.snapshot);
    return rejection;
  }

  #swapIn(next: Generation, certificates: CertificateSet | undefined, started: number): void {
    const previous = this.#active;
    this.#active = next;
    if (certificates) this.#secure?.install(certificates);
    previous?.retire();
    this.#forgetRemovedRoutes(next.snapshot);
    this.#ai.syncProviders(next.snapshot.aiProviders);
    this.#metrics.snapshotInfo.reset();
    this.#metrics.snapshotInfo.labels(next.version).set(1);
    this.#metrics.snapshotSwaps.inc();
    this.#logger.info(
      {
        version: next.version,
        previousVersion: previous?.version,
        routes: next.router.entryCount,
        clusters: next.snapshot.clusters.length,
        compileMs: Math.round((performance.now() - started) * 100) / 100,
      },
      'snapshot applied',
    );
  }

  get version(): string | undefined {
    return this.#active?.version;
  }

  /** True once a snapshot is active, until draining starts (what /readyz reports). */
  get ready(): boolean {
    return this.#active !== undefined && this.#draining === undefined;
  }

  /** Requests being served right now. */
  get inflight(): number {
    return this.#inflight;
  }

  get metrics(): DataplaneMetrics {
    return this.#metrics;
  }

  /** Open upstream pools (by endpoint origin) and how many were ever created: shows pool reuse. */
  poolStats(): { open: string[]; created: number } {
    return { open: this.#pools.keys(), created: this.#pools.createdCount };
  }

  /**
   * Graceful shutdown: readiness fails, the listener stops accepting, every response from now on
   * carries `connection: close`, keep-alive connections still idle after a grace close, and
   * in-flight requests (streams included) get up to `deadlineMs` to finish before the remaining
   * connections are cut.
   * The admin listener stays up; `close()` ends it.
   */
  drain(deadlineMs: number): Promise<void> {
    this.#draining ??= this.#drain(deadlineMs);
    return this.#draining;
  }

  async #drain(deadlineMs: number): Promise<void> {
    const deadline = performance.now() + deadlineMs;
    this.#logger.info({ inflight: this.#inflight, deadlineMs }, 'draining');
    // Open keep-alive connections carry one more request (answered `connection: close`) before
    // they close: closing idle ones at once resets clients that are sending on them.
    const listener = stopAcceptingGently(this.#server, Math.min(KEEP_ALIVE_GRACE_MS, deadlineMs));
    const listenerClosed = listener.closed;
    const secureClosed = this.#secure?.stopAccepting();
    this.#h2c?.close();
    const settled = listener.graceOver.then(async () => {
      if (this.#inflight === 0 && this.#upgrades.open === 0) return;
      // Websocket tunnels count as open streams: they get the same deadline.
      await Promise.all([
        this.#inflight > 0 ? new Promise<void>((resolve) => this.#idleWaiters.push(resolve)) : undefined,
        this.#upgrades.whenIdle(),
      ]);
    });
    const deadlineTimer = new AbortController();
    await Promise.race([
      settled,
      sleep(deadlineMs, undefined, { signal: deadlineTimer.signal }).catch(() => {}),
    ]);
    deadlineTimer.abort();
    const cut = this.#inflight;
    this.#cut = cut > 0;
    this.#server.closeAllConnections();
    this.#upgrades.closeAll();
    this.#secure?.closeAll();
    this.#h2c?.destroy();
    await listenerClosed;
    await secureClosed;
    this.#active?.retire();
    const remaining = Math.max(0, deadline - performance.now());
    const closing = this.#pools.closeAll(false);
    const timeout = new AbortController();
    const graceful = await Promise.race([
      closing.then(() => true),
      sleep(remaining, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    if (!graceful) await this.#pools.closeAll(true);
    this.#logger.info({ cutRequests: cut }, 'drained');
  }

  /** Drains at once (in-flight requests are cut) and closes the admin listener. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.drain(0);
      await this.#pools.closeAll(true);
      await this.#ai.close();
      await this.#admin.close();
    })();
    return this.#closed;
  }

  /**
   * Route ids come and go with the configuration; without this, every id ever configured would
   * keep its metrics object and series for the life of the process. A small configuration is done
   * at once; a large one continues in slices between requests. Compiling the next snapshot stops
   * an unfinished pass (`#stopForgetting`): it would forget routes that snapshot brings back.
   */
  #forgetRemovedRoutes(snapshot: Snapshot): void {
    const steps = this.#forgetSteps(snapshot);
    this.#forgetting = steps;
    const run = (): void => {
      if (this.#forgetting !== steps) return;
      if (steps.next().done) this.#forgetting = undefined;
      else setImmediate(run);
    };
    run();
  }

  #stopForgetting(): void {
    this.#forgetting = undefined;
  }

  *#forgetSteps(snapshot: Snapshot): Generator<void, void> {
    const clock = new SliceClock(2);
    let step = 0;
    const live = new Set<string>(['']); // '': requests that matched no route
    for (const host of snapshot.virtualHosts) {
      for (const route of host.routes) {
        live.add(route.id);
        if (clock.due(step++)) yield;
      }
    }
    for (const [routeId, metrics] of this.#routeMetrics) {
      if (clock.due(step++)) yield;
      if (live.has(routeId)) continue;
      metrics.forget();
      this.#observer.forgetRoute(routeId);
      this.#routeMetrics.delete(routeId);
    }
  }

  #metricsFor(routeId: string): RouteMetrics {
    let metrics = this.#routeMetrics.get(routeId);
    if (!metrics) {
      metrics = new RouteMetrics(this.#metrics, routeId);
      this.#routeMetrics.set(routeId, metrics);
    }
    return metrics;
  }
}
