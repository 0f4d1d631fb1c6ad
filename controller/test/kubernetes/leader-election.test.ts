// Leader election against a real API server, with short durations (lease 3 s, renew 2 s, retry
// 250 ms) so takeovers happen within a test's time.
import { type KubeCluster, startKubeCluster, waitFor } from '@tollgate/testkit';
import type { KubeApis } from '../../src/kubernetes/client.ts';
import { type LeaderElectionOptions, LeaderElector } from '../../src/kubernetes/leader-election.ts';
import { apisFor, captureLogger, cuttableApiServer, uniqueName } from './support.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const NAMESPACE = 'default';
const SHORT = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 };

let cluster: KubeCluster;
let apis: KubeApis;
const electors: LeaderElector[] = [];

beforeAll(async () => {
  cluster = await startKubeCluster();
  apis = apisFor(cluster.kubeconfig);
}, SLOW);

afterEach(async () => {
  await Promise.all(electors.splice(0).map((e) => e.stop()));
});

afterAll(async () => {
  await cluster?.stop();
});

function elector(
  lease: string,
  identity: string,
  overrides: Partial<LeaderElectionOptions> = {},
): LeaderElector {
  const e = new LeaderElector({
    coordination: apis.coordination,
    namespace: NAMESPACE,
    name: lease,
    identity,
    logger: captureLogger().logger,
    ...SHORT,
    ...overrides,
  });
  electors.push(e);
  return e;
}

async function readLease(name: string) {
  return apis.coordination.readNamespacedLease({ name, namespace: NAMESPACE });
}

function leading(e: LeaderElector): Promise<void> {
  return e.isLeader ? Promise.resolve() : new Promise((resolve) => e.once('leading', () => resolve()));
}

test('of two candidates exactly one leads, and the Lease names it', async () => {
  const lease = uniqueName('lease');
  const a = elector(lease, 'replica-a');
  const b = elector(lease, 'replica-b');
  a.start();
  b.start();
  const first = await Promise.race([leading(a).then(() => a), leading(b).then(() => b)]);
  const other = first === a ? b : a;
  // Several renew periods later, the follower still follows.
  await waitFor(() => other.leader === first.identity, { what: 'the follower to see the leader' });
  await new Promise((resolve) => setTimeout(resolve, 4 * SHORT.retryPeriodMs));
  expect(first.isLeader).toBe(true);
  expect(other.isLeader).toBe(false);
  const spec = (await readLease(lease)).spec!;
  expect(spec.holderIdentity).toBe(first.identity);
  expect(spec.leaseDurationSeconds).toBe(3);
});

test('when the leader dies without releasing, the other takes over only after the lease expires', async () => {
  const lease = uniqueName('lease');
  const a = elector(lease, 'replica-a', { releaseOnStop: false });
  a.start();
  await leading(a);
  const b = elector(lease, 'replica-b');
  b.start();
  await waitFor(() => b.leader === 'replica-a', { what: 'b to observe a' });

  await a.stop(); // a crash: no release
  const lastRenew = new Date((await readLease(lease)).spec!.renewTime!).getTime();
  await waitFor(() => b.isLeader, {
    timeoutMs: SHORT.leaseDurationMs + 10 * SHORT.retryPeriodMs + 5_000,
    what: 'b to take over',
  });
  const spec = (await readLease(lease)).spec!;
  expect(spec.holderIdentity).toBe('replica-b');
  expect(spec.leaseTransitions).toBe(1);
  // Safety: b acquired no earlier than a full lease duration after a's last renewal.
  expect(new Date(spec.acquireTime!).getTime() - lastRenew).toBeGreaterThanOrEqual(SHORT.leaseDurationMs);
});

test('a graceful stop releases the Lease and the other replica takes over before it would expire', async () => {
  const lease = uniqueName('lease');
  const long = { leaseDurationMs: 60_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 };
  const a = elector(lease, 'replica-a', long);
  a.start();
  await leading(a);
  const b = elector(lease, 'replica-b', long);
  b.start();
  await waitFor(() => b.leader === 'replica-a', { what: 'b to observe a' });

  await a.stop();
  const released = (await readLease(lease)).spec!;
  expect(released.holderIdentity ?? '').toBe('');
  expect(released.leaseDurationSeconds).toBe(1);
  // Well inside the 60 s lease: only the release makes this possible.
  await waitFor(() => b.isLeader, { timeoutMs: 15_000, what: 'b to take over after the release' });
  expect((await readLease(lease)).spec!.holderIdentity).toBe('replica-b');
});

test('a leader whose Lease is taken over by someone else loses leadership', async () => {
  const lease = uniqueName('lease');
  const a = elector(lease, 'replica-a');
  const lost = new Promise<string>((resolve) => a.once('lost', resolve));
  a.start();
  await leading(a);

  // Another party rewrites the Lease (as a replica with a broken clock or an operator might).
  const current = await readLease(lease);
  await cluster.kubectlOk(['replace', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: lease, namespace: NAMESPACE, resourceVersion: current.metadata!.resourceVersion },
      spec: {
        holderIdentity: 'intruder',
        leaseDurationSeconds: 3600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
        acquireTime: new Date().toISOString().replace('Z', '000Z'),
      },
    }),
  });
  await expect(lost).resolves.toMatch(/could not renew/);
  expect(a.isLeader).toBe(false);
  expect((await readLease(lease)).spec!.holderIdentity).toBe('intruder');
});

test('a leader that cannot reach the API server loses leadership after the renew deadline', async () => {
  const proxy = await cuttableApiServer(cluster);
  try {
    const lease = uniqueName('lease');
    const a = new LeaderElector({
      coordination: proxy.apis.coordination,
      namespace: NAMESPACE,
      name: lease,
      identity: 'replica-a',
      logger: captureLogger().logger,
      ...SHORT,
    });
    electors.push(a);
    const lost = new Promise<string>((resolve) => a.once('lost', resolve));
    a.start();
    await leading(a);
    proxy.cut(); // requests now hang: only the per-request deadline can end them
    await expect(lost).resolves.toMatch(/could not renew/);
    expect(a.isLeader).toBe(false);
  } finally {
    await proxy.close();
  }
});

test('a candidate creates the Lease when there is none and keeps its acquire time while renewing', async () => {
  const lease = uniqueName('lease');
  const a = elector(lease, 'replica-a');
  a.start();
  await leading(a);
  const first = (await readLease(lease)).spec!;
  expect(first.leaseTransitions).toBe(0);
  await waitFor(
    async () =>
      new Date((await readLease(lease)).spec!.renewTime!).getTime() > new Date(first.renewTime!).getTime(),
    { what: 'a renewal' },
  );
  const renewed = (await readLease(lease)).spec!;
  expect(new Date(renewed.acquireTime!).getTime()).toBe(new Date(first.acquireTime!).getTime());
  expect(renewed.leaseTransitions).toBe(0);
});

test('durations that would let a leader lose the lease while renewing are refused', () => {
  expect(
    () =>
      new LeaderElector({
        coordination: apis.coordination,
        namespace: NAMESPACE,
        name: 'x',
        identity: 'a',
        logger: captureLogger().logger,
        leaseDurationMs: 2_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 500,
      }),
  ).toThrow(/TG_ERR_LEADER_ELECTION_CONFIG/);
});
