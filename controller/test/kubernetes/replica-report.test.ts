// Replica reports against a real API server, with a short renew period (300 ms; reports expire
// after 3 periods, rounded up to whole seconds: 1 s).
import { type KubeCluster, startKubeCluster, waitFor } from '@tollgate/testkit';
import type { KubeApis } from '../../src/kubernetes/client.ts';
import {
  REPLICA_REPORT_ANNOTATION,
  ReplicaReporter,
  ReplicaReportReader,
  type ReplicaReports,
} from '../../src/kubernetes/replica-report.ts';
import type { ReportedDataplane } from '../../src/status/rollout.ts';
import { apisFor, captureLogger, uniqueName } from './support.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const NAMESPACE = 'default';
const PERIOD_MS = 300;

let cluster: KubeCluster;
let apis: KubeApis;
const running: Array<{ stop(): Promise<void> }> = [];

beforeAll(async () => {
  cluster = await startKubeCluster();
  apis = apisFor(cluster.kubeconfig);
}, SLOW);

afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

afterAll(async () => {
  await cluster?.stop();
});

function dataplane(node: string, replica: string): ReportedDataplane {
  return { node, zone: 'zone-a', ackedVersion: 'v1', connectedSince: '2026-01-01T00:00:00.000Z', replica };
}

function reporter(lease: string, identity: string, dataplanes: () => ReportedDataplane[], slots = 4) {
  const captured = captureLogger();
  const r = new ReplicaReporter({
    coordination: apis.coordination,
    namespace: NAMESPACE,
    leaseName: lease,
    identity,
    logger: captured.logger,
    slots,
    periodMs: PERIOD_MS,
    dataplanes,
  });
  running.push(r);
  r.start();
  return { reporter: r, lines: captured.lines };
}

function reader(lease: string, identity: string): ReplicaReportReader {
  return new ReplicaReportReader({
    coordination: apis.coordination,
    namespace: NAMESPACE,
    leaseName: lease,
    identity,
    logger: captureLogger().logger,
    slots: 4,
    periodMs: PERIOD_MS,
    onReports: () => {},
  });
}

async function readUntil(r: ReplicaReportReader, done: (reports: ReplicaReports) => boolean, what: string) {
  return waitFor(
    async () => {
      const reports = await r.read();
      return done(reports) ? reports : undefined;
    },
    { what, timeoutMs: 15_000, intervalMs: 100 },
  );
}

test('each replica claims its own slot and the reader merges the others’ data planes', async () => {
  const lease = uniqueName('reports');
  const a = reporter(lease, 'replica-a', () => [dataplane('dp-a', 'replica-a')]);
  const b = reporter(lease, 'replica-b', () => [
    dataplane('dp-b1', 'replica-b'),
    dataplane('dp-b2', 'replica-b'),
  ]);
  await waitFor(() => a.reporter.slot && b.reporter.slot, { what: 'both to claim a slot' });
  expect(a.reporter.slot).not.toBe(b.reporter.slot);
  expect([a.reporter.slot, b.reporter.slot].sort()).toEqual([`${lease}-replica-0`, `${lease}-replica-1`]);

  // The leader (replica-a) reads only the others' reports.
  const reports = await readUntil(
    reader(lease, 'replica-a'),
    (r) => r.dataplanes.length === 2,
    'b’s data planes',
  );
  expect(reports.fresh).toBe(1);
  expect(reports.dataplanes.map((d) => [d.node, d.replica])).toEqual([
    ['dp-b1', 'replica-b'],
    ['dp-b2', 'replica-b'],
  ]);
});

test('a change is written within a second; an unchanged report is still renewed', async () => {
  const lease = uniqueName('reports');
  let nodes = [dataplane('dp-1', 'replica-b')];
  const b = reporter(lease, 'replica-b', () => nodes);
  const r = reader(lease, 'replica-a');
  await readUntil(r, (x) => x.dataplanes.length === 1, 'the first report');
  nodes = [...nodes, dataplane('dp-2', 'replica-b')];
  b.reporter.changed();
  await readUntil(r, (x) => x.dataplanes.length === 2, 'the change');
  // Renewal keeps it fresh well past its expiry.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect((await r.read()).fresh).toBe(1);
});

test('a report that stops being renewed expires, and its slot is taken over', async () => {
  const lease = uniqueName('reports');
  const dead = reporter(lease, 'replica-dead', () => [dataplane('dp-dead', 'replica-dead')], 1);
  await waitFor(() => dead.reporter.slot, { what: 'a slot' });
  // Gone without cleanup: stop timers only, as a killed process would (the Lease stays behind).
  const name = dead.reporter.slot!;
  const lease0 = await apis.coordination.readNamespacedLease({ name, namespace: NAMESPACE });
  await dead.reporter.stop();
  await apis.coordination.createNamespacedLease({
    namespace: NAMESPACE,
    body: {
      spec: lease0.spec,
      metadata: { name, labels: lease0.metadata?.labels, annotations: lease0.metadata?.annotations },
    },
  });

  const r = reader(lease, 'replica-a');
  expect((await r.read()).fresh).toBe(1);
  const expired = await readUntil(r, (x) => x.expired === 1, 'expiry');
  expect(expired.dataplanes).toEqual([]);

  // A new replica with the single slot waits the dead one out, then takes it.
  const next = reporter(lease, 'replica-new', () => [dataplane('dp-new', 'replica-new')], 1);
  await waitFor(() => next.reporter.slot, { what: 'the takeover', timeoutMs: 15_000 });
  expect(next.reporter.slot).toBe(name);
  const taken = await readUntil(r, (x) => x.fresh === 1, 'the new report');
  expect(taken.dataplanes.map((d) => d.node)).toEqual(['dp-new']);
});

test('stop deletes the report; with every slot taken a replica says so and reports nothing', async () => {
  const lease = uniqueName('reports');
  const a = reporter(lease, 'replica-a', () => [], 1);
  await waitFor(() => a.reporter.slot, { what: 'a slot' });
  const b = reporter(lease, 'replica-b', () => [dataplane('dp-b', 'replica-b')], 1);
  await waitFor(() => b.lines.find((l) => l.code === 'TG_ERR_REPLICA_REPORT_NO_SLOT'), {
    what: 'the warning',
  });
  expect(b.reporter.slot).toBeUndefined();

  const name = a.reporter.slot!;
  await a.reporter.stop();
  // b takes the freed slot at its next renewal.
  await waitFor(() => b.reporter.slot === name, { what: 'b to take the freed slot' });
  const lease0 = await apis.coordination.readNamespacedLease({ name, namespace: NAMESPACE });
  expect(lease0.spec?.holderIdentity).toBe('replica-b');
  expect(JSON.parse(lease0.metadata!.annotations![REPLICA_REPORT_ANNOTATION]!)).toEqual({
    dataplanes: [
      { node: 'dp-b', zone: 'zone-a', ackedVersion: 'v1', connectedSince: '2026-01-01T00:00:00.000Z' },
    ],
  });
  await b.reporter.stop();
  await expect(apis.coordination.readNamespacedLease({ name, namespace: NAMESPACE })).rejects.toMatchObject({
    code: 404,
  });
});
