// The data-plane process: flags and environment → Dataplane + ConfigClient, and a graceful exit on
// SIGTERM/SIGINT. Run with `scripts/toolchain.sh node dataplane/src/main.ts`.
// First: V8 settings that must hold before any other module allocates.
import './server/v8-flags.ts';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger, startTracing } from '@tollgate/telemetry';
import { Counter } from 'prom-client';
import type { ListenAddress } from './dataplane.ts';
import { compactHeapAfter } from './heap.ts';
import type { RedisBudgetStore, RedisRateLimitStore } from './policies/redis.ts';
import { checkWorkerCounters, parseWorkers, runPrimary, workerRole } from './workers.ts';

const USAGE = `Usage: node dataplane/src/main.ts [options]
       node dataplane/src/main.ts usage --admin <host:port> --by consumer|model|provider|route --window 1h

  --listen <host:port>      proxy listener           (TOLLGATE_LISTEN, default 0.0.0.0:8080)
  --listen-tls <host:port>  HTTPS listener (HTTP/2 + HTTP/1.1, certificates from Route spec.tls)
                            (TOLLGATE_LISTEN_TLS; off by default)
  --h2c                     also accept HTTP/2 with prior knowledge on --listen (TOLLGATE_H2C=true)
  --max-connections-per-ip <n>
                            open connections one client IP may hold per listener (TOLLGATE_MAX_CONNECTIONS_PER_IP)
  --response-cache-bytes <n>
                            memory for the HTTP response cache (TOLLGATE_RESPONSE_CACHE_BYTES, default 64 MiB)
  --admin <host:port>       admin listener           (TOLLGATE_ADMIN, default 0.0.0.0:9901)
  --controller <host:port>  controller gRPC address  (TOLLGATE_CONTROLLER, default 127.0.0.1:18000)
  --node-id <id>            identity sent to the controller (TOLLGATE_NODE_ID, default <hostname>-<pid>)
  --zone <zone>             topology zone            (TOLLGATE_ZONE)
  --tls-ca, --tls-cert, --tls-key <file>
                            mTLS to the controller   (TOLLGATE_TLS_CA, TOLLGATE_TLS_CERT, TOLLGATE_TLS_KEY)
  --redis <url>             Redis for global rate limits and budgets (TOLLGATE_REDIS_URL; without it they count per pod)
  --redis-failure-mode open|closed
                            closed: every global limit refuses (503) when Redis does not answer, whatever
                            its policy says (TOLLGATE_REDIS_FAILURE_MODE, default open: the policy decides)
  --access-log-sample <0..1>
                            share of successful requests logged; failures always are (TOLLGATE_ACCESS_LOG_SAMPLE, default 1)
  --access-log-exclude <routes>
                            comma-separated Routes (ns/name) never logged (TOLLGATE_ACCESS_LOG_EXCLUDE)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_SERVICE_NAME, …
                            tracing (off unless an exporter or endpoint is set; see docs/observability.md)
  --workers <n|auto>        worker processes sharing the listener, each with its own config stream; the
                            primary serves the admin port (TOLLGATE_WORKERS, default 1: no workers)
  --allow-per-worker-counters
                            let --workers N > 1 start without --redis: budgets and global rate limits then
                            count per worker, up to N× each limit (TOLLGATE_ALLOW_PER_WORKER_COUNTERS=true)
  TOLLGATE_DRAIN_SECONDS    how long SIGTERM waits for in-flight requests (default 20)
  TOLLGATE_LOG_LEVEL        pino level (default info)
`;

function parseAddress(flag: string, value: string): ListenAddress {
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--${flag} must be host:port, got "${value}"`);
  }
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a whole number ≥ 1, got "${value}"`);
  return n;
}

function readTls(
  ca?: string,
  cert?: string,
  key?: string,
): { ca: Buffer; cert: Buffer; key: Buffer } | undefined {
  if (!ca && !cert && !key) return undefined;
  if (!ca || !cert || !key) throw new Error('--tls-ca, --tls-cert and --tls-key go together');
  return { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) };
}

