// The status writer against a real API server: what lands in .status, what is left alone, and how
// it copes with conflicts, deletions and bursts.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Condition } from '@tollgate/api';
import { type KubeCluster, startKubeCluster } from '@tollgate/testkit';
import type { KubeApis } from '../../src/kubernetes/client.ts';
import type { DesiredStatus } from '../../src/kubernetes/status-merge.ts';
import {
  type StatusChange,
  StatusWriter,
  type StatusWriterOptions,
} from '../../src/kubernetes/status-writer.ts';
import { programmedCondition } from '../../src/status/programmed.ts';
import { translate } from '../../src/translate/index.ts';
import { apisFor, captureLogger, uniqueName } from './support.ts';

const SLOW = 20 * 60_000;
const NS = 'default';

let cluster: KubeCluster;
let apis: KubeApis;
const writers: StatusWriter[] = [];

beforeAll(async () => {
  cluster = await startKubeCluster();
  await cluster.installCrds();
  apis = apisFor(cluster.kubeconfig);
}, SLOW);

afterEach(async () => {
  await Promise.all(writers.splice(0).map((w) => w.stop()));
});

afterAll(async () => {
  await cluster?.stop();
});

function writer(overrides: Partial<StatusWriterOptions> = {}): StatusWriter {
  const w = new StatusWriter({
    customObjects: apis.customObjects,
    logger: captureLogger().logger,
    coalesceMs: 20,
    ...overrides,
  });
  writers.push(w);
  return w;
}

interface StoredRoute {
  metadata: {
    generation: number;
    resourceVersion: string;
    managedFields?: Array<{ manager: string; subresource?: string }>;
  };
  status?: { conditions?: Array<Condition & Record<string, unknown>> };
}

async function createRoute(name: string): Promise<StoredRoute> {
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name, namespace: NS },
      spec: { rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9000' }] }] },
    }),
  });
  return getRoute(name);
}

async function getRoute(name: string): Promise<StoredRoute> {
  return JSON.parse(
    await cluster.kubectlOk([
      'get',
      `route.tollgate.dev/${name}`,
      '-n',
      NS,
      '-o',
      'json',
      '--show-managed-fields',
    ]),
  );
}

async function patchStatus(kind: string, name: string, status: unknown): Promise<void> {
  await cluster.kubectlOk([
    'patch',
    `${kind}/${name}`,
    '-n',
    NS,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

const rollout = { version: 'abc123', connected: 2, acked: 2, rejections: [] };

/** What the controller would want for a healthy Route at `generation`. */
function healthy(
  name: string,
  generation: number,
  message = 'Route is valid and in the snapshot',
): DesiredStatus {
  return {
    ref: { kind: 'Route', namespace: NS, name },
    generation,
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message, observedGeneration: generation },
      {
        type: 'ResolvedRefs',
        status: 'True',
        reason: 'ResolvedRefs',
        message: 'All references resolved',
        observedGeneration: generation,
      },
      programmedCondition(true, rollout, generation),
    ],
  };
}

const condition = (route: StoredRoute, type: string) =>
  route.status?.conditions?.find((c) => c.type === type);

test('writes Accepted, ResolvedRefs and Programmed with observedGeneration, shown by kubectl get', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  const w = writer();
  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();

  const route = await getRoute(name);
  expect(route.status?.conditions?.map((c) => c.type)).toEqual(['Accepted', 'ResolvedRefs', 'Programmed']);
  for (const c of route.status!.conditions!) {
    expect(c.observedGeneration).toBe(created.metadata.generation);
    expect(c.lastTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }
  expect(condition(route, 'Programmed')).toMatchObject({
    status: 'True',
    message: 'In snapshot abc123; 2 of 2 data planes run it.',
  });
  expect(route.metadata.managedFields).toContainEqual(
    expect.objectContaining({ manager: 'tollgate-controller', subresource: 'status' }),
  );
  const table = await cluster.kubectlOk(['get', 'routes', name, '-n', NS]);
  expect(table).toMatch(new RegExp(`${name}\\s+True\\s+True`));
  expect(w.counts.written).toBe(1);
});

test('skips writes that change nothing, without even reading when it wrote that status itself', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  const w = writer();
  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();
  const written = await getRoute(name);

  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();
  expect(w.counts).toMatchObject({ written: 1, unchanged: 0 });

  // A fresh writer (a new leader) reads, finds the same status, and writes nothing.
  const fresh = writer();
  fresh.update([healthy(name, created.metadata.generation)]);
  await fresh.idle();
  expect(fresh.counts).toMatchObject({ written: 0, unchanged: 1 });
  expect((await getRoute(name)).metadata.resourceVersion).toBe(written.metadata.resourceVersion);
});

