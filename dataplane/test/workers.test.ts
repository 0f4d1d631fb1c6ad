// `--workers 2`: two worker processes share the proxy port, each with its own config stream; the
// primary answers the admin port for all of them; SIGTERM drains both and exits 0.
import { type StartedProcess, stopAllProcesses, type TestUpstream, waitFor } from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { parseWorkers } from '../src/workers.ts';
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

async function startWorkers(): Promise<Workers> {
  const workers = await startMainProcess({
    controller: `127.0.0.1:${controller.port}`,
    nodeId: 'multi',
    name: 'dataplane-workers',
    args: ['--workers', '2'],
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
