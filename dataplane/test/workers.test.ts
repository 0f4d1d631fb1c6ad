// `--workers 2`: two worker processes share the proxy port, each with its own config stream; the
// primary answers the admin port for all of them; SIGTERM drains both and exits 0.
import {
  type StartedProcess,
  type StartedRedis,
  startRedis,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { checkWorkerCounters, parseWorkers } from '../src/workers.ts';
import {
  catchAllSnapshot,
  type SnapshotController,
  startDelayedUpstream,
  startMainProcess,
  startSnapshotController,
} from './process-fixtures.ts';

// Three processes start per test (a primary and two workers): give a busy machine time.
const SLOW = 90_000;

let upstream: TestUpstream;
let controller: SnapshotController;
/** Whether the data plane `node` ACKed the snapshot. */
const acked = (node: string) => controller.acks.some((ack) => ack.node === node);

beforeAll(async () => {
  upstream = await startDelayedUpstream();
  controller = await startSnapshotController(catchAllSnapshot(upstream));
});

afterAll(async () => {
  await stopAllProcesses();
  controller?.close();
  await upstream?.close();
});

interface Workers {
  proc: StartedProcess;
  port: number;
  adminPort: number;
}

/** Two workers; without Redis they need the explicit opt-in to per-worker counters. */
async function startWorkers(args: string[] = ['--allow-per-worker-counters']): Promise<Workers> {
  const workers = await startMainProcess({
    controller: `127.0.0.1:${controller.port}`,
    nodeId: 'multi',
    name: 'dataplane-workers',
    args: ['--workers', '2', ...args],
  });
  await waitFor(
    async () => (await request(`http://127.0.0.1:${workers.adminPort}/readyz`)).statusCode === 200,
    {
      what: 'both workers ready',
      timeoutMs: 60_000,
    },
  );
  return workers;
}

async function adminJson<T>(adminPort: number, path: string): Promise<T> {
  const response = await request(`http://127.0.0.1:${adminPort}${path}`);
  return (await response.body.json()) as T;
}

interface WorkerList {
  workers: Array<{ worker: number; pid: number; adminPort: number }>;
}

/** Requests each on a connection of its own, so the primary hands them to the workers in turn. */
async function getOnNewConnection(port: number, path: string): Promise<{ status: number; body: string }> {
  const agent = new Agent({ pipelining: 0 });
  try {
    const response = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await agent.close();
  }
}

function requestsCounted(metrics: string): number {
  let total = 0;
  for (const line of metrics.split('\n'))
    if (line.startsWith('tollgate_requests_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

test('--workers parses a count or auto and refuses anything else', () => {
  expect(parseWorkers(undefined, 8)).toBe(1);
  expect(parseWorkers('3', 8)).toBe(3);
  expect(parseWorkers('auto', 8)).toBe(8);
  expect(() => parseWorkers('0', 8)).toThrow('--workers must be a whole number');
  expect(() => parseWorkers('two', 8)).toThrow('--workers must be a whole number');
});

test('more than one worker without Redis needs the explicit opt-in, which comes with a warning', () => {
  expect(checkWorkerCounters({ workers: 1, redis: false, allowPerWorkerCounters: false })).toBeUndefined();
  expect(checkWorkerCounters({ workers: 4, redis: true, allowPerWorkerCounters: false })).toBeUndefined();
  expect(() => checkWorkerCounters({ workers: 4, redis: false, allowPerWorkerCounters: false })).toThrow(
    /TG_ERR_WORKERS_NEED_SHARED_COUNTERS: --workers 4 without --redis .* up to 4× each limit/,
  );
  expect(checkWorkerCounters({ workers: 4, redis: false, allowPerWorkerCounters: true })?.warning).toMatch(
    /each may be exceeded up to 4× in this pod/,
  );
});

test(
  '--workers 2 without --redis refuses to start before forking any worker, naming the fix',
  async () => {
    const { proc } = await startMainProcess({
      controller: `127.0.0.1:${controller.port}`,
      nodeId: 'refused',
      name: 'dataplane-workers-refused',
      args: ['--workers', '2'],
    });
    const code = await new Promise<number | null>((resolve) => {
      if (proc.child.exitCode !== null) resolve(proc.child.exitCode);
      else proc.child.once('exit', (exitCode) => resolve(exitCode));
    });
    expect(code).toBe(1);
    expect(proc.output()).toMatch(/TG_ERR_WORKERS_NEED_SHARED_COUNTERS/);
    expect(proc.output()).toMatch(/--allow-per-worker-counters/);
    expect(proc.output()).not.toMatch(/data plane listening/);
    expect(acked('refused-w1') || acked('refused-w2')).toBe(false);
  },
  SLOW,
);

test(
  '--workers 2 with --allow-per-worker-counters starts and warns that limits count per worker',
  async () => {
    const { proc } = await startWorkers();
    expect(proc.output()).toMatch(/each may be exceeded up to 2× in this pod/);
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  },
  SLOW,
);

test(
  '--workers 2 with --redis starts without the opt-in: the counters are shared',
  async () => {
    let redis: StartedRedis | undefined;
    try {
      redis = await startRedis();
      const { proc } = await startWorkers(['--redis', redis.url]);
      await waitFor(() => acked('multi-w1') && acked('multi-w2'), { what: 'an ACK from each worker' });
      expect(proc.output()).not.toMatch(/allow-per-worker-counters|count in this pod only/);
      expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
    } finally {
      await redis?.stop();
    }
  },
  SLOW,
);

test(
  'two workers each take a config stream, both serve traffic, and the primary sums their metrics',
  async () => {
    const { proc, port, adminPort } = await startWorkers();
    await waitFor(() => acked('multi-w1') && acked('multi-w2'), {
      what: 'an ACK from each worker',
      timeoutMs: 30_000,
    });

    const readiness = await adminJson<{ ready: boolean; workers: Array<{ ready: boolean }> }>(
      adminPort,
      '/readyz',
    );
    expect(readiness.ready).toBe(true);
    expect(readiness.workers).toHaveLength(2);

    for (let i = 0; i < 8; i++)
      expect(await getOnNewConnection(port, '/hello')).toEqual({ status: 200, body: 'finished' });

    const { workers } = await adminJson<WorkerList>(adminPort, '/workers');
    expect(workers.map((w) => w.worker).sort()).toEqual([1, 2]);
    const perWorker = await Promise.all(
      workers.map(async (w) =>
        requestsCounted(await (await request(`http://127.0.0.1:${w.adminPort}/metrics`)).body.text()),
      ),
    );
    // Connections are handed out round-robin: each worker served some of the eight.
    for (const count of perWorker) expect(count).toBeGreaterThan(0);
    const summed = requestsCounted(
      await (await request(`http://127.0.0.1:${adminPort}/metrics`)).body.text(),
    );
    expect(summed).toBe(perWorker.reduce((a, b) => a + b, 0));

    // Endpoints about one data plane are answered by a worker.
    const dump = await adminJson<{ version: string | null }>(adminPort, '/config_dump');
    expect(dump.version).toMatch(/\S/);
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  },
  SLOW,
);

test(
  'SIGTERM drains both workers: in-flight requests on each finish, then everything exits 0',
  async () => {
    const { proc, port, adminPort } = await startWorkers();
    const { workers } = await adminJson<WorkerList>(adminPort, '/workers');
    // Two connections: the primary gives one to each worker.
    const slow = [
      getOnNewConnection(port, '/slow?delay=1000&n=1'),
      getOnNewConnection(port, '/slow?delay=1000&n=2'),
    ];
    await waitFor(
      () => upstream.requests.filter((r) => r.url.startsWith('/slow?delay=1000&n=')).length === 2,
      {
        what: 'both requests at the upstream',
      },
    );
    const exited = proc.stop('SIGTERM', 20_000);
    await waitFor(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 503, {
      what: 'not ready while draining',
    });
    expect(await Promise.all(slow)).toEqual([
      { status: 200, body: 'finished' },
      { status: 200, body: 'finished' },
    ]);
    expect(await exited).toBe(0);
    for (const { pid } of workers) expect(() => process.kill(pid, 0)).toThrow();
    expect(proc.output()).toMatch(/shutting down: draining every worker/);
  },
  SLOW,
);
