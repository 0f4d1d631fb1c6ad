// charts/tollgate as helm renders it: lint, the values schema, and what each configuration produces
// (workload hardening, probes, wiring between the components, RBAC, optional features).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import {
  type ChartScenario,
  chartDir,
  chartScenarios,
  dig,
  findObject,
  helmLint,
  helmTemplate,
  helmTemplateResult,
  type K8sObject,
  type K8sTools,
  parseManifests,
  provisionK8sTools,
  repoRoot,
  run,
} from '../src/chart/index.ts';

// The first run on a machine builds helm and the Kubernetes binaries from source.
const PROVISION_TIMEOUT = 45 * 60_000;
const NAMESPACE = 'tollgate-system';

interface Container {
  name: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  ports?: Array<{ name: string; containerPort: number }>;
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
  [field: string]: unknown;
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

let tools: K8sTools;
const scenarios = chartScenarios();
const rendered = new Map<string, K8sObject[]>();

function objectsOf(scenario: string): K8sObject[] {
  const objects = rendered.get(scenario);
  if (!objects) throw new Error(`scenario ${scenario} was not rendered`);
  return objects;
}

function containerOf(deployment: K8sObject): Container {
  return (dig(deployment, 'spec.template.spec.containers') as Container[])[0]!;
}

function envOf(container: Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
}

/** Rules as "group/resource:verb" strings (with "=name" for named resources), sorted. */
function permissions(rules: Rule[]): string[] {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups) {
      for (const resource of rule.resources) {
        for (const verb of rule.verbs) {
          const names = rule.resourceNames ? `=${rule.resourceNames.join(',')}` : '';
          out.add(`${group || 'core'}/${resource}${names}:${verb}`);
        }
      }
    }
  }
  return [...out].sort();
}

const CONTROLLER_NAMESPACED_PERMISSIONS = [
  ...['routes', 'aiproviders', 'consumers', 'policies'].flatMap((r) =>
    ['get', 'list', 'watch'].map((v) => `tollgate.dev/${r}:${v}`),
  ),
  ...['routes', 'aiproviders', 'consumers', 'policies'].map((r) => `tollgate.dev/${r}/status:update`),
  ...['services', 'secrets'].flatMap((r) => ['get', 'list', 'watch'].map((v) => `core/${r}:${v}`)),
  ...['get', 'list', 'watch'].map((v) => `discovery.k8s.io/endpointslices:${v}`),
  'core/events:create',
  'core/events:patch',
  'events.k8s.io/events:create',
  'events.k8s.io/events:patch',
];

beforeAll(async () => {
  tools = await provisionK8sTools();
  await Promise.all(
    scenarios.map(async (scenario) => {
      rendered.set(
        scenario.name,
        parseManifests(
          await helmTemplate(tools, { valuesFiles: scenario.valuesFiles, namespace: NAMESPACE }),
        ),
      );
    }),
  );
}, PROVISION_TIMEOUT);

describe('helm lint --strict', () => {
  test.each(scenarios.map((s) => [s.name, s] as const))(
    'passes with the %s values',
    async (_name, scenario: ChartScenario) => {
      const result = await helmLint(tools, { valuesFiles: scenario.valuesFiles });
      expect(result.stdout + result.stderr).toContain('0 chart(s) failed');
      expect(result.code).toBe(0);
    },
  );
});

