// Journey 9, "Operate it": upgrading drops no traffic. The chart is installed with the documented
// `helm install` against a real API server (no nodes: the controller and data planes run as local
// processes, each behind a loopback stand-in for its Service). Under steady keep-alive load through
// the gateway Service, the upgrade follows docs/install.md "## Upgrade" to the letter from the next
// release's checkout: the CRDs first with `kubectl apply --server-side --force-conflicts` (a new
// optional field appears), then `helm upgrade`. Then the controller is replaced by a new version,
// first with no controller at all for a while (the data plane keeps its last good snapshot; a
// change made meanwhile arrives with the new leader), then by a rolling update (the next replica
// up before the old one stops; the Lease follows). Last, the data plane rolls: a new one joins the
// Service, the old one leaves it, then drains on SIGTERM while clients still hold connections to
// it. Not one request fails.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  type StartedProcess,
  startProcess,
  startUpstream,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { chartDir, provisionK8sTools, startTestCluster, type TestCluster } from '../src/chart/index.ts';
import { startDataplaneProcess } from '../src/dataplane-process.ts';
import { docsSection } from '../src/journeys/docs.ts';
import { type ServiceProxy, startServiceProxy } from '../src/journeys/service-proxy.ts';
import { startLoad } from '../src/load.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 180_000;
const NAMESPACE = 'tollgate-system';
const HOST = 'ops.example.com';
const root = path.resolve(import.meta.dirname, '../..');

let cluster: TestCluster;
let upstream: TestUpstream;
let controllerService: ServiceProxy;
let gatewayService: ServiceProxy;
let work: string;
let install: { code: number | null; stdout: string; stderr: string };

interface Controller {
  name: string;
  process: StartedProcess;
  grpcPort: number;
  adminUrl: string;
}

/** A controller pod of the installed Deployment: its arguments, its pod name and namespace. */
async function startController(name: string): Promise<Controller> {
  const [grpcPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const process = startProcess(
    globalThis.process.execPath,
    [
      path.join(root, 'controller/src/main.ts'),
      'serve',
      '--source=kubernetes',
      `--kubeconfig=${cluster.kubeconfig}`,
      `--grpc=127.0.0.1:${grpcPort}`,
      `--admin=127.0.0.1:${adminPort}`,
      '--lease-name=tollgate-controller',
    ],
    { name, cwd: root, env: { KUBECONFIG: '', POD_NAME: name, POD_NAMESPACE: NAMESPACE } },
  );
  await process.waitForOutput(/controller ready/, 60_000);
  return { name, process, grpcPort, adminUrl: `http://127.0.0.1:${adminPort}` };
}

interface Dataplane {
  name: string;
  process: StartedProcess;
  gatewayPort: number;
  adminUrl: string;
}

async function startDataplane(name: string): Promise<Dataplane> {
  const [gatewayPort, adminPort] = await Promise.all([freePort(), freePort()]);
  const process = await startDataplaneProcess({
    gatewayPort,
    adminPort,
    grpcPort: controllerService.port,
    nodeId: name,
  });
  return { name, process, gatewayPort, adminUrl: `http://127.0.0.1:${adminPort}` };
}

async function metricsOf(adminUrl: string): Promise<string> {
  return (await request(`${adminUrl}/metrics`)).body.text();
}

/** Requests a data plane has answered (its tollgate_requests_total, summed). */
async function requestsServed(dataplane: Dataplane): Promise<number> {
  const text = await metricsOf(dataplane.adminUrl);
  return [...text.matchAll(/^tollgate_requests_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

async function leaseHolder(): Promise<string> {
  const result = await cluster.kubectl(
    ['get', 'lease/tollgate-controller', '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}'],
    { allowFailure: true },
  );
  return result.code === 0 ? result.stdout : '';
}

function routeYaml(release?: string): string {
  return stringify({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Route',
    metadata: { name: 'shop', namespace: 'default' },
    spec: {
      hostnames: [HOST],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/orders' } }],
          ...(release
            ? {
                filters: [
                  {
                    type: 'ResponseHeaderModifier',
                    responseHeaderModifier: { set: [{ name: 'x-release', value: release }] },
                  },
                ],
              }
            : {}),
          backendRefs: [{ url: upstream.url }],
        },
      ],
    },
  });
}

/** The commands of a ```sh block of docs/install.md's "## Upgrade", one per line. */
function documentedUpgradeCommands(): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(docsSection('install.md', 'Upgrade'))?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Runs a documented command as a user would, from `cwd` (a checkout), against the test cluster. */
async function runDocumented(command: string, cwd: string): Promise<string> {
  const [tool, ...args] = command.split(/\s+/);
  if (tool === 'kubectl') return (await cluster.kubectl(args, { cwd })).stdout;
  if (tool === 'helm') return (await cluster.helm(args, { cwd })).stdout;
  throw new Error(`unexpected command in docs/install.md: ${command}`);
}

/** Clients hitting the gateway Service back to back over keep-alive connections, as a busy app does. */
function steadyLoad(clients: number) {
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: clients });
  let phase = 'start';
  const seen = {
    ok: 0,
    byRelease: new Map<string, number>(),
    failures: [] as string[],
  };
  const load = startLoad(clients, async (i, n) => {
    try {
      const response = await request(`http://${gatewayService.address}/orders/${i}-${n}`, {
        headers: { host: HOST },
        dispatcher: agent,
      });
      await response.body.dump();
      if (response.statusCode !== 200) seen.failures.push(`${phase}: status ${response.statusCode}`);
      else {
        seen.ok++;
        const release = String(response.headers['x-release'] ?? 'none');
        seen.byRelease.set(release, (seen.byRelease.get(release) ?? 0) + 1);
      }
    } catch (error) {
      seen.failures.push(`${phase}: ${String(error)}`);
    }
  });
  return {
    seen,
    /** Labels failures from now on, so a failure says which step caused it. */
    phase: (name: string) => {
      phase = name;
    },
    /** Waits for `count` more successful requests: traffic still flows after a step. */
    flows: async (count: number) => {
      const target = seen.ok + count;
      await waitFor(() => seen.ok >= target, {
        what: `${count} more requests to succeed`,
        timeoutMs: 30_000,
      });
    },
    stop: async () => {
      await load.stop();
      await agent.close();
      return seen;
    },
  };
}

