// Journey 9, "Operate it": Prometheus scrapes both components, the shipped dashboard and alerts
// work, and the gateway's traces join the applications' — as installed. The chart goes into a real
// API server with `helm install` and the monitoring values (ServiceMonitors, dashboard, alerts,
// tracing); the controller and the data plane then run as local processes with exactly the
// arguments and environment of the installed Deployments (only the controller Service's DNS name
// becomes loopback, and the ports are free ones picked at install). What Prometheus would do is
// followed by hand: ServiceMonitor → Service → Pod port → the process's /metrics.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  type StartedProcess,
  startUpstream,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { request } from 'undici';
import { stringify } from 'yaml';
import {
  KIND,
  type OTLPReceiver,
  startOTLPReceiver,
} from '../../dataplane/test/observability/otlp-receiver.ts';
import {
  chartDir,
  chartScenarios,
  helmTemplate,
  type K8sObject,
  parseManifests,
  provisionK8sTools,
  serviceAccountKubeconfig,
  startTestCluster,
  type TestCluster,
  thirdPartyCrdManifests,
} from '../src/chart/index.ts';
import { docsYaml } from '../src/journeys/docs.ts';
import { containerPort, type InstalledDeployment, startInstalledPod } from '../src/journeys/installed.ts';
import {
  dashboardExpressions,
  metricNamesOf,
  renderMonitoring,
  repoRoot,
  scrapedFamilies,
} from './observability-metrics.ts';

const SLOW = 45 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;
const NAMESPACE = 'tollgate-system';
const HOST = 'traced.example.com';

type Deployment = K8sObject & InstalledDeployment;
interface Service extends K8sObject {
  spec: {
    selector: Record<string, string>;
    ports: Array<{ name: string; port: number; targetPort: string | number }>;
  };
}
interface ServiceMonitor extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    namespaceSelector?: { matchNames?: string[] };
    endpoints: Array<{
      port: string;
      path?: string;
      metricRelabelings?: Array<{ sourceLabels?: string[]; regex?: string; action?: string }>;
    }>;
  };
}

let cluster: TestCluster;
let receiver: OTLPReceiver;
let upstream: TestUpstream;
let work: string;
let installed: K8sObject[];
let controller: StartedProcess;
let gateway: string;

const installedOf = <T extends K8sObject>(kind: string): T[] =>
  installed.filter((o) => o.kind === kind) as T[];
const deploymentOf = (component: string): Deployment =>
  installedOf<Deployment>('Deployment').find((d) => d.metadata.name === `tollgate-${component}`)!;

/** docs/install.md's command that turns the ServiceMonitors on, as argv (quotes as a shell reads them). */
function documentedMetricsCommand(): string[] {
  const install = readFileSync(path.join(repoRoot, 'docs/install.md'), 'utf8');
  const block = /### Metrics\n+```sh\n([\s\S]*?)```/.exec(install)?.[1];
  if (!block) throw new Error('docs/install.md has no "### Metrics" command');
  return [...block.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

beforeAll(async () => {
  const tools = await provisionK8sTools();
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-journey-9-observe-'));
  [receiver, upstream] = await Promise.all([startOTLPReceiver(), startUpstream('orders')]);
  cluster = await startTestCluster(tools);
  // The Prometheus Operator's kinds exist where monitoring is turned on.
  await cluster.kubectl(['apply', '--server-side', '-f', '-'], {
    input: (await thirdPartyCrdManifests()).join('\n---\n'),
  });
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/prometheusrules.monitoring.coreos.com',
  ]);
  const [grpcPort, controllerAdmin, httpPort, dataplaneAdmin] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  // The documented monitoring: docs/observability.md's values (tracing, dashboards and alerts)
  // and docs/install.md's command that turns the ServiceMonitors on. Only what a laptop needs
  // differs: loopback, free ports, traces to the in-process OTLP receiver in JSON (which it reads).
  const valuesFiles: string[] = [];
  for (const [i, yaml] of docsYaml('observability.md', 'Tracing', 'Dashboards and alerts').entries()) {
    valuesFiles.push(path.join(work, `docs-values-${i}.yaml`));
    await writeFile(valuesFiles.at(-1)!, yaml);
  }
  expect(valuesFiles).toHaveLength(2);
  const local = path.join(work, 'local.yaml');
  await writeFile(
    local,
    stringify({
      bindAddress: '127.0.0.1',
      controller: { grpcPort, adminPort: controllerAdmin },
      dataplane: { httpPort, adminPort: dataplaneAdmin, drainSeconds: 1, preStopSleepSeconds: 0 },
      tracing: { endpoint: receiver.endpoint, protocol: 'http/json' },
    }),
  );
  await cluster.kubectl(['create', 'namespace', NAMESPACE]);
  const [helm, ...args] = documentedMetricsCommand();
  expect(helm).toBe('helm');
  const install = await cluster.helm([...args, ...valuesFiles.flatMap((f) => ['-f', f]), '-f', local], {
    cwd: repoRoot,
  });
  expect(install.stdout).toContain('STATUS: deployed');
  const { stdout } = await cluster.kubectl([
    'get',
    'deployments,services,servicemonitors,prometheusrules,configmaps',
    '-n',
    NAMESPACE,
    '-o',
    'json',
  ]);
  installed = (JSON.parse(stdout) as { items: K8sObject[] }).items;

  await cluster.kubectl(['apply', '-f', '-'], {
    input: stringify({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'orders', namespace: 'default' },
      spec: {
        hostnames: [HOST],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/orders' } }],
            backendRefs: [{ url: upstream.url }],
          },
        ],
      },
    }),
  });
  const kubeconfig = await serviceAccountKubeconfig(
    cluster,
    NAMESPACE,
    'tollgate-controller',
    path.join(work, 'controller.kubeconfig'),
  );
  controller = startInstalledPod('controller', deploymentOf('controller'), {
    env: { KUBECONFIG: kubeconfig },
  }).process;
  await controller.waitForOutput(/controller ready/, 60_000);
  // Data planes dial the controller Service's DNS name; on loopback the Service is the process.
  startInstalledPod('dataplane', deploymentOf('dataplane'), {
    env: { TOLLGATE_CONTROLLER: `127.0.0.1:${grpcPort}` },
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${dataplaneAdmin}/readyz`)).ok, {
    what: 'the installed data plane ready',
    timeoutMs: 30_000,
  });
  gateway = `http://127.0.0.1:${httpPort}`;
  await waitFor(
    async () => {
      const response = await request(`${gateway}/orders/warmup`, { headers: { host: HOST } });
      await response.body.dump();
      return response.statusCode === 200;
    },
    { what: 'the Route to serve', timeoutMs: 30_000 },
  );
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await Promise.all([receiver?.close(), upstream?.close()]);
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
}, TEST);