test('lastTransitionTime moves only when a condition changes status', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  const generation = created.metadata.generation;
  const w = writer();
  w.update([healthy(name, generation)]);
  await w.idle();
  // Age the stored times so a new one is recognisable.
  const aged = (await getRoute(name)).status!.conditions!.map((c) => ({
    ...c,
    lastTransitionTime: '2020-01-01T00:00:00Z',
  }));
  await patchStatus('route.tollgate.dev', name, { conditions: aged });

  const fresh = writer(); // reads the aged copy
  fresh.update([healthy(name, generation, 'a new message, same status')]);
  await fresh.idle();
  let route = await getRoute(name);
  expect(condition(route, 'Accepted')).toMatchObject({
    message: 'a new message, same status',
    lastTransitionTime: '2020-01-01T00:00:00Z',
  });

  const rejected = healthy(name, generation);
  rejected.conditions[0] = {
    ...rejected.conditions[0]!,
    status: 'False',
    reason: 'Invalid',
    message: 'spec: broken',
  };
  fresh.update([rejected]);
  await fresh.idle();
  route = await getRoute(name);
  expect(condition(route, 'Accepted')?.status).toBe('False');
  expect(condition(route, 'Accepted')?.lastTransitionTime).not.toBe('2020-01-01T00:00:00Z');
  expect(condition(route, 'ResolvedRefs')?.lastTransitionTime).toBe('2020-01-01T00:00:00Z');
});

test("keeps other tools' conditions where they are", async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  const foreign = {
    type: 'example.com/Audited',
    status: 'True',
    reason: 'Audited',
    message: 'checked by another tool',
    lastTransitionTime: '2021-05-05T05:05:05Z',
  };
  await patchStatus('route.tollgate.dev', name, { conditions: [foreign] });
  const w = writer();
  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();
  const route = await getRoute(name);
  expect(route.status?.conditions?.[0]).toEqual(foreign);
  expect(route.status?.conditions?.map((c) => c.type)).toEqual([
    'example.com/Audited',
    'Accepted',
    'ResolvedRefs',
    'Programmed',
  ]);
});

