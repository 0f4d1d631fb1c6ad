// Two controller replicas against a real API server with real leader election: both serve
// snapshots, exactly one (the Lease holder) writes status, and when it is killed the other takes
// over within the lease period and keeps status current. Short leader-election durations (lease
// 4 s, renew 3 s, retry 500 ms) keep the takeover inside a test's time.
import path from 'node:path';
import {
  freePort,
  type KubeCluster,
  repoRoot,
  type StartedProcess,
  startKubeCluster,
  startProcess,
  stopAllProcesses,
  waitFor,
} from '@tollgate/testkit';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 120_000;
const NS = 'default';
const LEASE = 'tollgate-e2e';
const LEASE_MS = 4_000;
const RETRY_MS = 500;

interface Replica {
  name: string;
  process: StartedProcess;
  adminUrl: string;
  dataplane: StartedProcess;
  dataplaneAdminUrl: string;
}

let cluster: KubeCluster;
const replicas: Replica[] = [];

async function startReplica(name: string): Promise<Replica> {
  const [grpc, admin, gateway, dataplaneAdmin] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const controller = startProcess(
    process.execPath,
    [
      path.join(repoRoot, 'controller/src/main.ts'),
      'serve',
      '--source=kubernetes',
      `--kubeconfig=${cluster.kubeconfig}`,
      `--grpc=127.0.0.1:${grpc}`,
      `--admin=127.0.0.1:${admin}`,
      `--lease-name=${LEASE}`,
      `--lease-duration=${LEASE_MS}ms`,
      '--renew-deadline=3s',
      `--retry-period=${RETRY_MS}ms`,
    ],
    { name, cwd: repoRoot, env: { KUBECONFIG: '', POD_NAME: name, POD_NAMESPACE: NS } },
  );
  await controller.waitForOutput(/controller ready/, 60_000);
  // Each replica has its data plane, so whichever leads sees an ACK for Programmed.
  const dataplane = startProcess(
    process.execPath,
    [
      path.join(repoRoot, 'dataplane/src/main.ts'),
      '--listen',
      `127.0.0.1:${gateway}`,
      '--admin',
      `127.0.0.1:${dataplaneAdmin}`,
      '--controller',
      `127.0.0.1:${grpc}`,
      '--node-id',
      `${name}-dataplane`,
    ],
    { name: `${name}-dataplane`, cwd: repoRoot },
  );
  const dataplaneAdminUrl = `http://127.0.0.1:${dataplaneAdmin}`;
  await waitFor(async () => (await fetch(`${dataplaneAdminUrl}/readyz`)).ok, {
    what: `${name}'s data plane ready`,
    timeoutMs: 20_000,
  });
  return { name, process: controller, adminUrl: `http://127.0.0.1:${admin}`, dataplane, dataplaneAdminUrl };
}

async function metric(replica: Replica, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${replica.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => pattern.test(l));
  return line ? Number(line.split(' ').at(-1)) : 0;
}
const writes = (r: Replica) => metric(r, /^tollgate_controller_status_writes_total\{result="written"\}/);
const leading = (r: Replica) => metric(r, /^tollgate_controller_leader /);

async function leaseHolder(): Promise<string> {
  const result = await cluster.kubectl([
    'get',
    `lease/${LEASE}`,
    '-n',
    NS,
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  return result.code === 0 ? result.stdout : '';
}

/** `kubectl get routes` as rows of {name, accepted, programmed}. */
async function routeTable(): Promise<Record<string, { accepted: string; programmed: string }>> {
  const text = await cluster.kubectlOk(['get', 'routes', '-n', NS, '--no-headers']);
  const rows: Record<string, { accepted: string; programmed: string }> = {};
  for (const line of text.trim().split('\n')) {
    // NAME HOSTNAMES ACCEPTED PROGRAMMED AGE (hostnames may be empty)
    const cells = line.trim().split(/\s+/);
    const age = cells.length - 1;
    rows[cells[0]!] = { accepted: cells[age - 2]!, programmed: cells[age - 1]! };
  }
  return rows;
}

function route(name: string, spec: unknown): string {
  return JSON.stringify({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Route',
    metadata: { name, namespace: NS },
    spec,
  });
}

beforeAll(async () => {
  cluster = await startKubeCluster();
  await cluster.installCrds();
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: route('hello', {
      hostnames: ['hello.example'],
      rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9' }] }],
    }),
  });
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: route('lost', {
      hostnames: ['lost.example'],
      rules: [{ backendRefs: [{ name: 'nowhere', port: 80 }] }],
    }),
  });
  replicas.push(await startReplica('controller-a'), await startReplica('controller-b'));
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await cluster?.stop();
});

