// Journey 2, "Install on a cluster", against a real API server: docs/install.md's `helm install`
// as printed, then what the user checks. `kubectl get crds` lists the four kinds, and
// `kubectl explain` explains every field of every kind. The machine has no nodes, so
// `kubectl get pods` can show no pod. Instead, each installed Deployment's container is started as
// the kubelet would start it (entrypoint, arguments, environment, ServiceAccount token) and its
// readiness probe is asked on the port the probe names.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, stopAllProcesses, waitFor } from '@tollgate/testkit';
import {
  provisionK8sTools,
  type RunResult,
  serviceAccountKubeconfig,
  startTestCluster,
  type TestCluster,
} from '../src/chart/index.ts';
import { parseTable } from '../src/journeys/cluster.ts';
import { docsSection } from '../src/journeys/docs.ts';
import { containerPort, type InstalledDeployment, startInstalledPod } from '../src/journeys/installed.ts';

const SLOW = 45 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;
const NAMESPACE = 'tollgate-system';
const KINDS = ['Route', 'AIProvider', 'Consumer', 'Policy'];
const root = path.resolve(import.meta.dirname, '../..');

let cluster: TestCluster;
let install: RunResult;
let work: string;

/** The first command of the first ```sh block of docs/install.md's "## Install". */
function documentedInstall(): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(docsSection('install.md', 'Install'))?.[1] ?? '';
  return block.split('\n')[0]!.trim().split(/\s+/);
}

beforeAll(async () => {
  const tools = await provisionK8sTools();
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-journey-2-'));
  cluster = await startTestCluster(tools);
  const [helm, ...args] = documentedInstall();
  expect(helm).toBe('helm');
  install = await cluster.helm(args, { cwd: root, allowFailure: true });
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, TEST);

test('`helm install` as documented deploys; `kubectl get crds` lists the four Tollgate kinds', async () => {
  expect(documentedInstall()).toEqual([
    'helm',
    'install',
    'tollgate',
    'charts/tollgate',
    '-n',
    NAMESPACE,
    '--create-namespace',
  ]);
  expect(install.stderr).toBe('');
  expect(install.stdout).toContain('STATUS: deployed');
  const crds = parseTable((await cluster.kubectl(['get', 'crds'])).stdout)
    .map((row) => row.NAME!)
    .filter((name) => name.endsWith('tollgate.dev'));
  expect(crds.sort()).toEqual([
    'aiproviders.tollgate.dev',
    'consumers.tollgate.dev',
    'policies.tollgate.dev',
    'routes.tollgate.dev',
  ]);
});

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
}

test('`kubectl explain route.spec.rules` explains each field, and every field of every kind has an explanation', async () => {
  // The API server publishes a new CRD's OpenAPI a moment after it is Established.
  const explained = await waitFor(
    async () => {
      const result = await cluster.kubectl(['explain', 'route.spec.rules'], { allowFailure: true });
      return result.code === 0 ? result.stdout : undefined;
    },
    { what: 'kubectl explain to know Routes', timeoutMs: 30_000, intervalMs: 500 },
  );
  const { stdout } = await cluster.kubectl(['get', '--raw', '/openapi/v3/apis/tollgate.dev/v1alpha1']);
  const schemas = (JSON.parse(stdout) as { components: { schemas: Record<string, Schema> } }).components
    .schemas;
  const rules = schemas['dev.tollgate.v1alpha1.Route']!.properties!.spec!.properties!.rules!.items!;
  // Every direct field is listed with the first words of its description.
  for (const [field, schema] of Object.entries(rules.properties!)) {
    const firstWords = schema.description!.split(/\s+/).slice(0, 3).join(' ');
    expect({ field, explained: new RegExp(`^\\s+${field}\\s+<`, 'm').test(explained) }).toEqual({
      field,
      explained: true,
    });
    expect(explained.replace(/\s+/g, ' ')).toContain(firstWords);
  }
  // And nothing anywhere goes unexplained, in any kind.
  const missing: string[] = [];
  let fields = 0;
  const visit = (where: string, schema: Schema): void => {
    for (const [name, child] of Object.entries(schema.properties ?? {})) {
      const at = `${where}.${name}`;
      fields++;
      if (!child.description?.trim()) missing.push(at);
      visit(at, child);
    }
    if (schema.items) visit(`${where}[]`, schema.items);
    if (typeof schema.additionalProperties === 'object') visit(`${where}{}`, schema.additionalProperties);
  };
  for (const kind of KINDS) {
    const schema = schemas[`dev.tollgate.v1alpha1.${kind}`]!;
    visit(kind.toLowerCase(), { properties: { spec: schema.properties!.spec! } });
  }
  expect(fields).toBeGreaterThan(200);
  expect(missing).toEqual([]);
});