test('packages into an archive whose CRDs `helm show crds` prints as separate documents', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'tollgate-package-'));
  try {
    const { stdout } = await run(tools.helm, ['package', chartDir, '--destination', out]);
    const archive = stdout.trim().split(' ').at(-1)!;
    const { stdout: crds } = await run(tools.helm, ['show', 'crds', archive]);
    const names = parseManifests(crds).map((o) => o.metadata.name);
    expect(names.sort()).toEqual(
      ['aiproviders', 'consumers', 'policies', 'routes'].map((p) => `${p}.tollgate.dev`),
    );
    // Neither the test scenarios nor anything else outside the chart proper is packaged.
    const { stdout: listing } = await run('tar', ['-tzf', archive]);
    expect(listing).not.toContain('tollgate/ci/');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

describe('values schema', () => {
  test('rejects a misspelt key, naming it', async () => {
    const result = await helmTemplateResult(tools, { set: { 'controller.replicas': 3 } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/\/controller.*additional properties 'replicas' not allowed/);
  });

  test.each([
    ['controller.replicaCount', 0, '/controller/replicaCount'],
    ['dataplane.service.type', 'Ingress', '/dataplane/service/type'],
    ['controller.watchNamespaces', ['Team_A'], '/controller/watchNamespaces/0'],
    ['mtls.certManager.issuerRef', { kind: 'ClusterIssuer' }, '/mtls/certManager/issuerRef'],
    ['controller.image.digest', 'latest', '/controller/image/digest'],
    ['dataplane.podDisruptionBudget.maxUnavailable', 'half', '/dataplane/podDisruptionBudget/maxUnavailable'],
    ['controller.serviceMonitor.interval', 'often', '/controller/serviceMonitor/interval'],
  ])('rejects %s=%j, naming the field', async (key, value, field) => {
    const result = await helmTemplateResult(tools, { set: { [key]: value } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`at '${field}'`);
  });

  test('is self-contained: every $ref points inside the file', async () => {
    const schema = JSON.parse(await readFile(path.join(chartDir, 'values.schema.json'), 'utf8')) as unknown;
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref') refs.push(String(value));
          else walk(value);
        }
      }
    };
    walk(schema);
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.filter((ref) => !ref.startsWith('#/'))).toEqual([]);
  });

  test('declares every key of values.yaml and closes every object the chart defines', async () => {
    const schema = JSON.parse(await readFile(path.join(chartDir, 'values.schema.json'), 'utf8')) as {
      definitions: Record<string, Record<string, unknown>>;
    };
    const values = parse(await readFile(path.join(chartDir, 'values.yaml'), 'utf8')) as unknown;
    const resolve = (node: Record<string, unknown>): Record<string, unknown> =>
      typeof node.$ref === 'string'
        ? resolve(schema.definitions[node.$ref.replace('#/definitions/', '')]!)
        : node;
    const problems: string[] = [];
    const walk = (value: unknown, node: Record<string, unknown>, at: string): void => {
      const resolved = resolve(node);
      const properties = resolved.properties as Record<string, Record<string, unknown>> | undefined;
      if (!properties || !value || typeof value !== 'object' || Array.isArray(value)) return;
      if (resolved.additionalProperties !== false)
        problems.push(`${at || '/'}: additionalProperties is not false`);
      for (const [key, child] of Object.entries(value)) {
        const declared = properties[key];
        if (!declared) problems.push(`${at}/${key}: not declared`);
        else walk(child, declared, `${at}/${key}`);
      }
    };
    walk(values, schema as unknown as Record<string, unknown>, '');
    expect(problems).toEqual([]);
  });

  test('refuses a data-plane grace period shorter than its pre-stop pause plus drain', async () => {
    const result = await helmTemplateResult(tools, {
      set: { 'dataplane.terminationGracePeriodSeconds': 10 },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('dataplane.terminationGracePeriodSeconds (10) must exceed');
  });

  test('refuses CPU autoscaling without a CPU request', async () => {
    const result = await helmTemplateResult(tools, {
      set: { 'dataplane.autoscaling.enabled': true, 'dataplane.resources.requests.cpu': null },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('needs dataplane.resources.requests.cpu');
  });
});

describe('every configuration', () => {
  test.each(scenarios.map((s) => [s.name]))(
    '%s: hardens every pod (non-root, read-only root, no escalation, no capabilities, RuntimeDefault seccomp)',
    (name) => {
      const deployments = objectsOf(name).filter((o) => o.kind === 'Deployment');
      expect(deployments).toHaveLength(2);
      for (const deployment of deployments) {
        expect(dig(deployment, 'spec.template.spec.securityContext')).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(dig(deployment, 'spec.template.spec.securityContext.runAsUser')).toBeGreaterThan(0);
        const containers = dig(deployment, 'spec.template.spec.containers') as Container[];
        for (const container of containers) {
          expect(container.securityContext).toMatchObject({
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          });
          expect(container.resources).toMatchObject({ requests: { memory: expect.any(String) } });
        }
      }
    },
  );

  test.each(scenarios.map((s) => [s.name]))('%s: sets each environment variable once', (name) => {
    for (const deployment of objectsOf(name).filter((o) => o.kind === 'Deployment')) {
      const names = (containerOf(deployment).env ?? []).map((e) => e.name);
      expect(names).toEqual([...new Set(names)]);
    }
  });

  test.each(scenarios.map((s) => [s.name]))(
    '%s: probes /healthz and /readyz on each component’s admin port',
    (name) => {
      for (const deployment of objectsOf(name).filter((o) => o.kind === 'Deployment')) {
        const container = containerOf(deployment);
        expect(container.ports).toContainEqual(expect.objectContaining({ name: 'admin' }));
        expect(dig(container, 'livenessProbe.httpGet')).toEqual({ path: '/healthz', port: 'admin' });
        expect(dig(container, 'startupProbe.httpGet')).toEqual({ path: '/healthz', port: 'admin' });
        expect(dig(container, 'readinessProbe.httpGet')).toEqual({ path: '/readyz', port: 'admin' });
      }
    },
  );

  test.each(scenarios.map((s) => [s.name]))(
    '%s: points the data planes at the controller Service’s gRPC port',
    (name) => {
      const objects = objectsOf(name);
      const dataplane = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'dataplane',
      )!;
      const target = envOf(containerOf(dataplane)).TOLLGATE_CONTROLLER!;
      const [host, port] = target.split(/:(?=\d+$)/);
      const [serviceName, namespace, svc] = host!.split('.');
      expect({ namespace, svc }).toEqual({ namespace: NAMESPACE, svc: 'svc' });
      const service = findObject(objects, 'Service', serviceName!);
      expect(dig(service, 'spec.ports')).toContainEqual(
        expect.objectContaining({ name: 'grpc', port: Number(port), targetPort: 'grpc' }),
      );
      expect(dig(service, 'spec.selector')).toMatchObject({ 'app.kubernetes.io/component': 'controller' });
    },
  );

  test.each(scenarios.map((s) => [s.name]))('%s: gives the data plane no API token and no role', (name) => {
    const objects = objectsOf(name);
    const dataplane = objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'dataplane',
    )!;
    const account = dig(dataplane, 'spec.template.spec.serviceAccountName') as string;
    expect(dig(dataplane, 'spec.template.spec.automountServiceAccountToken')).toBe(false);
    expect(findObject(objects, 'ServiceAccount', account).automountServiceAccountToken).toBe(false);
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding');
    const subjects = bindings.flatMap((b) => b.subjects as Array<{ name: string }>);
    expect(subjects.map((s) => s.name)).not.toContain(account);
  });

  test.each(scenarios.map((s) => [s.name]))(
    '%s: lets the controller elect a leader only on its own Lease, and report only in its slot Leases, in the release namespace',
    (name) => {
      const objects = objectsOf(name);
      const controller = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'controller',
      )!;
      const container = containerOf(controller);
      const lease = container.args?.find((a) => a.startsWith('--lease-name='))?.slice('--lease-name='.length);
      expect(lease).toBeTruthy();
      expect(container.env).toContainEqual({
        name: 'POD_NAMESPACE',
        valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } },
      });
      const role = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-leader-election'))!;
      expect(role.metadata.namespace).toBe(NAMESPACE);
      // Replica reports: exactly the slot names the controller is told to use.
      const slots = Number(
        container.args?.find((a) => a.startsWith('--replica-report-slots='))?.split('=')[1],
      );
      expect(slots).toBe(Number(dig(controller, 'spec.replicas')) + 2);
      const reports = Array.from({ length: slots }, (_, i) => `${lease}-replica-${i}`).join(',');
      expect(permissions(role.rules as Rule[])).toEqual([
        'coordination.k8s.io/leases:create',
        `coordination.k8s.io/leases=${reports}:delete`,
        `coordination.k8s.io/leases=${reports}:get`,
        `coordination.k8s.io/leases=${reports}:update`,
        `coordination.k8s.io/leases=${lease}:get`,
        `coordination.k8s.io/leases=${lease}:update`,
        'events.k8s.io/events:create',
        'events.k8s.io/events:patch',
      ]);
    },
  );
});

