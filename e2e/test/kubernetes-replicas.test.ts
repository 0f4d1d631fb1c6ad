// The rollout across controller replicas, against a real API server with the chart's own RBAC:
// every replica publishes its data planes in a report Lease, and the leader merges the fresh
// reports into Programmed and the NACK Events. The data planes here connect to the FOLLOWER only,
// so everything the leader knows about them comes through the API server.
//
// The NACK is a real one: a Route serves a certificate with a 512-bit RSA key. Translation accepts
// it (it is a valid certificate whose key matches), but a data plane with an HTTPS listener cannot
// load it ("ee key too small") and rejects the snapshot; a data plane without one never loads it.
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type StartedProcess, startProcess, stopAllProcesses, waitFor } from '@tollgate/testkit';
import {
  applyChartRbac,
  provisionK8sTools,
  repoRoot,
  serviceAccountKubeconfig,
  startTestCluster,
  type TestCluster,
} from '../src/chart/index.ts';

const SLOW = 30 * 60_000; // the first run on a new machine builds the binaries
const TEST = 120_000;
const NAMESPACE = 'tollgate-system';
const LEASE = 'tollgate-controller'; // the chart's default, so its Role applies as it is
const SLOTS = 4; // the chart's: replicaCount (2) + 2
const REPORT_PERIOD_MS = 500; // reports expire after 3 periods

interface Replica {
  name: string;
  process: StartedProcess;
  adminUrl: string;
  grpc: number;
}

let cluster: TestCluster;
let work: string;
let kubeconfig: string;
let leader: Replica;
let follower: Replica;

async function startReplica(name: string): Promise<Replica> {
  const [grpc, admin] = await Promise.all([freePort(), freePort()]);
  const child = startProcess(
    process.execPath,
    [
      path.join(repoRoot, 'controller/src/main.ts'),
      'serve',
      '--source=kubernetes',
      `--kubeconfig=${kubeconfig}`,
      `--grpc=127.0.0.1:${grpc}`,
      `--admin=127.0.0.1:${admin}`,
      `--lease-name=${LEASE}`,
      '--lease-duration=4s',
      '--renew-deadline=3s',
      '--retry-period=500ms',
      `--replica-report-period=${REPORT_PERIOD_MS}ms`,
      `--replica-report-slots=${SLOTS}`,
    ],
    { name, cwd: repoRoot, env: { KUBECONFIG: '', POD_NAME: name, POD_NAMESPACE: NAMESPACE } },
  );
  await child.waitForOutput(/controller ready/, 60_000);
  return { name, process: child, adminUrl: `http://127.0.0.1:${admin}`, grpc };
}