test(
  'the installed controller and data plane, started as their pods, pass the readiness probes their Deployments declare',
  async () => {
    const deployment = async (name: string): Promise<InstalledDeployment> =>
      JSON.parse(
        (await cluster.kubectl(['get', `deployment/${name}`, '-n', NAMESPACE, '-o', 'json'])).stdout,
      );
    const [controller, dataplane] = await Promise.all([
      deployment('tollgate-controller'),
      deployment('tollgate-dataplane'),
    ]);
    const [grpc, controllerAdmin, listen, dataplaneAdmin] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    // The ports are the chart's (0.0.0.0:9902 …); on a shared machine each gets a free one instead.
    const portOf = (address: string | undefined): number => Number(address?.split(':').at(-1));
    const controllerContainer = controller.spec.template.spec.containers[0]!;
    const controllerProbe = controllerContainer.readinessProbe!.httpGet!;
    const adminArg = controllerContainer.args!.find((a) => a.startsWith('--admin='));
    expect(containerPort(controllerContainer, controllerProbe.port)).toBe(portOf(adminArg));
    const kubeconfig = await serviceAccountKubeconfig(
      cluster,
      NAMESPACE,
      'tollgate-controller',
      path.join(work, 'controller.kubeconfig'),
    );
    const controllerPod = startInstalledPod('controller', controller, {
      env: { KUBECONFIG: kubeconfig },
      mapArg: (arg) => {
        if (arg.startsWith('--grpc=')) return `--grpc=127.0.0.1:${grpc}`;
        if (arg.startsWith('--admin=')) return `--admin=127.0.0.1:${controllerAdmin}`;
        return arg;
      },
    });

    const dataplaneContainer = dataplane.spec.template.spec.containers[0]!;
    const dataplaneProbe = dataplaneContainer.readinessProbe!.httpGet!;
    const dataplanePod = startInstalledPod('dataplane', dataplane, {
      env: {
        TOLLGATE_LISTEN: `127.0.0.1:${listen}`,
        TOLLGATE_ADMIN: `127.0.0.1:${dataplaneAdmin}`,
        // The controller Service's DNS name; on loopback the Service is the controller process.
        TOLLGATE_CONTROLLER: `127.0.0.1:${grpc}`,
      },
    });
    const installedAdmin = dataplane.spec.template.spec.containers[0]!.env!.find(
      (e) => e.name === 'TOLLGATE_ADMIN',
    )?.value;
    expect(containerPort(dataplaneContainer, dataplaneProbe.port)).toBe(portOf(installedAdmin));

    const ready = async (port: number, pathname: string): Promise<boolean> =>
      (await fetch(`http://127.0.0.1:${port}${pathname}`).catch(() => undefined))?.ok === true;
    try {
      await waitFor(() => ready(controllerAdmin, controllerProbe.path), {
        what: 'the controller ready',
        timeoutMs: 30_000,
      });
      await waitFor(() => ready(dataplaneAdmin, dataplaneProbe.path), {
        what: 'the data plane ready',
        timeoutMs: 30_000,
      });
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n--- controller:\n${controllerPod.process.output().slice(-2000)}\n--- data plane:\n${dataplanePod.process.output().slice(-2000)}`,
      );
    }
    expect(controllerPod.process.output()).not.toMatch(/forbidden/i);
  },
  TEST,
);