beforeAll(async () => {
  const tools = await provisionK8sTools();
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-journey-9-'));
  upstream = await startUpstream('orders');
  cluster = await startTestCluster(tools);
  // The documented install, from this checkout: CRDs and workloads (which no node will run).
  install = await cluster.helm(
    ['install', 'tollgate', 'charts/tollgate', '-n', NAMESPACE, '--create-namespace'],
    {
      cwd: root,
      allowFailure: true,
    },
  );
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    ...['routes', 'aiproviders', 'consumers', 'policies'].map((p) => `crd/${p}.tollgate.dev`),
  ]);
  controllerService = await startServiceProxy();
  gatewayService = await startServiceProxy();
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([controllerService?.close(), gatewayService?.close(), upstream?.close()]);
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, TEST);

test('the chart installs as docs/install.md says', () => {
  expect(install.stderr).toBe('');
  expect(install.stdout).toContain('STATUS: deployed');
});

test(
  'upgrading (CRDs first with server-side apply, helm upgrade, a new controller, rolled data planes) fails no request',
  async () => {
    const v1 = await startController('tollgate-controller-v1');
    controllerService.setEndpoints([v1.grpcPort]);
    await cluster.kubectl(['apply', '-f', '-'], { input: routeYaml() });
    const a = await startDataplane('tollgate-dataplane-a');
    gatewayService.setEndpoints([a.gatewayPort]);
    await waitFor(async () => (await leaseHolder()) === v1.name, { what: 'v1 to lead', timeoutMs: 30_000 });
    await waitFor(
      async () => {
        const response = await request(`http://${gatewayService.address}/orders/warmup`, {
          headers: { host: HOST },
        });
        await response.body.dump();
        return response.statusCode === 200;
      },
      { what: 'the Route to serve', timeoutMs: 30_000 },
    );

    const load = steadyLoad(4);
    try {
      await load.flows(50);

      // 1. The CRDs, with the documented command: first this release's over the ones Helm
      // installed (Helm's field manager owned them), then the next release's, which adds a field.
      const commands = documentedUpgradeCommands();
      expect(commands).toEqual([
        'kubectl apply --server-side --force-conflicts -f charts/tollgate/crds/',
        'helm upgrade tollgate charts/tollgate -n tollgate-system',
      ]);
      const [applyCrds, helmUpgrade] = commands as [string, string];
      load.phase('CRDs of this release over Helm’s');
      await runDocumented(applyCrds, root);
      await load.flows(20);

      const next = path.join(work, 'next-release');
      await cp(chartDir, path.join(next, 'charts/tollgate'), { recursive: true });
      const routeCrdFile = path.join(next, 'charts/tollgate/crds/tollgate.dev_routes.yaml');
      const routeCrd = parse(await readFile(routeCrdFile, 'utf8')) as {
        spec: {
          versions: Array<{
            schema: {
              openAPIV3Schema: { properties: { spec: { properties: Record<string, unknown> } } };
            };
          }>;
        };
      };
      routeCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.owner = {
        type: 'string',
        description: 'A field the next release adds.',
      };
      await writeFile(routeCrdFile, `---\n${stringify(routeCrd)}`);
      load.phase('CRDs of the next release');
      await runDocumented(applyCrds, next);
      const field = await cluster.kubectl([
        'get',
        'crd/routes.tollgate.dev',
        '-o',
        'jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.owner.description}',
      ]);
      expect(field.stdout).toBe('A field the next release adds.');
      // Server-side apply stored no last-applied copy of the large CRDs.
      const annotations = await cluster.kubectl([
        'get',
        'crd/routes.tollgate.dev',
        '-o',
        'jsonpath={.metadata.annotations}',
      ]);
      expect(annotations.stdout).not.toContain('last-applied-configuration');
      load.phase('helm upgrade');
      expect(await runDocumented(helmUpgrade, next)).toContain('STATUS: deployed');
      await load.flows(20);

      // 2. The old controller goes; for a while there is none at all. The data plane keeps its
      // last good snapshot, stays ready, and serves; a change made meanwhile waits in the API server.
      load.phase('controller away');
      controllerService.setEndpoints([]);
      expect(await v1.process.stop()).toBe(0);
      await waitFor(async () => (await leaseHolder()) === '', {
        what: 'v1 to release the Lease on its way out',
        timeoutMs: 15_000,
      });
      await cluster.kubectl(['apply', '-f', '-'], { input: routeYaml('next') });
      await load.flows(100);
      expect((await request(`${a.adminUrl}/readyz`)).statusCode).toBe(200);
      expect(load.seen.byRelease.get('next')).toBeUndefined();

      // 3. The new controller takes the Lease; the data plane reconnects through the Service and
      // gets the change; the new leader writes the Route's status for the new generation.
      load.phase('new controller');
      const v2 = await startController('tollgate-controller-v2');
      controllerService.setEndpoints([v2.grpcPort]);
      await waitFor(async () => (await leaseHolder()) === v2.name, { what: 'v2 to lead', timeoutMs: 30_000 });
      await waitFor(() => (load.seen.byRelease.get('next') ?? 0) >= 20, {
        what: 'the change to reach the data plane',
        timeoutMs: 30_000,
      });
      await waitFor(
        async () => {
          const route = JSON.parse(
            (await cluster.kubectl(['get', 'route/shop', '-n', 'default', '-o', 'json'])).stdout,
          ) as {
            metadata: { generation: number };
            status?: { conditions?: Array<{ type: string; status: string; observedGeneration?: number }> };
          };
          return route.status?.conditions?.some(
            (c) =>
              c.type === 'Programmed' &&
              c.status === 'True' &&
              c.observedGeneration === route.metadata.generation,
          );
        },
        { what: 'the new leader to report the Route Programmed', timeoutMs: 30_000 },
      );

      // 4. The controller's own rolling update (maxSurge 1, maxUnavailable 0): the next replica
      // is up before the old one leaves the Service and stops; the data plane follows, the Lease too.
      load.phase('controller rolling update');
      const v3 = await startController('tollgate-controller-v3');
      controllerService.setEndpoints([v3.grpcPort]);
      expect(await v2.process.stop()).toBe(0);
      await waitFor(async () => (await leaseHolder()) === v3.name, { what: 'v3 to lead', timeoutMs: 30_000 });
      await waitFor(
        async () => /^tollgate_controller_connected_dataplanes 1$/m.test(await metricsOf(v3.adminUrl)),
        {
          what: 'the data plane to reconnect to v3',
          timeoutMs: 30_000,
        },
      );
      await load.flows(100);

      // 5. The data plane rolls as its Deployment does: the new pod joins the Service once ready,
      // the old one leaves it, waits out its preStop pause, then drains on SIGTERM.
      load.phase('data plane roll');
      const b = await startDataplane('tollgate-dataplane-b');
      gatewayService.setEndpoints([a.gatewayPort, b.gatewayPort]);
      await load.flows(20);
      gatewayService.setEndpoints([b.gatewayPort]);
      await sleep(1_000); // preStopSleepSeconds
      // Clients' keep-alive connections opened before still reach the old pod: the drain is what
      // has to move them without a failure.
      const before = await requestsServed(a);
      await waitFor(async () => (await requestsServed(a)) > before + 20, {
        what: 'the old data plane to still serve its open connections',
        timeoutMs: 10_000,
      });
      load.phase('old data plane draining');
      expect(await a.process.stop('SIGTERM', 15_000)).toBe(0);
      expect(a.process.output()).toMatch(/"msg":"drained"/);
      expect(a.process.output()).toMatch(/"cutRequests":0/);
      load.phase('after the roll');
      await load.flows(100);
      expect(gatewayService.connectionsTo.get(b.gatewayPort)).toBeGreaterThan(0);
    } finally {
      const seen = await load.stop();
      process.stdout.write(
        `journey 9 upgrade: ${seen.ok} requests under load, by x-release ${JSON.stringify(Object.fromEntries(seen.byRelease))}, ${seen.failures.length} failed\n`,
      );
      expect(seen.failures.slice(0, 20)).toEqual([]);
    }
  },
  TEST,
);