test('retries a conflict with a fresh read and keeps what the concurrent writer wrote', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  let interfered = false;
  // Between our read and our write, another writer changes the status (a real 409 follows).
  const racing = new Proxy(apis.customObjects, {
    get(target, property, receiver) {
      if (property === 'getNamespacedCustomObject') {
        return async (...args: Parameters<CustomObjectsApi['getNamespacedCustomObject']>) => {
          const object = await target.getNamespacedCustomObject(...args);
          if (!interfered) {
            interfered = true;
            await patchStatus('route.tollgate.dev', name, {
              conditions: [
                { type: 'example.com/Racer', status: 'True', reason: 'Raced', message: 'was first' },
              ],
            });
          }
          return object;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  const w = writer({ customObjects: racing });
  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();
  expect(w.counts).toMatchObject({ conflict: 1, written: 1, error: 0 });
  const types = (await getRoute(name)).status?.conditions?.map((c) => c.type);
  expect(types).toEqual(['example.com/Racer', 'Accepted', 'ResolvedRefs', 'Programmed']);
});

test('gives up quietly on an object that no longer exists', async () => {
  const w = writer();
  w.update([healthy(uniqueName('never-created'), 1)]);
  await w.idle();
  expect(w.counts).toMatchObject({ gone: 1, error: 0, written: 0 });
});

test('a burst of changes to one object becomes one write of the newest status', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  const changes: StatusChange[] = [];
  const w = writer({ coalesceMs: 200, onChange: (change) => changes.push(change) });
  for (let i = 1; i <= 25; i++) w.update([healthy(name, created.metadata.generation, `revision ${i}`)]);
  await w.idle();
  expect(w.counts.written).toBe(1);
  expect(changes).toHaveLength(1);
  expect(condition(await getRoute(name), 'Accepted')?.message).toBe('revision 25');
});

test('writes Policy ancestors per target and leaves other controllers’ entries alone', async () => {
  const route = uniqueName('route');
  const policy = uniqueName('policy');
  await createRoute(route);
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: policy, namespace: NS },
      spec: {
        targetRefs: [
          { kind: 'Route', name: route },
          { kind: 'Route', name: 'missing' },
        ],
        timeouts: { request: '30s' },
      },
    }),
  });
  const other = {
    ancestorRef: { group: 'tollgate.dev', kind: 'Route', name: route, namespace: NS },
    controllerName: 'example.com/other-controller',
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs' }],
  };
  await patchStatus('policy.tollgate.dev', policy, { ancestors: [other] });

  // Statuses as the controller computes them, from the objects in the API server.
  const objects = async () =>
    (
      JSON.parse(await cluster.kubectlOk(['get', 'routes,policies', '-n', NS, '-o', 'json'])) as {
        items: unknown[];
      }
    ).items;
  const desiredFor = async () =>
    translate(await objects()).statuses.filter((s) => s.ref.name === policy || s.ref.name === route);
  const w = writer();
  w.update(await desiredFor());
  await w.idle();

  const read = async () =>
    JSON.parse(await cluster.kubectlOk(['get', `policy.tollgate.dev/${policy}`, '-n', NS, '-o', 'json'])) as {
      status: {
        ancestors: Array<{ ancestorRef: { name: string }; controllerName: string; conditions: Condition[] }>;
      };
    };
  let stored = await read();
  expect(stored.status.ancestors[0]).toEqual(other);
  const ours = stored.status.ancestors.filter((a) => a.controllerName === 'tollgate.dev/controller');
  expect(ours.map((a) => [a.ancestorRef.name, a.conditions[0]!.status, a.conditions[0]!.reason])).toEqual([
    [route, 'True', 'Accepted'],
    ['missing', 'False', 'TargetNotFound'],
  ]);

  // The Policy stops referencing the missing Route: our entry for it goes, theirs stays.
  await cluster.kubectlOk([
    'patch',
    `policy.tollgate.dev/${policy}`,
    '-n',
    NS,
    '--type=json',
    '-p',
    JSON.stringify([{ op: 'remove', path: '/spec/targetRefs/1' }]),
  ]);
  w.update(await desiredFor());
  await w.idle();
  stored = await read();
  expect(stored.status.ancestors.map((a) => [a.controllerName, a.ancestorRef.name])).toEqual([
    ['example.com/other-controller', route],
    ['tollgate.dev/controller', route],
  ]);
});

test('a failed write is retried with backoff until it lands', async () => {
  const name = uniqueName('route');
  const created = await createRoute(name);
  let failuresLeft = 2;
  const flaky = new Proxy(apis.customObjects, {
    get(target, property, receiver) {
      if (property === 'replaceNamespacedCustomObjectStatus' && failuresLeft > 0) {
        return async () => {
          failuresLeft -= 1;
          throw new Error('connection reset');
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  const { logger, lines } = captureLogger();
  const w = writer({ customObjects: flaky, logger });
  w.update([healthy(name, created.metadata.generation)]);
  await w.idle();
  expect(w.counts).toMatchObject({ error: 2, written: 1 });
  expect(lines.filter((l) => l.code === 'TG_ERR_STATUS_WRITE')).toHaveLength(2);
  expect(condition(await getRoute(name), 'Accepted')?.status).toBe('True');
});
