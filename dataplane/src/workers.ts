// Multi-core data plane (`--workers N`): N worker processes (node:cluster) share the proxy
// listener; each is a whole data plane with its own config stream to the controller. The primary
// process serves no traffic: it owns the admin port (readiness over all workers, metrics summed
// over all workers, every other endpoint answered by one worker), restarts a worker that dies,
// and on SIGTERM tells every worker to drain, then exits once they all have.
import cluster, { type Worker } from 'node:cluster';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@tollgate/telemetry';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** The worker's index, 1..N, passed in the environment (a restarted worker keeps its index). */
const WORKER_INDEX_ENV = 'TOLLGATE_WORKER_INDEX';

interface AdminMessage {
  tollgate: 'admin';
  port: number;
}
interface ShutdownMessage {
  tollgate: 'shutdown';
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** What a worker process does differently from a single data plane. */
export interface WorkerRole {
  /** 1..N */
  readonly index: number;
  /** The worker's own admin listener: loopback, a free port, reached through the primary. */
  readonly admin: ListenAddress;
  /** Tells the primary where this worker's admin listener is; makes its metrics aggregatable. */
  started(adminPort: number, registry: Registry): void;
  /** Runs `drain` once, when the primary asks or goes away. Signals are the primary's to handle. */
  onShutdown(drain: (reason: string) => void): void;
}

/** Present in a worker process of a `--workers N` data plane, undefined otherwise. */
export function workerRole(): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const index = Number(process.env[WORKER_INDEX_ENV] ?? cluster.worker?.id ?? 1);
  return {
    index,
    admin: { host: '127.0.0.1', port: 0 },
    started(adminPort, registry) {
      AggregatorRegistry.setRegistries([registry]);
      // Constructing one is what makes prom-client answer the primary's metric requests here.
      new AggregatorRegistry();
      process.send?.({ tollgate: 'admin', port: adminPort } satisfies AdminMessage);
    },
    onShutdown(drain) {
      let called = false;
      const once = (reason: string): void => {
        if (called) return;
        called = true;
        drain(reason);
      };
      process.on('message', (message: unknown) => {
        if ((message as ShutdownMessage | null)?.tollgate === 'shutdown') once('primary');
      });
      // The primary died: nobody will route traffic here for long; drain and go.
      process.on('disconnect', () => once('primary gone'));
      // A terminal's Ctrl-C reaches the whole process group; the primary decides for everyone.
      for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => {});
    },
  };
}

/** Parses `--workers` / TOLLGATE_WORKERS: a whole number ≥ 1, or `auto` (one per CPU). */
export function parseWorkers(value: string | undefined, cpus: number): number {
  if (value === undefined || value === '') return 1;
  if (value === 'auto') return Math.max(1, cpus);
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw new Error(`--workers must be a whole number from 1 to 256 or "auto", got "${value}"`);
  return n;
}

/** Error code: `--workers N` without Redis and without `--allow-per-worker-counters`. */
export const WORKERS_NEED_SHARED_COUNTERS = 'TG_ERR_WORKERS_NEED_SHARED_COUNTERS';

/**
 * Decides whether N workers may start with the counters they have. Without Redis every worker
 * counts budgets and global rate limits in its own memory, so a pod of N workers would let N times
 * a limit through. We refuse to start rather than enforce limit/N per worker: connections are
 * handed to workers round-robin per connection, not per caller, so a caller holding one keep-alive
 * connection would meet only its worker's share (1/N of its limit, 0 for a limit below N), a
 * restarted worker would lose its share of the period's spend, and the admin reports (/budgets,
 * usage) would show one worker's counts as the pod's. None of that is a limit an operator set.
 * `--allow-per-worker-counters` is the explicit opt-in for deployments without budgets or global
 * limits (or that accept N×); it returns a warning for the caller to log at start-up.
 */
export function checkWorkerCounters(options: {
  workers: number;
  redis: boolean;
  allowPerWorkerCounters: boolean;
}): { warning: string } | undefined {
  if (options.workers <= 1 || options.redis) return undefined;
  if (!options.allowPerWorkerCounters)
    throw new Error(
      `${WORKERS_NEED_SHARED_COUNTERS}: --workers ${options.workers} without --redis would count budgets and ` +
        `global rate limits in each worker, letting up to ${options.workers}× each limit through; ` +
        'configure --redis (TOLLGATE_REDIS_URL), or pass --allow-per-worker-counters ' +
        '(TOLLGATE_ALLOW_PER_WORKER_COUNTERS=true) to accept that',
    );
  return {
    warning:
      `--allow-per-worker-counters: ${options.workers} workers without Redis each count budgets and ` +
      `global rate limits on their own; each may be exceeded up to ${options.workers}× in this pod`,
  };
}

export interface PrimaryOptions {
  workers: number;
  /** The admin address the deployment probes and scrapes. */
  admin: ListenAddress;
  logger: Logger;
  /** How long a worker may take to drain before the primary kills it (its own deadline + margin). */
  drainSeconds: number;
}

interface WorkerState {
  index: number;
  worker: Worker;
  adminPort: number | undefined;
}

