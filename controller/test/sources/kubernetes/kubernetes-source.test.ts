// The Kubernetes source against an in-memory API server over real HTTP: the sync barrier, watch
// events, restarts after failures, relists after 410 Gone, and Secrets read only when referenced.
import { waitFor } from '@tollgate/testkit';
import { KubernetesSource } from '../../../src/sources/kubernetes/index.ts';
import type { SourceState } from '../../../src/sources/source.ts';
import { captureLogger } from '../../server/helpers.ts';
import { FakeApiServer, type StoredObject } from './fake-api-server.ts';

const route = (name: string, namespace = 'shop', url = 'http://127.0.0.1:9000'): StoredObject => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Route',
  metadata: { name, namespace, generation: 1 },
  spec: { rules: [{ backendRefs: [{ url }] }] },
});
const consumer = (name: string, secret: string, namespace = 'shop'): StoredObject => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Consumer',
  metadata: { name, namespace, generation: 1 },
  spec: { apiKeys: [{ secretRef: { name: secret, key: 'key' } }] },
});
const secret = (name: string, value: string, namespace = 'shop'): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: { key: Buffer.from(value).toString('base64') },
});
const service = (name: string, namespace = 'shop'): StoredObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { ports: [{ name: 'http', port: 80 }] },
});
const slice = (name: string, service: string, namespace = 'shop'): StoredObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
  addressType: 'IPv4',
  endpoints: [{ addresses: ['10.1.0.1'] }],
  ports: [{ name: 'http', port: 8080 }],
});

type Raw = { apiVersion: string; kind: string; metadata: { name: string; namespace: string } } & Record<
  string,
  unknown