async function main(): Promise<void> {
  if (process.argv[2] === 'usage') {
    // `main.ts usage …`: a client of a running data plane's admin port, not a data plane.
    const { runUsageCli } = await import('./observability/usage-cli.ts');
    process.exitCode = await runUsageCli(process.argv.slice(3));
    return;
  }
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      'listen-tls': { type: 'string' },
      h2c: { type: 'boolean' },
      'max-connections-per-ip': { type: 'string' },
      'response-cache-bytes': { type: 'string' },
      admin: { type: 'string' },
      controller: { type: 'string' },
      'node-id': { type: 'string' },
      zone: { type: 'string' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      redis: { type: 'string' },
      'redis-failure-mode': { type: 'string' },
      workers: { type: 'string' },
      'allow-per-worker-counters': { type: 'boolean' },
      'access-log-sample': { type: 'string' },
      'access-log-exclude': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  const listen = parseAddress('listen', values.listen ?? env.TOLLGATE_LISTEN ?? '0.0.0.0:8080');
  const listenTlsValue = values['listen-tls'] ?? env.TOLLGATE_LISTEN_TLS;
  const listenTls = listenTlsValue ? parseAddress('listen-tls', listenTlsValue) : undefined;
  const maxConnectionsPerIP = positiveInteger(
    'max-connections-per-ip',
    values['max-connections-per-ip'] ?? env.TOLLGATE_MAX_CONNECTIONS_PER_IP,
  );
  const responseCacheMaxBytes = positiveInteger(
    'response-cache-bytes',
    values['response-cache-bytes'] ?? env.TOLLGATE_RESPONSE_CACHE_BYTES,
  );
  // A worker's admin listener is its own, on loopback; the primary serves the configured one.
  const role = workerRole();
  const admin = role?.admin ?? parseAddress('admin', values.admin ?? env.TOLLGATE_ADMIN ?? '0.0.0.0:9901');
  const controller = values.controller ?? env.TOLLGATE_CONTROLLER ?? '127.0.0.1:18000';
  const nodeId =
    (values['node-id'] ?? env.TOLLGATE_NODE_ID ?? `${hostname()}-${process.pid}`) +
    (role ? `-w${role.index}` : '');
  const zone = values.zone ?? env.TOLLGATE_ZONE;
  const drainSeconds = Number(env.TOLLGATE_DRAIN_SECONDS ?? '20');
  if (!Number.isFinite(drainSeconds) || drainSeconds < 0)
    throw new Error('TOLLGATE_DRAIN_SECONDS must be a number ≥ 0');
  const tls = readTls(
    values['tls-ca'] ?? env.TOLLGATE_TLS_CA,
    values['tls-cert'] ?? env.TOLLGATE_TLS_CERT,
    values['tls-key'] ?? env.TOLLGATE_TLS_KEY,
  );
  const { version: buildVersion } = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  ) as {
    version: string;
  };

  const redisURL = values.redis ?? env.TOLLGATE_REDIS_URL;
  const failureMode = values['redis-failure-mode'] ?? env.TOLLGATE_REDIS_FAILURE_MODE ?? 'open';
  if (failureMode !== 'open' && failureMode !== 'closed')
    throw new Error(`--redis-failure-mode must be open or closed, got "${failureMode}"`);

  const sample = Number(values['access-log-sample'] ?? env.TOLLGATE_ACCESS_LOG_SAMPLE ?? '1');
  if (!(sample >= 0 && sample <= 1)) throw new Error('--access-log-sample must be a number in [0, 1]');
  const excludeRoutes = (values['access-log-exclude'] ?? env.TOLLGATE_ACCESS_LOG_EXCLUDE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

  const logger = createLogger({ name: 'dataplane' });
  const workers = parseWorkers(values.workers ?? env.TOLLGATE_WORKERS, availableParallelism());
  if (workers > 1 && !role) {
    // Before any worker forks: a refusal is one clear error, not N crash-looping workers.
    const counters = checkWorkerCounters({
      workers,
      redis: Boolean(redisURL),
      allowPerWorkerCounters:
        values['allow-per-worker-counters'] === true || env.TOLLGATE_ALLOW_PER_WORKER_COUNTERS === 'true',
    });
    if (counters) logger.warn({ workers }, counters.warning);
    const primary = await runPrimary({ workers, admin, logger, drainSeconds });
    logger.info(
      { workers, listen, adminPort: primary.adminPort },
      'data plane primary: workers share the listener',
    );
    // The primary loaded every module too and serves only the admin port from here on.
    compactHeapAfter(Promise.resolve());
    const code = await primary.stopped;
    logger.flush(() => process.exit(code));
    return;
  }
  // The data plane itself loads here, not in a `--workers` primary (which only serves the admin port).
  const [{ loadTokenizer }, { ConfigClient }, { Dataplane }] = await Promise.all([
    import('./ai/metering/estimate.ts'),
    import('./config/index.ts'),
    import('./dataplane.ts'),
  ]);
  const tracing = startTracing({ serviceName: 'tollgate-dataplane' });
  logger.info({ tracing: tracing.enabled, reason: tracing.reason }, 'tracing');
  let rateLimits: RedisRateLimitStore | undefined;
  let budgets: RedisBudgetStore | undefined;
  let storeFailures: Counter<'mode'> | undefined;
  if (redisURL) {
    // Loaded only here: a data plane without Redis never loads the Redis client.
    const redis = await import('./policies/redis.ts');
    let lastReport = 0;
    rateLimits = new redis.RedisRateLimitStore({
      url: redisURL,
      failureMode,
      // One line per 10 s at most: an outage must not flood the log.
      onFailure: (err, mode) => {
        storeFailures?.labels(mode).inc();
        const now = Date.now();
        if (now - lastReport < 10_000) return;
        lastReport = now;
        logger.warn({ err, failureMode: mode }, 'rate-limit store unavailable');
      },
    });
    // Budgets fail open or closed per budget (Policy budgets[].failureMode).
    budgets = new redis.RedisBudgetStore({ url: redisURL });
  } else {
    logger.warn('no Redis configured (--redis): global rate limits and budgets count in this pod only');
  }
  const dataplane = new Dataplane({
    logger,
    listen,
    admin,
    rateLimits,
    ...(budgets ? { budgets } : {}),
    ...(listenTls ? { listenTls } : {}),
    ...(values.h2c || env.TOLLGATE_H2C === 'true' ? { h2c: true } : {}),
    ...(maxConnectionsPerIP ? { maxConnectionsPerIP } : {}),
    ...(responseCacheMaxBytes ? { responseCacheMaxBytes } : {}),
    ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
    accessLog: { sampleRatio: sample, excludeRoutes },
  });
  if (rateLimits) {
    storeFailures = new Counter({
      name: 'tollgate_rate_limit_store_failures_total',
      help: 'Rate-limit decisions taken without Redis, by failure mode (open: admitted, closed: refused).',
      labelNames: ['mode'],
      registers: [dataplane.metrics.registry],
    });
  }
  const { port, adminPort, tlsPort } = await dataplane.start();
  role?.started(adminPort, dataplane.metrics.registry);
  logger.info({ port, adminPort, tlsPort, controller, nodeId }, 'data plane listening');

  /** What the start-up compaction has covered: nothing yet, the start-up, or the tokenizer too. */
  let compacted: 'none' | 'startup' | 'tokenizer' = 'none';
  const client = new ConfigClient({
    address: controller,
    node: { id: nodeId, zone, buildVersion },
    logger,
    tls,
    // The config stream's SnapshotDecoder validated it on the way in.
    onSnapshot: async (snapshot) => {
      await dataplane.applyDecodedSnapshot(snapshot);
      // Start-up's garbage goes once the first snapshot runs, or once the tokenizer it needs has loaded.
      if (snapshot.aiProviders.length > 0 && compacted !== 'tokenizer') {
        compacted = 'tokenizer';
        compactHeapAfter(loadTokenizer());
      } else if (compacted === 'none') {
        compacted = 'startup';
        compactHeapAfter(Promise.resolve());
      }
    },
  });
  client.start();

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      logger.flush();
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, drainSeconds, inflight: dataplane.inflight }, 'shutting down');
    await Promise.all([client.stop(), dataplane.drain(drainSeconds * 1000)]);
    await dataplane.close();
    await rateLimits?.close();
    await budgets?.close();
    await tracing.shutdown().catch((err: unknown) => logger.warn({ err }, 'trace export at shutdown failed'));
    logger.info('stopped');
    logger.flush(() => process.exit(0));
  };
  if (role) return role.onShutdown((reason) => void shutdown(reason));
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`dataplane: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