describe('default values', () => {
  const defaults = (): K8sObject[] => objectsOf('defaults');
  const deployment = (component: string): K8sObject =>
    findObject(defaults(), 'Deployment', `tollgate-${component}`);

  test('run two controller replicas and two data planes, each with a PodDisruptionBudget', () => {
    expect(dig(deployment('controller'), 'spec.replicas')).toBe(2);
    expect(dig(deployment('dataplane'), 'spec.replicas')).toBe(2);
    for (const component of ['controller', 'dataplane']) {
      const pdb = findObject(defaults(), 'PodDisruptionBudget', `tollgate-${component}`);
      expect(dig(pdb, 'spec.maxUnavailable')).toBe(1);
      expect(dig(pdb, 'spec.selector.matchLabels')).toEqual(
        dig(deployment(component), 'spec.selector.matchLabels'),
      );
    }
    expect(defaults().filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });

  test('use the images the Dockerfiles build, tagged with the chart’s appVersion (the packages’ version)', async () => {
    const chart = parse(await readFile(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    for (const component of ['controller', 'dataplane']) {
      const pkg = JSON.parse(await readFile(path.join(repoRoot, component, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(chart.appVersion).toBe(pkg.version);
      expect(containerOf(deployment(component)).image).toBe(
        `ghcr.io/tollgate-dev/${component}:${chart.appVersion}`,
      );
    }
  });

  test('start the controller on the Kubernetes source, watching all namespaces', () => {
    const args = containerOf(deployment('controller')).args!;
    expect(args.slice(0, 2)).toEqual(['serve', '--source=kubernetes']);
    expect(args).toEqual(expect.arrayContaining(['--grpc=0.0.0.0:18000', '--admin=0.0.0.0:9902']));
    expect(args.some((a) => a.startsWith('--namespaces'))).toBe(false);
    expect(args.some((a) => a.startsWith('--tls'))).toBe(false);
  });

  test('configure the data plane through its environment', () => {
    const container = containerOf(deployment('dataplane'));
    expect(envOf(container)).toMatchObject({
      TOLLGATE_LISTEN: '0.0.0.0:8080',
      TOLLGATE_ADMIN: '0.0.0.0:9901',
      TOLLGATE_DRAIN_SECONDS: '20',
      TOLLGATE_WORKERS: '1',
    });
    expect(envOf(container)).not.toHaveProperty('TOLLGATE_ALLOW_PER_WORKER_COUNTERS');
    expect(container.env).toContainEqual({
      name: 'TOLLGATE_NODE_ID',
      valueFrom: { fieldRef: { fieldPath: 'metadata.name' } },
    });
    expect(dig(container, 'lifecycle.preStop.sleep.seconds')).toBe(5);
    expect(dig(deployment('dataplane'), 'spec.template.spec.terminationGracePeriodSeconds')).toBeGreaterThan(
      25,
    );
  });

  test('grant the controller cluster-wide reads of what it translates, status writes and Events, nothing else', () => {
    const role = findObject(defaults(), 'ClusterRole', 'tollgate-controller');
    expect(permissions(role.rules as Rule[])).toEqual(
      [
        ...CONTROLLER_NAMESPACED_PERMISSIONS,
        ...['get', 'list', 'watch'].map((v) => `core/namespaces:${v}`),
      ].sort(),
    );
    const binding = findObject(defaults(), 'ClusterRoleBinding', 'tollgate-controller');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'tollgate-controller', namespace: NAMESPACE },
    ]);
    expect(dig(deployment('controller'), 'spec.template.spec.serviceAccountName')).toBe(
      'tollgate-controller',
    );
  });

  test('expose the gateway on a LoadBalancer Service at port 80, and the admin port only on a headless Service', () => {
    const gateway = findObject(defaults(), 'Service', 'tollgate-dataplane');
    expect(dig(gateway, 'spec.type')).toBe('LoadBalancer');
    expect(dig(gateway, 'spec.ports')).toEqual([
      expect.objectContaining({ name: 'http', port: 80, targetPort: 'http' }),
    ]);
    const admin = findObject(defaults(), 'Service', 'tollgate-dataplane-admin');
    expect(dig(admin, 'spec.clusterIP')).toBe('None');
    expect(dig(admin, 'spec.ports')).toEqual([expect.objectContaining({ name: 'admin', port: 9901 })]);
  });

  test('spread each component’s replicas across zones and nodes', () => {
    for (const component of ['controller', 'dataplane']) {
      const constraints = dig(deployment(component), 'spec.template.spec.topologySpreadConstraints') as Array<
        Record<string, unknown>
      >;
      expect(constraints.map((c) => c.topologyKey)).toEqual([
        'topology.kubernetes.io/zone',
        'kubernetes.io/hostname',
      ]);
      for (const constraint of constraints) {
        expect(constraint.whenUnsatisfiable).toBe('ScheduleAnyway');
        expect(dig(constraint, 'labelSelector.matchLabels')).toEqual(
          dig(deployment(component), 'spec.selector.matchLabels'),
        );
      }
    }
  });

  test('render no ServiceMonitor, Certificate, NetworkPolicy or TLS mount unless asked', () => {
    const kinds = new Set(defaults().map((o) => o.kind));
    expect(kinds.has('NetworkPolicy')).toBe(false);
    expect(kinds.has('ServiceMonitor')).toBe(false);
    expect(kinds.has('Certificate')).toBe(false);
    for (const component of ['controller', 'dataplane']) {
      const mounts = containerOf(deployment(component)).volumeMounts ?? [];
      expect(mounts.map((m) => m.mountPath)).toEqual(['/tmp']);
    }
  });
});

describe('non-default values', () => {
  test('autoscaling hands the data-plane replica count to a HorizontalPodAutoscaler', () => {
    const objects = objectsOf('autoscaling');
    const dataplane = findObject(objects, 'Deployment', 'tollgate-dataplane');
    expect(dig(dataplane, 'spec.replicas')).toBeUndefined();
    const hpa = findObject(objects, 'HorizontalPodAutoscaler', 'tollgate-dataplane');
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'tollgate-dataplane' },
      minReplicas: 3,
      maxReplicas: 12,
    });
    expect(dig(hpa, 'spec.metrics')).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 65 } },
      },
      {
        type: 'Resource',
        resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } },
      },
    ]);
    expect(dig(findObject(objects, 'PodDisruptionBudget', 'tollgate-dataplane'), 'spec')).toMatchObject({
      minAvailable: '50%',
    });
    expect(
      dig(findObject(objects, 'PodDisruptionBudget', 'tollgate-dataplane'), 'spec.maxUnavailable'),
    ).toBeUndefined();
    expect(dig(findObject(objects, 'Service', 'tollgate-dataplane'), 'spec.type')).toBe('ClusterIP');
  });

  test('watchNamespaces grants Roles in each watched namespace and no cluster-wide access to namespaced kinds', () => {
    const objects = objectsOf('watch-namespaces');
    const controller = findObject(objects, 'Deployment', 'tollgate-controller');
    expect(containerOf(controller).args).toEqual(
      expect.arrayContaining(['--namespaces=team-a,team-b', '--lease-name=tollgate-leader']),
    );
    for (const namespace of ['team-a', 'team-b']) {
      const role = objects.find(
        (o) =>
          o.kind === 'Role' &&
          o.metadata.name === 'tollgate-controller' &&
          o.metadata.namespace === namespace,
      )!;
      expect(permissions(role.rules as Rule[])).toEqual([...CONTROLLER_NAMESPACED_PERMISSIONS].sort());
      const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === namespace)!;
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'tollgate-controller', namespace: NAMESPACE },
      ]);
    }
    const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole');
    expect(clusterRoles.map((o) => o.metadata.name)).toEqual(['tollgate-controller-namespaces']);
    expect(permissions(clusterRoles[0]!.rules as Rule[])).toEqual(
      ['get', 'list', 'watch'].map((v) => `core/namespaces=team-a,team-b:${v}`),
    );
  });

  test('serviceMonitor scrapes each component’s admin port through a Service that exists', () => {
    const objects = objectsOf('servicemonitor');
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual([
      'tollgate-controller',
      'tollgate-dataplane',
    ]);
    for (const monitor of monitors) {
      expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack' });
      expect(dig(monitor, 'spec.endpoints.0')).toMatchObject({ port: 'admin', path: '/metrics' });
      const selector = dig(monitor, 'spec.selector.matchLabels') as Record<string, string>;
      const selected = objects.filter(
        (o) =>
          o.kind === 'Service' &&
          Object.entries(selector).every(([key, value]) => o.metadata.labels?.[key] === value),
      );
      expect(selected).toHaveLength(1);
      expect(dig(selected[0], 'spec.ports')).toContainEqual(expect.objectContaining({ name: 'admin' }));
    }
  });

  test('mTLS with cert-manager issues a serving certificate for the name the data planes dial, from the release’s CA', () => {
    const objects = objectsOf('mtls-cert-manager');
    const controller = containerOf(findObject(objects, 'Deployment', 'tollgate-controller'));
    const dataplane = containerOf(findObject(objects, 'Deployment', 'tollgate-dataplane'));
    expect(controller.args).toEqual(
      expect.arrayContaining([
        '--tls-ca=/etc/tollgate/tls/ca.crt',
        '--tls-cert=/etc/tollgate/tls/tls.crt',
        '--tls-key=/etc/tollgate/tls/tls.key',
      ]),
    );
    expect(envOf(dataplane)).toMatchObject({
      TOLLGATE_TLS_CA: '/etc/tollgate/tls/ca.crt',
      TOLLGATE_TLS_CERT: '/etc/tollgate/tls/tls.crt',
      TOLLGATE_TLS_KEY: '/etc/tollgate/tls/tls.key',
    });
    const dialled = envOf(dataplane).TOLLGATE_CONTROLLER!.replace(/:\d+$/, '');
    const serving = findObject(objects, 'Certificate', 'tollgate-controller');
    expect(dig(serving, 'spec.dnsNames')).toContain(dialled);
    expect(dig(serving, 'spec.usages')).toContain('server auth');
    const client = findObject(objects, 'Certificate', 'tollgate-dataplane');
    expect(dig(client, 'spec.usages')).toContain('client auth');
    // Both leaves from the CA Issuer the chart made, which the self-signed CA certificate backs.
    for (const certificate of [serving, client]) {
      expect(dig(certificate, 'spec.issuerRef')).toEqual({
        name: 'tollgate-ca',
        kind: 'Issuer',
        group: 'cert-manager.io',
      });
    }
    expect(dig(findObject(objects, 'Issuer', 'tollgate-ca'), 'spec.ca.secretName')).toBe(
      dig(findObject(objects, 'Certificate', 'tollgate-ca'), 'spec.secretName'),
    );
    // Each pod mounts the Secret its Certificate writes.
    for (const [component, certificate] of [
      ['controller', serving],
      ['dataplane', client],
    ] as const) {
      const pod = dig(findObject(objects, 'Deployment', `tollgate-${component}`), 'spec.template.spec');
      expect(dig(pod, 'volumes')).toContainEqual({
        name: 'tls',
        secret: { secretName: dig(certificate, 'spec.secretName'), defaultMode: 0o440 },
      });
    }
  });

  test('mTLS with your own Secrets mounts them and creates no Certificates', () => {
    const objects = objectsOf('mtls-own-secrets');
    expect(objects.filter((o) => o.kind === 'Certificate' || o.kind === 'Issuer')).toEqual([]);
    for (const [component, secret] of [
      ['controller', 'gateway-controller-certs'],
      ['dataplane', 'gateway-dataplane-certs'],
    ] as const) {
      const pod = dig(findObject(objects, 'Deployment', `tollgate-${component}`), 'spec.template.spec');
      expect(dig(pod, 'volumes')).toContainEqual({
        name: 'tls',
        secret: { secretName: secret, defaultMode: 0o440 },
      });
    }
  });

  test('one replica each renders no PodDisruptionBudget, and the other knobs reach the manifests', () => {
    const objects = objectsOf('customized');
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toEqual([]);
    const controller = findObject(objects, 'Deployment', 'edge-controller');
    const dataplane = findObject(objects, 'Deployment', 'edge-dataplane');
    expect(containerOf(controller).image).toMatch(
      /^registry\.example\.com\/tollgate\/controller@sha256:[0-9a-f]{64}$/,
    );
    expect(containerOf(dataplane).image).toBe('registry.example.com/tollgate/dataplane:0.1.0-rc.1');
    expect(containerOf(controller).args).toContain('--grpc=:::18000');
    expect(envOf(containerOf(dataplane))).toMatchObject({
      TOLLGATE_LISTEN: ':::8080',
      TOLLGATE_ZONE: 'eu-west-1a',
      TOLLGATE_DRAIN_SECONDS: '45',
      TOLLGATE_CONTROLLER: `edge-controller.${NAMESPACE}.svc:18000`,
      // extraEnv replaces the chart's own variable.
      TOLLGATE_LOG_LEVEL: 'warn',
    });
    expect(dig(containerOf(dataplane), 'lifecycle')).toBeUndefined();
    expect(dig(dataplane, 'spec.template.spec.topologySpreadConstraints.0.whenUnsatisfiable')).toBe(
      'DoNotSchedule',
    );
    expect(dig(controller, 'spec.template.spec.topologySpreadConstraints')).toBeUndefined();
    expect(dig(controller, 'spec.template.spec.affinity.podAntiAffinity')).toBeDefined();
    expect(dig(dataplane, 'spec.template.spec.imagePullSecrets')).toEqual([{ name: 'registry-credentials' }]);
    expect(dig(dataplane, 'spec.template.metadata.labels.tier')).toBe('edge');
    const gateway = findObject(objects, 'Service', 'edge-dataplane');
    expect(gateway.spec).toMatchObject({ type: 'NodePort', externalTrafficPolicy: 'Local' });
    expect(dig(gateway, 'spec.ports.0')).toMatchObject({ port: 8080, nodePort: 30080 });
    // The NetworkPolicy lets exactly this release's data-plane pods reach the controller's gRPC port.
    const policy = findObject(objects, 'NetworkPolicy', 'edge-controller');
    expect(dig(policy, 'spec.podSelector.matchLabels')).toEqual(dig(controller, 'spec.selector.matchLabels'));
    expect(dig(policy, 'spec.ingress.0')).toEqual({
      from: [{ podSelector: { matchLabels: dig(dataplane, 'spec.selector.matchLabels') } }],
      ports: [{ port: 'grpc', protocol: 'TCP' }],
    });
    expect(dig(policy, 'spec.ingress.1.ports')).toEqual([{ port: 'admin', protocol: 'TCP' }]);
    for (const object of objects) expect(object.metadata.labels).toMatchObject({ team: 'platform' });
  });
});