/** What a ServiceMonitor makes Prometheus scrape: the admin URL of the pods it selects, by port name. */
function scrapeTarget(monitor: ServiceMonitor): { url: string; deployment: Deployment; service: Service } {
  const endpoint = monitor.spec.endpoints[0]!;
  const namespaces = monitor.spec.namespaceSelector?.matchNames ?? [monitor.metadata.namespace];
  const services = installedOf<Service>('Service').filter(
    (s) =>
      namespaces.includes(s.metadata.namespace) &&
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
  );
  expect(services).toHaveLength(1);
  const service = services[0]!;
  const servicePort = service.spec.ports.find((p) => p.name === endpoint.port);
  expect(servicePort).toBeDefined();
  const pods = installedOf<Deployment>('Deployment').filter((d) =>
    Object.entries(service.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
  );
  expect(pods).toHaveLength(1);
  const deployment = pods[0]!;
  const container = deployment.spec.template.spec.containers[0]!;
  const port = containerPort(container, servicePort!.targetPort);
  return { url: `http://127.0.0.1:${port}${endpoint.path ?? '/metrics'}`, deployment, service };
}

/** Every metric the installed dashboard's queries and the installed alerts' expressions select. */
function queriedMetrics(): Set<string> {
  const configMap = installedOf<K8sObject & { data: Record<string, string> }>('ConfigMap').find((c) =>
    c.metadata.name.endsWith('-dashboards'),
  )!;
  const [rule] = installedOf<K8sObject & { spec: { groups: Array<{ rules: Array<{ expr: string }> }> } }>(
    'PrometheusRule',
  );
  const expressions = [
    ...Object.values(configMap.data).flatMap((json) => dashboardExpressions(JSON.parse(json))),
    ...rule!.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)),
  ];
  return new Set(expressions.flatMap((expr) => metricNamesOf(expr)));
}

/** Metric names a ServiceMonitor's relabelings drop, as patterns. */
function droppedBy(monitor: ServiceMonitor): RegExp[] {
  return monitor.spec.endpoints.flatMap((endpoint) =>
    (endpoint.metricRelabelings ?? [])
      .filter((r) => r.action === 'drop' && r.sourceLabels?.join() === '__name__')
      .map((r) => new RegExp(`^(?:${r.regex})$`)),
  );
}

async function scrape(url: string): Promise<string> {
  const response = await request(url);
  expect(response.statusCode).toBe(200);
  expect(String(response.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body.text();
}

test('each ServiceMonitor reaches its component’s /metrics: Service by label, port by name, the port the process serves', async () => {
  const monitors = installedOf<ServiceMonitor>('ServiceMonitor');
  expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['tollgate-controller', 'tollgate-dataplane']);
  for (const monitor of monitors) {
    const { url, deployment } = scrapeTarget(monitor);
    expect(deployment.metadata.name).toBe(monitor.metadata.name);
    const text = await scrape(url);
    const component = monitor.metadata.name.replace('tollgate-', '');
    // The scrape is the component's own: the controller counts data planes, the data plane requests.
    if (component === 'controller') expect(text).toMatch(/^tollgate_controller_connected_dataplanes 1$/m);
    else expect(text).toMatch(/^tollgate_requests_total\{[^}]*route="default\/orders\/0\/0"[^}]*\} [1-9]/m);
  }
});