/** A real data plane connected to `replica` only; `https` gives it the listener that NACKs. */
async function startDataplane(replica: Replica, nodeId: string, https: boolean): Promise<StartedProcess> {
  const [listen, admin, tls] = await Promise.all([freePort(), freePort(), freePort()]);
  const dataplane = startProcess(
    process.execPath,
    [
      path.join(repoRoot, 'dataplane/src/main.ts'),
      `--listen=127.0.0.1:${listen}`,
      `--admin=127.0.0.1:${admin}`,
      `--controller=127.0.0.1:${replica.grpc}`,
      `--node-id=${nodeId}`,
      '--zone=zone-b',
      ...(https ? [`--listen-tls=127.0.0.1:${tls}`] : []),
    ],
    { name: nodeId, cwd: repoRoot },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${admin}/healthz`).catch(() => undefined))?.ok, {
    what: `${nodeId} up`,
    timeoutMs: 30_000,
  });
  return dataplane;
}

async function metric(replica: Replica, pattern: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${replica.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line ? Number(line.split(' ').at(-1)) : undefined;
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

async function programmed(route: string): Promise<Condition | undefined> {
  const { stdout } = await cluster.kubectl(['get', `route/${route}`, '-n', 'default', '-o', 'json']);
  const object = JSON.parse(stdout) as { status?: { conditions?: Condition[] } };
  return object.status?.conditions?.find((c) => c.type === 'Programmed');
}

interface ReportLease {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { holderIdentity?: string };
}

async function reportLeases(): Promise<ReportLease[]> {
  const { stdout } = await cluster.kubectl([
    'get',
    'leases',
    '-n',
    NAMESPACE,
    '-l',
    `tollgate.dev/replica-report-of=${LEASE}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(stdout) as { items: ReportLease[] }).items;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-replicas-'));
  const tools = await provisionK8sTools();
  cluster = await startTestCluster(tools);
  await cluster.kubectl(['apply', '--server-side', '-f', path.join(repoRoot, 'crds')]);
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    '-f',
    path.join(repoRoot, 'crds'),
  ]);
  const rbac = await applyChartRbac(tools, cluster, { namespace: NAMESPACE });
  kubeconfig = await serviceAccountKubeconfig(
    cluster,
    NAMESPACE,
    rbac.controllerServiceAccount,
    path.join(work, 'controller.kubeconfig'),
  );

  // A certificate translation accepts and an HTTPS listener cannot load.
  const key = path.join(work, 'weak.key');
  const cert = path.join(work, 'weak.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:512',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=weak.example',
      '-addext',
      'subjectAltName=DNS:weak.example',
    ],
    { stdio: 'ignore' },
  );
  await cluster.kubectl([
    'create',
    'secret',
    'tls',
    'weak',
    '-n',
    'default',
    `--cert=${cert}`,
    `--key=${key}`,
  ]);
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'weak', namespace: 'default' },
      spec: {
        hostnames: ['weak.example'],
        tls: { certificateRefs: [{ name: 'weak' }] },
        rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9' }] }],
      },
    }),
  });

  // The leader first, so the second replica is the follower.
  leader = await startReplica('controller-a');
  await waitFor(async () => (await metric(leader, /^tollgate_controller_leader /)) === 1, {
    what: 'controller-a to lead',
    timeoutMs: 30_000,
  });
  follower = await startReplica('controller-b');
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test(
  'a data plane on the follower that rejects the snapshot makes Programmed False, naming it, and raises an Event',
  async () => {
    const nacker = await startDataplane(follower, 'follower-https', true);
    const condition = await waitFor(
      async () => {
        const c = await programmed('weak');
        return c?.status === 'False' && c.reason === 'Rejected' ? c : undefined;
      },
      { what: 'Programmed=False from the follower’s data plane', timeoutMs: 30_000 },
    );
    expect(condition.message).toMatch(
      /^Snapshot [0-9a-f]{16} was rejected by 1 data plane\(s\) \(0 of 1 run it\); follower-https: .*ee key too small/,
    );
    // The leader has no data plane of its own: it counts the follower's.
    expect(await metric(leader, /^tollgate_controller_connected_dataplanes /)).toBe(0);
    expect(await metric(leader, /^tollgate_controller_fleet_connected_dataplanes /)).toBe(1);
    expect(await metric(leader, /^tollgate_controller_replica_reports\{state="fresh"\}/)).toBe(1);

    // The leader records the follower's NACK as an Event on its Lease.
    const events = await waitFor(
      async () => {
        const { stdout } = await cluster.kubectl([
          'get',
          'events',
          '-n',
          NAMESPACE,
          '--field-selector',
          `involvedObject.name=${LEASE}`,
          '-o',
          'json',
        ]);
        const items = (
          JSON.parse(stdout) as { items: Array<{ reason: string; message?: string; note?: string }> }
        ).items;
        return items.some((e) => e.reason === 'SnapshotRejected') ? items : undefined;
      },
      { what: 'a SnapshotRejected Event', timeoutMs: 30_000 },
    );
    const rejected = events.find((e) => e.reason === 'SnapshotRejected')!;
    expect(rejected.message ?? rejected.note).toMatch(
      /^Data plane follower-https rejected snapshot [0-9a-f]{16}: /,
    );

    // What the follower published: its data plane, in its own report Lease.
    const report = (await reportLeases()).find((l) => l.spec.holderIdentity === follower.name);
    expect(report?.metadata.name).toMatch(new RegExp(`^${LEASE}-replica-[0-${SLOTS - 1}]$`));
    const published = JSON.parse(report!.metadata.annotations!['tollgate.dev/dataplanes']!) as {
      dataplanes: Array<{ node: string; zone: string; lastNack?: { message: string } }>;
    };
    expect(published.dataplanes).toEqual([
      expect.objectContaining({ node: 'follower-https', zone: 'zone-b', lastNack: expect.any(Object) }),
    ]);
    await nacker.stop();
  },
  TEST,
);

test(
  'a data plane on the follower that runs the snapshot makes Programmed True',
  async () => {
    await startDataplane(follower, 'follower-http', false);
    const condition = await waitFor(
      async () => {
        const c = await programmed('weak');
        return c?.status === 'True' ? c : undefined;
      },
      { what: 'Programmed=True from the follower’s data plane', timeoutMs: 30_000 },
    );
    expect(condition.message).toMatch(/^In snapshot [0-9a-f]{16}; 1 of 1 data planes run it\.$/);
    expect(await metric(leader, /^tollgate_controller_fleet_connected_dataplanes /)).toBe(1);
  },
  TEST,
);

test(
  'a killed follower’s report expires and its data planes stop counting',
  async () => {
    await follower.process.stop('SIGKILL'); // no cleanup: the report must expire
    const condition = await waitFor(
      async () => {
        const c = await programmed('weak');
        return c?.reason === 'NoDataPlanes' ? c : undefined;
      },
      { what: 'the follower’s report to expire', timeoutMs: 30_000 },
    );
    expect(condition.status).toBe('Unknown');
    expect(await metric(leader, /^tollgate_controller_fleet_connected_dataplanes /)).toBe(0);
    expect(await metric(leader, /^tollgate_controller_replica_reports\{state="expired"\}/)).toBe(1);
    expect(await metric(leader, /^tollgate_controller_replica_reports\{state="fresh"\}/)).toBe(0);
  },
  TEST,
);

test(
  'a replica that shuts down deletes its report',
  async () => {
    expect((await reportLeases()).map((l) => l.spec.holderIdentity)).toContain(leader.name);
    await leader.process.stop('SIGTERM');
    const holders = (await reportLeases()).map((l) => l.spec.holderIdentity);
    expect(holders).not.toContain(leader.name);
    // The killed follower's stays until a replica reclaims the slot.
    expect(holders).toEqual([follower.name]);
  },
  TEST,
);
