// Events against a real API server: rejected objects and NACKs become Warnings, once.
import { type KubeCluster, startKubeCluster } from '@tollgate/testkit';
import type { KubeApis } from '../../src/kubernetes/client.ts';
import { EventRecorder, NackEvents, rejectionEvents } from '../../src/kubernetes/events.ts';
import type { DesiredStatus } from '../../src/kubernetes/status-merge.ts';
import { StatusWriter } from '../../src/kubernetes/status-writer.ts';
import { apisFor, captureLogger, uniqueName } from './support.ts';

const SLOW = 20 * 60_000;
const NS = 'default';

let cluster: KubeCluster;
let apis: KubeApis;
const stoppers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  cluster = await startKubeCluster();
  await cluster.installCrds();
  apis = apisFor(cluster.kubeconfig);
}, SLOW);

afterEach(async () => {
  await Promise.all(stoppers.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await cluster?.stop();
});

function recorder(): EventRecorder {
  const r = new EventRecorder({ events: apis.events, logger: captureLogger().logger, instance: 'replica-a' });
  stoppers.push(() => r.stop());
  return r;
}

function writerWithEvents(events: EventRecorder): StatusWriter {
  const w = new StatusWriter({
    customObjects: apis.customObjects,
    logger: captureLogger().logger,
    coalesceMs: 10,
    onChange: rejectionEvents(events),
  });
  stoppers.push(() => w.stop());
  return w;
}

interface EventItem {
  metadata: { name: string };
  regarding: { kind: string; name: string; uid?: string };
  reason: string;
  type: string;
  note: string;
  action: string;
  reportingController: string;
  reportingInstance: string;
  series?: { count: number };
}

async function eventsAbout(name: string): Promise<EventItem[]> {
  const list = JSON.parse(
    await cluster.kubectlOk(['get', 'events.events.k8s.io', '-n', NS, '-o', 'json']),
  ) as { items: EventItem[] };
  return list.items.filter((e) => e.regarding.name === name);
}

function rejected(name: string, message: string): DesiredStatus {
  return {
    ref: { kind: 'Route', namespace: NS, name },
    generation: 1,
    conditions: [
      { type: 'Accepted', status: 'False', reason: 'InvalidRegex', message, observedGeneration: 1 },
      {
        type: 'ResolvedRefs',
        status: 'True',
        reason: 'ResolvedRefs',
        message: 'All references resolved',
        observedGeneration: 1,
      },
    ],
  };
}

async function createRoute(name: string): Promise<string> {
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name, namespace: NS },
      spec: { rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9000' }] }] },
    }),
  });
  return cluster.kubectlOk(['get', `route.tollgate.dev/${name}`, '-n', NS, '-o', 'jsonpath={.metadata.uid}']);
}

test('a Route that translation rejects gets one Warning, shown by kubectl describe', async () => {
  const name = uniqueName('route');
  const uid = await createRoute(name);
  const events = recorder();
  const writer = writerWithEvents(events);
  const message = 'spec.rules[0].matches[0].path.value: lookahead is not supported';
  writer.update([rejected(name, message)]);
  await writer.idle();
  await events.flush();

  const [event, ...more] = await eventsAbout(name);
  expect(more).toEqual([]);
  expect(event).toMatchObject({
    type: 'Warning',
    reason: 'InvalidRegex',
    action: 'Translate',
    note: message,
    reportingController: 'tollgate.dev/controller',
    reportingInstance: 'replica-a',
    regarding: { kind: 'Route', name, uid },
  });
  const described = await cluster.kubectlOk(['describe', `route.tollgate.dev/${name}`, '-n', NS]);
  expect(described).toMatch(/Warning\s+InvalidRegex/);

  // The same status again, from this writer or from a new leader, is no news.
  writer.update([rejected(name, message)]);
  await writer.idle();
  const nextLeader = writerWithEvents(events);
  nextLeader.update([rejected(name, message)]);
  await nextLeader.idle();
  await events.flush();
  expect(await eventsAbout(name)).toHaveLength(1);

  // A different problem is news.
  writer.update([rejected(name, 'spec.rules[0].matches[0].path.value: backreferences are not supported')]);
  await writer.idle();
  await events.flush();
  expect(await eventsAbout(name)).toHaveLength(2);
});

test('the same event again within the series window updates the count of the first one', async () => {
  const name = uniqueName('thing');
  const events = recorder();
  const spec = {
    regarding: { apiVersion: 'tollgate.dev/v1alpha1', kind: 'Route', namespace: NS, name },
    type: 'Warning' as const,
    reason: 'Flapping',
    action: 'Translate',
    note: 'comes and goes',
  };
  events.record(spec);
  events.record(spec);
  events.record(spec);
  await events.flush();
  const list = await eventsAbout(name);
  expect(list).toHaveLength(1);
  expect(list[0]!.series?.count).toBe(3);
  expect(events.counts).toMatchObject({ created: 1, seriesUpdated: 1, failed: 0 });
});

test('a NACK becomes one Warning naming the data plane, the snapshot and the reason', async () => {
  const lease = uniqueName('lease');
  const events = recorder();
  const nacks = new NackEvents(events, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace: NS,
    name: lease,
  });
  const planes = [
    { id: 'dp-1', lastNack: { version: 'v1', message: 'route 3: regex does not compile' } },
    { id: 'dp-2' },
  ];
  nacks.observe(planes);
  nacks.observe(planes); // the status is emitted again (an ACK elsewhere): not a new NACK
  await events.flush();
  let list = await eventsAbout(lease);
  expect(list).toHaveLength(1);
  expect(list[0]).toMatchObject({ type: 'Warning', reason: 'SnapshotRejected', action: 'ApplySnapshot' });
  expect(list[0]!.note).toBe('Data plane dp-1 rejected snapshot v1: route 3: regex does not compile');

  nacks.observe([{ id: 'dp-1', lastNack: { version: 'v2', message: 'route 3: regex does not compile' } }]);
  await events.flush();
  list = await eventsAbout(lease);
  expect(list).toHaveLength(2);
  expect(list.map((e) => e.note)).toContain(
    'Data plane dp-1 rejected snapshot v2: route 3: regex does not compile',
  );
});

test('a note longer than the API allows is cut, not refused', async () => {
  const name = uniqueName('long');
  const events = recorder();
  events.record({
    regarding: { apiVersion: 'tollgate.dev/v1alpha1', kind: 'Route', namespace: NS, name },
    type: 'Warning',
    reason: 'Invalid',
    action: 'Translate',
    note: 'é'.repeat(2000),
  });
  await events.flush();
  const [event] = await eventsAbout(name);
  expect(Buffer.byteLength(event!.note)).toBeLessThanOrEqual(1024);
  expect(event!.note.endsWith('…')).toBe(true);
  expect(events.counts.failed).toBe(0);
});