test('the installed dashboard and alerts are the files the rule and dashboard tests check', async () => {
  const configMap = installedOf<K8sObject & { data: Record<string, string> }>('ConfigMap').find((c) =>
    c.metadata.name.endsWith('-dashboards'),
  )!;
  const onDisk = await readFile(path.join(chartDir, 'dashboards/tollgate.json'), 'utf8');
  expect(configMap.data['tollgate.json']).toBe(onDisk.trimEnd());
  const [rule] = installedOf<K8sObject & { spec: unknown }>('PrometheusRule');
  // chart-observability.test.ts runs promtool over this rendering.
  expect(rule!.spec).toEqual((await renderMonitoring()).ruleSpec);
});

test('every series the shipped dashboard and alerts query is in the scrape of the installed components, and no relabeling drops it', async () => {
  const monitors = installedOf<ServiceMonitor>('ServiceMonitor');
  const families = new Map<string, string>();
  const dropped = monitors.flatMap(droppedBy);
  for (const monitor of monitors)
    for (const [name, type] of scrapedFamilies(await scrape(scrapeTarget(monitor).url)))
      families.set(name, type);
  const queried = queriedMetrics();
  const base = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
  expect(queried.size).toBeGreaterThan(20);
  expect([...queried].filter((name) => !families.has(name) && !families.has(base(name)))).toEqual([]);
  expect([...queried].filter((name) => dropped.some((re) => re.test(name)))).toEqual([]);
});

test('a client’s trace continues through the gateway into the application: same trace id, the attempt span as parent', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const response = await request(`${gateway}/orders/42`, {
    headers: { host: HOST, traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
  });
  expect(response.statusCode).toBe(200);
  await response.body.dump();
  const spans = await waitFor(
    () => {
      const found = receiver.spans.filter((s) => s.traceId === traceId);
      return found.some((s) => s.kind === KIND.SERVER) && found.some((s) => s.kind === KIND.CLIENT)
        ? found
        : undefined;
    },
    { what: 'the gateway’s spans of the request', timeoutMs: 15_000 },
  );
  const server = spans.find((s) => s.kind === KIND.SERVER)!;
  const attempt = spans.find((s) => s.kind === KIND.CLIENT)!;
  expect(server.parentSpanId).toBe('00f067aa0ba902b7');
  expect(attempt.parentSpanId).toBe(server.spanId);
  // The values' service name and resource attributes, as the chart set them.
  expect(server.resource).toMatchObject({
    'service.name': 'tollgate-dataplane',
    'k8s.namespace.name': NAMESPACE,
    'deployment.environment.name': 'prod',
  });
  const seen = upstream.requests.find((r) => r.url === '/orders/42')!;
  expect(seen.headers.traceparent).toBe(`00-${traceId}-${attempt.spanId}-01`);
});

test('a caller’s decision not to sample is followed: no gateway spans, yet the application still joins the trace', async () => {
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const response = await request(`${gateway}/orders/unsampled`, {
    headers: { host: HOST, traceparent: `00-${traceId}-b7ad6b7169203331-00` },
  });
  expect(response.statusCode).toBe(200);
  await response.body.dump();
  // A sampled request after it: once its spans are exported, the unsampled one's would have been too.
  const after = '11111111111111111111111111111111';
  const next = await request(`${gateway}/orders/after`, {
    headers: { host: HOST, traceparent: `00-${after}-2222222222222222-01` },
  });
  await next.body.dump();
  await waitFor(() => receiver.spans.some((s) => s.traceId === after && s.kind === KIND.SERVER), {
    what: 'the sampled request’s spans',
    timeoutMs: 15_000,
  });
  expect(receiver.spans.filter((s) => s.traceId === traceId)).toEqual([]);
  const seen = upstream.requests.find((r) => r.url === '/orders/unsampled')!;
  expect(seen.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
});

test(
  'no ServiceMonitor relabeling in the chart’s example scenarios drops a series the dashboard or alerts query',
  async () => {
    const tools = await provisionK8sTools();
    const queried = queriedMetrics();
    const found: string[] = [];
    for (const scenario of chartScenarios()) {
      const objects = parseManifests(await helmTemplate(tools, { valuesFiles: scenario.valuesFiles }));
      for (const monitor of objects.filter((o): o is ServiceMonitor => o.kind === 'ServiceMonitor'))
        for (const pattern of droppedBy(monitor))
          for (const name of queried) if (pattern.test(name)) found.push(`${scenario.name}: ${name}`);
    }
    expect(found).toEqual([]);
  },
  TEST,
);