describe('dataplane.workers', () => {
  const dataplaneEnv = async (set: Record<string, unknown>): Promise<Record<string, string | undefined>> => {
    const objects = parseManifests(await helmTemplate(tools, { set, namespace: NAMESPACE }));
    return envOf(containerOf(findObject(objects, 'Deployment', 'tollgate-dataplane')));
  };

  test.each([
    [2, '2'],
    ['auto', 'auto'],
  ])('%j with Redis in extraEnv renders TOLLGATE_WORKERS=%s', async (workers, rendered) => {
    const env = await dataplaneEnv({
      'dataplane.workers': workers,
      'dataplane.extraEnv': [{ name: 'TOLLGATE_REDIS_URL', value: 'redis://redis:6379' }],
    });
    expect(env).toMatchObject({ TOLLGATE_WORKERS: rendered, TOLLGATE_REDIS_URL: 'redis://redis:6379' });
    expect(env).not.toHaveProperty('TOLLGATE_ALLOW_PER_WORKER_COUNTERS');
  });

  test('counts --redis in extraArgs as Redis', async () => {
    const env = await dataplaneEnv({
      'dataplane.workers': 4,
      'dataplane.extraArgs': ['--redis=redis://redis:6379'],
    });
    expect(env.TOLLGATE_WORKERS).toBe('4');
  });

  test('the docs/performance.md multi-core values render two workers with Redis and two CPUs', async () => {
    const doc = await readFile(path.join(repoRoot, 'docs/performance.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Multi-core'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain('workers: 2');
    const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-workers-'));
    try {
      const file = path.join(dir, 'values.yaml');
      await writeFile(file, example ?? '');
      const objects = parseManifests(
        await helmTemplate(tools, { valuesFiles: [file], namespace: NAMESPACE }),
      );
      const dataplane = findObject(objects, 'Deployment', 'tollgate-dataplane');
      expect(envOf(containerOf(dataplane))).toMatchObject({
        TOLLGATE_WORKERS: '2',
        TOLLGATE_REDIS_URL: expect.stringMatching(/^redis:\/\//),
      });
      expect(dig(containerOf(dataplane), 'resources.requests.cpu')).toBe('2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses more than one worker without Redis, naming both ways out', async () => {
    const result = await helmTemplateResult(tools, { set: { 'dataplane.workers': 2 } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('dataplane.workers (2) needs Redis');
    expect(result.stderr).toContain('dataplane.allowPerWorkerCounters: true');
  });

  test('allowPerWorkerCounters lets workers run without Redis and tells the data plane so', async () => {
    const env = await dataplaneEnv({ 'dataplane.workers': 2, 'dataplane.allowPerWorkerCounters': true });
    expect(env).toMatchObject({ TOLLGATE_WORKERS: '2', TOLLGATE_ALLOW_PER_WORKER_COUNTERS: 'true' });
  });

  test.each([0, 257, 1.5, 'many'])('rejects workers=%j, naming the field', async (workers) => {
    const result = await helmTemplateResult(tools, {
      set: { 'dataplane.workers': workers, 'dataplane.allowPerWorkerCounters': true },
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("at '/dataplane/workers'");
  });
});