>;
const names = (state: SourceState): string[] =>
  (state.objects as Raw[]).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`).sort();
const find = (state: SourceState, kind: string, name: string): Raw | undefined =>
  (state.objects as Raw[]).find((o) => o.kind === kind && o.metadata.name === name);

let api: FakeApiServer;
let source: KubernetesSource | undefined;
let states: SourceState[];

function startSource(options: { namespaces?: string[]; secretWaitMs?: number } = {}): {
  source: KubernetesSource;
  started: Promise<void>;
} {
  states = [];
  source = new KubernetesSource({
    kubeConfig: api.kubeConfig(),
    logger: captureLogger().logger,
    backoff: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  source.on('change', (state) => states.push(state));
  return { source, started: source.start() };
}

const latest = (): SourceState => states.at(-1) ?? { objects: [], problems: [] };

beforeEach(async () => {
  api = await FakeApiServer.start();
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
  await api.close();
});

test('emits nothing until every collection has been listed, then one complete state', async () => {
  api.apply(route('shop'));
  api.apply(service('orders'));
  api.apply(slice('orders-1', 'orders'));
  // Routes cannot be listed until the test says so: the other collections must not be emitted
  // without them, however long that takes.
  let routesListable = false;
  api.fail((r) => !routesListable && r.path.endsWith('/routes') && !r.watch, 500, Number.POSITIVE_INFINITY);
  const { started } = startSource();
  const listed = (suffix: string) => api.requests.filter((r) => r.path.endsWith(suffix) && !r.watch).length;
  await waitFor(() => listed('/routes') >= 2 && listed('/services') >= 1 && listed('/endpointslices') >= 1);
  expect(states).toHaveLength(0);
  routesListable = true;
  await started;
  expect(states).toHaveLength(1);
  expect(names(latest())).toEqual(['EndpointSlice/shop/orders-1', 'Route/shop/shop', 'Service/shop/orders']);
  expect(latest().problems).toEqual([]);
});

test('hands objects on as plain JSON with apiVersion and kind, like the file source', async () => {
  api.apply(service('orders'));
  const { started } = startSource();
  await started;
  const listed = find(latest(), 'Service', 'orders')!;
  expect(listed.apiVersion).toBe('v1');
  expect(Object.getPrototypeOf(listed)).toBe(Object.prototype);
  expect(listed.metadata).toMatchObject({ name: 'orders', namespace: 'shop' });
  expect(JSON.parse(JSON.stringify(listed))).toEqual(listed);
});

test('reads collections larger than one page completely', async () => {
  api.pageSize = 2;
  for (let i = 0; i < 5; i++) api.apply(route(`r${i}`));
  const { started } = startSource();
  await started;
  expect(names(latest()).filter((n) => n.startsWith('Route/'))).toHaveLength(5);
});

test('follows additions, changes and deletions, coalescing a burst into few states', async () => {
  const { started } = startSource();
  await started;
  for (let i = 0; i < 20; i++) api.apply(route(`r${i}`));
  await waitFor(() => names(latest()).filter((n) => n.startsWith('Route/')).length === 20);
  expect(states.length).toBeLessThan(10);
  api.apply(route('r0', 'shop', 'http://127.0.0.1:9001'));
  await waitFor(() => JSON.stringify(find(latest(), 'Route', 'r0')).includes('9001'));
  api.delete(route('r1'));
  await waitFor(() => !find(latest(), 'Route', 'r1'));
});

test('a change to status alone emits nothing (status writes do not retrigger translation)', async () => {
  api.apply(route('r1'));
  const { started } = startSource();
  await started;
  const count = states.length;
  api.apply({ ...route('r1'), status: { conditions: [{ type: 'Accepted', status: 'True' }] } });
  api.apply(route('marker'));
  await waitFor(() => find(latest(), 'Route', 'marker'));
  expect(states.length).toBe(count + 1);
});

test('restarts a failed watch with backoff, reports the problem meanwhile, and catches up', async () => {
  api.apply(route('before'));
  const { started } = startSource();
  await started;
  // The API server goes away: open watches are cut and the next reconnects fail.
  api.fail((r) => r.path.endsWith('/routes') && r.watch, 503, 4);
  api.dropWatches();
  await waitFor(() => latest().problems.some((p) => p.location.startsWith('routes')), {
    what: 'a problem for the failing routes watch',
  });
  expect(names(latest())).toContain('Route/shop/before');
  api.apply(route('after'));
  await waitFor(() => find(latest(), 'Route', 'after'), { what: 'the change made while watches failed' });
  await waitFor(() => latest().problems.length === 0, { what: 'the problem to clear' });
  const routeWatches = api.requests.filter((r) => r.path.endsWith('/routes') && r.watch);
  expect(routeWatches.length).toBeGreaterThanOrEqual(5);
  // Resumed from where it was, not relisted: the watch history still covered it.
  expect(api.requests.filter((r) => r.path.endsWith('/routes') && !r.watch)).toHaveLength(1);
});

test('relists after 410 Gone and drops what was deleted while it was away', async () => {
  api.apply(route('stays'));
  api.apply(route('goes'));
  const { started } = startSource();
  await started;
  api.fail((r) => r.path.endsWith('/routes') && r.watch, 503, 2);
  api.dropWatches();
  api.delete(route('goes'));
  api.apply(route('new'));
  // History is compacted while the informer is away: resuming is impossible, a relist is needed.
  api.compact();
  await waitFor(() => find(latest(), 'Route', 'new') && !find(latest(), 'Route', 'goes'), {
    what: 'the relisted routes',
  });
  expect(names(latest()).filter((n) => n.startsWith('Route/'))).toEqual([
    'Route/shop/new',
    'Route/shop/stays',
  ]);
  expect(api.requests.filter((r) => r.path.endsWith('/routes') && !r.watch).length).toBe(2);
});

test('reads only the Secrets that Tollgate objects reference, each by name', async () => {
  api.apply(consumer('app', 'app-keys'));
  api.apply(secret('app-keys', 'one'));
  api.apply(secret('unrelated', 'never read'));
  const { started } = startSource();
  await started;
  expect(names(latest())).toEqual(['Consumer/shop/app', 'Secret/shop/app-keys']);
  const secretRequests = api.requests.filter((r) => r.path.includes('/secrets'));
  expect(secretRequests.length).toBeGreaterThan(0);
  for (const request of secretRequests) {
    expect(request.path).toBe('/api/v1/namespaces/shop/secrets');
    expect(request.query.get('fieldSelector')).toBe('metadata.name=app-keys');
  }
});

test('a rotated Secret is emitted with its new value', async () => {
  api.apply(consumer('app', 'app-keys'));
  api.apply(secret('app-keys', 'one'));
  const { started } = startSource();
  await started;
  const keyOf = (state: SourceState) => (find(state, 'Secret', 'app-keys')?.data as { key?: string })?.key;
  expect(keyOf(latest())).toBe(Buffer.from('one').toString('base64'));
  api.apply(secret('app-keys', 'two'));
  await waitFor(() => keyOf(latest()) === Buffer.from('two').toString('base64'));
});

test('switching to another Secret emits the new one with the change, and stops watching the old', async () => {
  api.apply(consumer('app', 'old-keys'));
  api.apply(secret('old-keys', 'one'));
  api.apply(secret('new-keys', 'two'));
  const { started } = startSource();
  await started;
  await waitFor(() => api.openWatches().some((w) => w.includes('name=old-keys')));
  api.apply(consumer('app', 'new-keys'));
  await waitFor(() => find(latest(), 'Secret', 'new-keys'));
  // No state ever had the Consumer pointing at a Secret that was not read yet.
  for (const state of states) {
    const spec = find(state, 'Consumer', 'app')!.spec as { apiKeys: Array<{ secretRef: { name: string } }> };
    expect(find(state, 'Secret', spec.apiKeys[0]!.secretRef.name)).toBeDefined();
  }
  expect(find(latest(), 'Secret', 'old-keys')).toBeUndefined();
  await waitFor(() => !api.openWatches().some((w) => w.includes('name=old-keys')), {
    what: 'the old Secret watch to close',
  });
});

test('a referenced Secret that does not exist yet appears once it is created', async () => {
  api.apply(consumer('app', 'later'));
  const { started } = startSource();
  await started;
  expect(find(latest(), 'Secret', 'later')).toBeUndefined();
  api.apply(secret('later', 'one'));
  await waitFor(() => find(latest(), 'Secret', 'later'));
});

test('a referenced Secret that cannot be read holds back nothing else, and shows as a problem', async () => {
  api.apply(route('r1'));
  api.apply(consumer('app', 'forbidden-keys'));
  api.apply(secret('forbidden-keys', 'one'));
  api.fail((r) => r.path.includes('/secrets'), 403, 1000);
  const { started } = startSource({ secretWaitMs: 200 });
  await started;
  expect(names(latest())).toEqual(['Consumer/shop/app', 'Route/shop/r1']);
  await waitFor(() => latest().problems.length > 0);
  expect(latest().problems[0]).toMatchObject({
    location: 'secrets (namespace shop, metadata.name=forbidden-keys)',
    message: expect.stringContaining('403'),
  });
});

test('watches only the configured namespaces', async () => {
  api.apply(route('a', 'team-a'));
  api.apply(route('b', 'team-b'));
  api.apply(consumer('c', 'keys', 'team-a'));
  api.apply(secret('keys', 'one', 'team-a'));
  const { started } = startSource({ namespaces: ['team-a'] });
  await started;
  expect(names(latest())).toEqual(['Consumer/team-a/c', 'Route/team-a/a', 'Secret/team-a/keys']);
  for (const request of api.requests) expect(request.path).toContain('/namespaces/team-a/');
});

test('stop() closes every watch, and a start() still waiting rejects without emitting', async () => {
  api.apply(consumer('app', 'app-keys'));
  api.apply(secret('app-keys', 'one'));
  const { source: first, started } = startSource();
  await started;
  await waitFor(() => api.openWatches().length === 7, { what: '6 collection watches and 1 Secret watch' });
  await first.stop();
  await waitFor(() => api.openWatches().length === 0, { what: 'all watches closed' });

  api.fail((r) => r.path.endsWith('/routes'), 500, 1000);
  const { source: second, started: waiting } = startSource();
  await waitFor(() => api.requests.filter((r) => r.path.endsWith('/routes')).length > 2);
  await second.stop();
  await expect(waiting).rejects.toMatchObject({ code: 'TG_ERR_SOURCE_STOPPED' });
  expect(states).toHaveLength(0);
  await waitFor(() => api.openWatches().length === 0, { what: 'all watches closed' });
});