test(
  'exactly one replica writes status; kubectl get routes shows what it wrote',
  async () => {
    const holder = await waitFor(async () => (await leaseHolder()) || undefined, {
      what: 'a leader',
      timeoutMs: 30_000,
    });
    const leader = replicas.find((r) => r.name === holder)!;
    const follower = replicas.find((r) => r.name !== holder)!;
    expect(leader).toBeDefined();

    await waitFor(
      async () => {
        const table = await routeTable();
        return (
          table.hello?.accepted === 'True' &&
          table.hello.programmed === 'True' &&
          table.lost?.accepted === 'True' &&
          table.lost.programmed === 'True'
        );
      },
      { what: 'Accepted and Programmed in kubectl get routes', timeoutMs: 30_000 },
    );
    const lost = JSON.parse(
      await cluster.kubectlOk(['get', 'route/lost', '-n', NS, '-o', 'json', '--show-managed-fields']),
    ) as {
      metadata: { generation: number; managedFields: Array<{ manager: string; subresource?: string }> };
      status: {
        conditions: Array<{
          type: string;
          status: string;
          reason: string;
          observedGeneration: number;
          message: string;
        }>;
      };
    };
    expect(lost.status.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'BackendNotFound',
      observedGeneration: lost.metadata.generation,
    });
    // Each replica has one data plane; the leader counts the follower's through its report Lease.
    await waitFor(
      async () => {
        const object = JSON.parse(await cluster.kubectlOk(['get', 'route/lost', '-n', NS, '-o', 'json'])) as {
          status: { conditions: Array<{ type: string; message: string }> };
        };
        const message = object.status.conditions.find((c) => c.type === 'Programmed')?.message ?? '';
        return /^In snapshot [0-9a-f]{16}; 2 of 2 data planes run it\.$/.test(message);
      },
      { what: 'Programmed to count both replicas’ data planes', timeoutMs: 30_000 },
    );
    const statusManagers = lost.metadata.managedFields
      .filter((f) => f.subresource === 'status')
      .map((f) => f.manager);
    expect(statusManagers).toEqual(['tollgate-controller']);

    // Both serve; only the leader writes.
    expect(await leading(leader)).toBe(1);
    expect(await leading(follower)).toBe(0);
    expect(await writes(leader)).toBeGreaterThan(0);
    expect(await writes(follower)).toBe(0);
    for (const r of replicas) expect((await fetch(`${r.adminUrl}/readyz`)).status).toBe(200);

    // The leader recorded a Warning for the missing backend.
    const events = await cluster.kubectlOk([
      'get',
      'events',
      '-n',
      NS,
      '--field-selector',
      'involvedObject.name=lost',
    ]);
    expect(events).toMatch(/Warning\s+BackendNotFound/);
  },
  TEST,
);

test(
  'killing the leader: the other replica takes over within the lease period and keeps status current',
  async () => {
    const holder = await leaseHolder();
    const leader = replicas.find((r) => r.name === holder)!;
    const follower = replicas.find((r) => r.name !== holder)!;
    await leader.process.stop('SIGKILL'); // no release: the follower must wait the lease out
    const killedAt = performance.now();

    await waitFor(async () => (await leaseHolder()) === follower.name, {
      what: `${follower.name} to take the Lease`,
      // Lease duration, plus up to two jittered retry periods of the follower, plus slack for a busy machine.
      timeoutMs: LEASE_MS + 2 * 2.2 * RETRY_MS + 10_000,
    });
    process.stdout.write(`takeover ${(performance.now() - killedAt).toFixed(0)} ms after the kill\n`);
    await waitFor(async () => (await leading(follower)) === 1, { what: 'the new leader to lead' });

    // A change after the takeover: the new leader writes it, with the new generation.
    await cluster.kubectlOk(['apply', '-f', '-'], {
      input: route('lost', {
        hostnames: ['lost.example'],
        rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9' }] }],
      }),
    });
    const status = await waitFor(
      async () => {
        const object = JSON.parse(await cluster.kubectlOk(['get', 'route/lost', '-n', NS, '-o', 'json'])) as {
          metadata: { generation: number };
          status: { conditions: Array<{ type: string; status: string; observedGeneration: number }> };
        };
        const resolved = object.status.conditions.find((c) => c.type === 'ResolvedRefs');
        return resolved?.status === 'True' && resolved.observedGeneration === object.metadata.generation
          ? object
          : undefined;
      },
      { what: 'the new leader to write the new generation', timeoutMs: 30_000 },
    );
    expect(status.metadata.generation).toBe(2);
    expect(await writes(follower)).toBeGreaterThan(0);
    // The killed leader's data plane keeps serving its last snapshot meanwhile.
    expect((await fetch(`${leader.dataplaneAdminUrl}/readyz`)).status).toBe(200);
  },
  TEST,
);
