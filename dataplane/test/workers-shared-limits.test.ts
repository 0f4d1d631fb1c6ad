// Why `--workers N` needs Redis: a global rate limit served by two real worker processes. With
// --redis the pod admits exactly the limit; with --allow-per-worker-counters each worker counts on
// its own and the pod admits more than the limit (what the start-up refusal and warning are about).
import type { Snapshot } from '@tollgate/snapshot';
import {
  type StartedRedis,
  startRedis,
  startUpstream,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { translate } from '../../controller/src/translate/index.ts';
import { routeObject } from './ai/helpers.ts';
import { type SnapshotController, startMainProcess, startSnapshotController } from './process-fixtures.ts';

const SLOW = 90_000;
const LIMIT = 5;
const REQUESTS = 12;

let upstream: TestUpstream;
let redis: StartedRedis;
let controller: SnapshotController;

function limitedSnapshot(): Snapshot {
  const { snapshot, statuses } = translate([
    routeObject('app', [{ backendRefs: [{ url: upstream.url }] }]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'global', namespace: 'ai' },
      spec: {
        targetRefs: [{ kind: 'Route', name: 'app' }],
        rateLimits: [{ name: 'per-route', key: 'route', requests: { limit: LIMIT, window: '1h' } }],
      },
    },
  ]);
  const refused = statuses.flatMap((s) => s.conditions.filter((c) => c.status === 'False'));
  if (refused.length > 0) throw new Error(`manifests not accepted: ${JSON.stringify(refused)}`);
  return snapshot;
}

beforeAll(async () => {
  [upstream, redis] = await Promise.all([startUpstream('app'), startRedis()]);
  controller = await startSnapshotController(limitedSnapshot());
});

afterAll(async () => {
  await stopAllProcesses();
  controller?.close();
  await redis?.stop();
  await upstream?.close();
});

/** Starts two workers with `args`, sends REQUESTS each on a new connection, returns the 200s. */
async function admittedByTwoWorkers(
  nodeId: string,
  args: string[],
): Promise<{ admitted: number; output: string }> {
  const { proc, port, adminPort } = await startMainProcess({
    controller: `127.0.0.1:${controller.port}`,
    nodeId,
    name: `dataplane-${nodeId}`,
    args: ['--workers', '2', ...args],
  });
  await waitFor(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 200, {
    what: 'both workers ready',
    timeoutMs: 60_000,
  });
  let admitted = 0;
  // One connection per request: the primary hands connections to the workers in turn.
  for (let i = 0; i < REQUESTS; i++) {
    const agent = new Agent({ pipelining: 0 });
    try {
      const response = await request(`http://127.0.0.1:${port}/x`, { dispatcher: agent });
      await response.body.text();
      if (response.statusCode === 200) admitted++;
      else expect(response.statusCode).toBe(429);
    } finally {
      await agent.close();
    }
  }
  // Both workers took part, so the count in one worker alone cannot explain the result.
  const { workers } = (await (await request(`http://127.0.0.1:${adminPort}/workers`)).body.json()) as {
    workers: Array<{ adminPort: number }>;
  };
  expect(workers).toHaveLength(2);
  for (const worker of workers) {
    const metrics = await (await request(`http://127.0.0.1:${worker.adminPort}/metrics`)).body.text();
    expect(metrics).toMatch(/^tollgate_requests_total\{.*\} [1-9]/m);
  }
  expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  return { admitted, output: proc.output() };
}

test(
  'with --redis, two workers admit exactly a global limit between them',
  async () => {
    const { admitted } = await admittedByTwoWorkers('shared', ['--redis', redis.url]);
    expect(admitted).toBe(LIMIT);
  },
  SLOW,
);

test(
  'with --allow-per-worker-counters and no Redis, each worker counts alone: the pod admits more than the limit',
  async () => {
    const { admitted, output } = await admittedByTwoWorkers('per-worker', ['--allow-per-worker-counters']);
    expect(output).toMatch(/each may be exceeded up to 2× in this pod/);
    expect(admitted).toBeGreaterThan(LIMIT);
    expect(admitted).toBeLessThanOrEqual(2 * LIMIT);
  },
  SLOW,
);