/**
 * Runs the primary: forks the workers (same argv; each knows it is a worker), serves the admin
 * port, and resolves when a shutdown has finished (the caller exits).
 */
export async function runPrimary(
  options: PrimaryOptions,
): Promise<{ adminPort: number; stopped: Promise<number> }> {
  const { logger } = options;
  const states = new Map<number, WorkerState>();
  let stopping = false;
  const aggregator = new AggregatorRegistry();

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const state: WorkerState = { index, worker, adminPort: undefined };
    states.set(index, state);
    worker.on('message', (message: unknown) => {
      const m = message as AdminMessage | null;
      if (m?.tollgate === 'admin' && Number.isInteger(m.port)) state.adminPort = m.port;
    });
    worker.on('exit', (code, signal) => {
      if (states.get(index) === state) states.delete(index);
      if (stopping) return;
      // A crash: restart it after a pause so a worker that cannot start does not spin.
      logger.error(
        { worker: index, pid: worker.process.pid, code, signal },
        'data-plane worker exited; restarting',
      );
      setTimeout(() => {
        if (!stopping) fork(index);
      }, 1_000).unref();
    });
  };
  for (let i = 1; i <= options.workers; i++) fork(i);

  const admin = createServer((req, res) => void serveAdmin(req, res));
  const serveAdmin = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    try {
      switch (url.pathname) {
        case '/healthz':
          return json(200, { status: 'ok', workers: states.size });
        case '/readyz': {
          // Ready only when every worker is: a pod half of whose workers have no config would
          // answer half of its requests 503.
          const answers = await Promise.all(
            [...Array(options.workers).keys()].map(async (i) => {
              const state = states.get(i + 1);
              let body: { ready?: boolean; version?: string } = {};
              try {
                if (state?.adminPort) body = JSON.parse((await adminGet(state.adminPort, '/readyz')).body);
              } catch {
                // not up (yet, or any more): not ready
              }
              return {
                worker: i + 1,
                pid: state?.worker.process.pid,
                ready: body.ready === true,
                version: body.version ?? null,
              };
            }),
          );
          const ready = !stopping && answers.every((a) => a.ready);
          const status = ready ? 'ready' : stopping ? 'draining' : 'waiting for every worker';
          return json(ready ? 200 : 503, {
            ready,
            status,
            version: answers[0]?.version ?? null,
            workers: answers,
          });
        }
        case '/metrics': {
          // Summed over the workers (prom-client's cluster aggregation; gauges are summed too).
          const text = await aggregator.clusterMetrics();
          res.writeHead(200, { 'content-type': aggregator.contentType });
          res.end(text);
          return;
        }
        case '/workers':
          return json(200, {
            workers: [...states.values()].map((s) => ({
              worker: s.index,
              pid: s.worker.process.pid,
              adminPort: s.adminPort,
            })),
          });
        default: {
          // Everything else describes one data plane: worker 1's, or ?worker=N's.
          const wanted = Number(url.searchParams.get('worker') ?? 1);
          const state = states.get(wanted);
          if (!state?.adminPort)
            return json(503, { error: { code: 'TG_ERR_NOT_READY', message: `worker ${wanted} is not up` } });
          const answer = await adminGet(state.adminPort, `${url.pathname}${url.search}`);
          res.writeHead(answer.status, { 'content-type': answer.contentType ?? 'application/json' });
          res.end(answer.body);
          return;
        }
      }
    } catch (error) {
      json(500, { error: { code: 'TG_ERR_INTERNAL', message: (error as Error).message } });
    }
  };
  const adminPort = await new Promise<number>((resolve, reject) => {
    admin.once('error', reject);
    // exclusive: the primary's own port, not a handle shared with the workers.
    admin.listen({ port: options.admin.port, host: options.admin.host, exclusive: true }, () => {
      admin.off('error', reject);
      resolve((admin.address() as AddressInfo).port);
    });
  });

  let resolveStopped: (code: number) => void = () => {};
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: killing the workers without waiting');
      for (const { worker } of states.values()) worker.process.kill('SIGKILL');
      resolveStopped(1);
      return;
    }
    stopping = true;
    logger.info({ signal, workers: states.size }, 'shutting down: draining every worker');
    const exits = [...states.values()].map(
      ({ worker }) =>
        new Promise<number>((resolve) => {
          if (worker.isDead()) return resolve(worker.process.exitCode ?? 0);
          worker.once('exit', (code) => resolve(code ?? 1));
          worker.send({ tollgate: 'shutdown' } satisfies ShutdownMessage);
        }),
    );
    const deadline = setTimeout(
      () => {
        logger.warn('workers did not finish draining in time; killing them');
        for (const { worker } of states.values()) worker.process.kill('SIGKILL');
      },
      (options.drainSeconds + 10) * 1000,
    );
    const codes = await Promise.all(exits);
    clearTimeout(deadline);
    await closeServer(admin);
    logger.info({ codes }, 'stopped');
    resolveStopped(codes.every((c) => c === 0) ? 0 : 1);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
  return { adminPort, stopped };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

interface AdminAnswer {
  status: number;
  contentType: string | undefined;
  body: string;
}

function adminGet(port: number, path: string): Promise<AdminAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 502, contentType: res.headers['content-type'], body }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`worker admin ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
