// charts/tollgate against real Kubernetes: every configuration validated by kubeconform -strict
// (built-in schemas from the API server, CRD schemas converted from the CRDs) and by a real
// kube-apiserver (dry-run, Pod Security "restricted"), the documented install and CRD upgrade, and
// the chart's RBAC checked both ways: the controller can do what it needs and nothing more, the
// data plane nothing at all.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startProcess, stopAllProcesses, waitFor } from '@tollgate/testkit';
import { parseAllDocuments, stringify } from 'yaml';
import {
  builtinKindSchemas,
  chartDir,
  chartScenarios,
  crdSchemas,
  helmTemplate,
  type K8sTools,
  parseManifests,
  provisionK8sTools,
  repoRoot,
  run,
  type SchemaDirectory,
  serviceAccountKubeconfig,
  startTestCluster,
  type TestCluster,
  thirdPartyCrdManifests,
  writeSchemaDirectory,
} from '../src/chart/index.ts';

// The first run on a machine builds the Kubernetes binaries from source (several minutes).
const PROVISION_TIMEOUT = 45 * 60_000;
const SLOW = 120_000;
const scenarios = chartScenarios();
const TOLLGATE_CRDS = ['routes', 'aiproviders', 'consumers', 'policies'].map((p) => `${p}.tollgate.dev`);

let tools: K8sTools;
let cluster: TestCluster;
let schemas: SchemaDirectory;
let work: string;

async function documentsOf(text: string): Promise<unknown[]> {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter(Boolean);
}

async function generatedCrds(): Promise<string[]> {
  const dir = path.join(repoRoot, 'crds');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  return Promise.all(files.map((f) => readFile(path.join(dir, f), 'utf8')));
}

interface KubeconformResult {
  kind: string;
  name: string;
  status: string;
  msg: string;
}

async function kubeconform(file: string): Promise<KubeconformResult[]> {
  const result = await run(
    tools.kubeconform,
    [
      '-strict',
      '-verbose',
      '-output',
      'json',
      ...schemas.locations.flatMap((l) => ['-schema-location', l]),
      file,
    ],
    { allowFailure: true },
  );
  return (JSON.parse(result.stdout) as { resources: KubeconformResult[] }).resources;
}

/** Labels that make the API server check workloads against Pod Security "restricted". */
async function createRestrictedNamespace(name: string): Promise<void> {
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
    },
  };
  await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(namespace) });
}

beforeAll(async () => {
  tools = await provisionK8sTools();
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-chart-test-'));
  cluster = await startTestCluster(tools);
  // Built-in schemas from the API server before any CRD exists, so custom kinds come only from the
  // CRD manifests.
  const openapi = JSON.parse((await cluster.kubectl(['get', '--raw', '/openapi/v2'])).stdout) as {
    definitions: Record<string, Record<string, unknown>>;
  };
  const thirdParty = await thirdPartyCrdManifests();
  const crdObjects = (await Promise.all([...(await generatedCrds()), ...thirdParty].map(documentsOf))).flat();
  schemas = await writeSchemaDirectory(
    path.join(work, 'schemas'),
    builtinKindSchemas(openapi),
    crdSchemas(crdObjects),
  );
  // The optional features' kinds exist in the cluster too, as they would where they are enabled.
  await cluster.kubectl(['apply', '--server-side', '-f', '-'], { input: thirdParty.join('\n---\n') });
  await cluster.kubectl([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    'crd/servicemonitors.monitoring.coreos.com',
    'crd/certificates.cert-manager.io',
    'crd/issuers.cert-manager.io',
  ]);
  for (const namespace of ['team-a', 'team-b', 'team-c']) {
    await cluster.kubectl(['create', 'namespace', namespace]);
  }
}, PROVISION_TIMEOUT);

afterAll(async () => {
  await stopAllProcesses();
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('kubeconform -strict', () => {
  test.each(scenarios.map((s) => [s.name, s] as const))(
    'validates every object of the %s rendering, CRDs included',
    async (name, scenario) => {
      const file = path.join(work, `${name}.yaml`);
      const rendered = await helmTemplate(tools, { valuesFiles: scenario.valuesFiles, includeCrds: true });
      await writeFile(file, rendered);
      // (Each CRD file starts with a separator, so --include-crds renders a comment-only document
      // before it: kubeconform reports those as empty.)
      const results = (await kubeconform(file)).filter((r) => r.status !== '' || r.kind !== '');
      expect(results.filter((r) => r.status !== 'statusValid')).toEqual([]);
      expect(results).toHaveLength(parseManifests(rendered).length);
    },
    SLOW,
  );

  test('validates the example manifests against the CRD schemas', async () => {
    const objects: unknown[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (/\.ya?ml$/.test(entry.name))
          objects.push(...(await documentsOf(await readFile(full, 'utf8'))));
      }
    };
    await walk(path.join(repoRoot, 'examples'));
    const manifests = objects.filter(
      (o): o is { apiVersion: string; kind: string } =>
        typeof o === 'object' && o !== null && 'apiVersion' in o && 'kind' in o,
    );
    expect(manifests.some((m) => m.apiVersion.startsWith('tollgate.dev/'))).toBe(true);
    const file = path.join(work, 'examples.yaml');
    await writeFile(file, manifests.map((m) => stringify(m)).join('---\n'));
    expect((await kubeconform(file)).filter((r) => r.status !== 'statusValid')).toEqual([]);
  });

  test('validates the manifests docs/install.md shows (other than Argo CD’s own kinds)', async () => {
    const doc = await readFile(path.join(repoRoot, 'docs/install.md'), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    const manifests = (await Promise.all(blocks.map(documentsOf)))
      .flat()
      .filter((o) => !String((o as { apiVersion?: string }).apiVersion).startsWith('argoproj.io/'));
    expect(manifests.map((m) => (m as { kind: string }).kind).sort()).toEqual(['ConfigMap', 'Route']);
    const file = path.join(work, 'docs.yaml');
    await writeFile(file, manifests.map((m) => stringify(m)).join('---\n'));
    expect((await kubeconform(file)).filter((r) => r.status !== 'statusValid')).toEqual([]);
  });

  test('rejects a misspelt field in a Route, naming its path', async () => {
    const file = path.join(work, 'misspelt-route.yaml');
    await writeFile(
      file,
      stringify({
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Route',
        metadata: { name: 'typo', namespace: 'demo' },
        spec: {
          rules: [
            { matches: [{ path: { type: 'PathPrefix', valu: '/x' } }], backendRefs: [{ url: 'http://a' }] },
          ],
        },
      }),
    );
    const [result] = await kubeconform(file);
    expect(result?.status).toBe('statusInvalid');
    expect(result?.msg).toContain(
      "at '/spec/rules/0/matches/0/path': additional properties 'valu' not allowed",
    );
  });
});

describe('kubectl apply --dry-run=server', () => {
  beforeAll(() => createRestrictedNamespace('tollgate-dryrun'));

  test.each(scenarios.map((s) => [s.name, s] as const))(
    'accepts the %s rendering without a warning (Pod Security "restricted" enforced)',
    async (name, scenario) => {
      const rendered = await helmTemplate(tools, {
        release: `dryrun-${name}`,
        namespace: 'tollgate-dryrun',
        valuesFiles: scenario.valuesFiles,
      });
      const result = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered });
      expect(result.stderr).toBe('');
      const applied = result.stdout.trim().split('\n');
      expect(applied).toHaveLength(parseManifests(rendered).length);
      for (const line of applied) expect(line).toMatch(/ created \(server dry run\)$/);
    },
    SLOW,
  );

  test('refuses a workload that breaks Pod Security "restricted" (the check above is live)', async () => {
    const rendered = await helmTemplate(tools, {
      release: 'dryrun-privileged',
      namespace: 'tollgate-dryrun',
      set: { 'dataplane.securityContext.allowPrivilegeEscalation': true },
    });
    const result = await cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered });
    expect(result.stderr).toMatch(
      /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
  });
});

describe('helm install, as docs/install.md says', () => {
  const NAMESPACE = 'tollgate-system';
  const controllerAccount = `system:serviceaccount:${NAMESPACE}:tollgate-controller`;
  const dataplaneAccount = `system:serviceaccount:${NAMESPACE}:tollgate-dataplane`;
  let install: Awaited<ReturnType<TestCluster['helm']>>;

  async function canI(user: string, args: readonly string[]): Promise<boolean> {
    const result = await cluster.kubectl(['auth', 'can-i', ...args, `--as=${user}`], { allowFailure: true });
    if (result.stdout.trim() !== 'yes' && result.stdout.trim() !== 'no') {
      throw new Error(`kubectl auth can-i ${args.join(' ')}: ${result.stdout}${result.stderr}`);
    }
    return result.stdout.trim() === 'yes';
  }

  async function canIAll(user: string, checks: ReadonlyArray<readonly string[]>): Promise<string[]> {
    const answers = await Promise.all(
      checks.map(async (c) => `${(await canI(user, c)) ? 'yes' : 'no '} ${c.join(' ')}`),
    );
    return answers;
  }

  beforeAll(async () => {
    install = await cluster.helm(['install', 'tollgate', chartDir, '-n', NAMESPACE, '--create-namespace'], {
      allowFailure: true,
    });
  }, SLOW);

  test('installs cleanly and prints how to reach the gateway and check the resources', () => {
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');
    expect(install.stdout).toContain('kubectl get service tollgate-dataplane -n tollgate-system');
    expect(install.stdout).toContain('kubectl get tollgate -A');
  });

  test('installs the CRDs, so `kubectl get tollgate -A` lists the Tollgate kinds', async () => {
    await cluster.kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      ...TOLLGATE_CRDS.map((c) => `crd/${c}`),
    ]);
    await cluster.kubectl(['create', 'namespace', 'demo']);
    await cluster.kubectl(['apply', '-f', '-'], {
      input: stringify({
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Route',
        metadata: { name: 'hello', namespace: 'demo' },
        spec: { rules: [{ backendRefs: [{ url: 'http://hello.demo:8080' }] }] },
      }),
    });
    const { stdout } = await cluster.kubectl(['get', 'tollgate', '-A']);
    expect(stdout).toMatch(/^demo\s+route\.tollgate\.dev\/hello\s/m);
  });

  test(
    'upgrades CRDs with kubectl apply --server-side --force-conflicts, then the release with helm upgrade',
    async () => {
      // A later chart version changes a CRD; Helm never touches CRDs again after the install.
      const [crd] = (await documentsOf(
        await readFile(path.join(chartDir, 'crds/tollgate.dev_routes.yaml'), 'utf8'),
      )) as Array<{
        spec: { versions: Array<{ schema: { openAPIV3Schema: { description: string } } }> };
      }>;
      crd!.spec.versions[0]!.schema.openAPIV3Schema.description = 'Route, as a later release describes it.';
      const upgraded = path.join(work, 'upgraded-crds');
      await mkdir(upgraded, { recursive: true });
      await writeFile(path.join(upgraded, 'tollgate.dev_routes.yaml'), stringify(crd));
      // Helm created the CRDs, so it owns their fields: without --force-conflicts the apply is refused.
      const refused = await cluster.kubectl(['apply', '--server-side', '-f', upgraded], {
        allowFailure: true,
      });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('conflict');
      await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', upgraded]);
      const { stdout } = await cluster.kubectl([
        'get',
        'crd/routes.tollgate.dev',
        '-o',
        'jsonpath={.spec.versions[0].schema.openAPIV3Schema.description}',
      ]);
      expect(stdout).toBe('Route, as a later release describes it.');
      // The documented command on the current CRDs: applies cleanly, again and again.
      for (let i = 0; i < 2; i++) {
        await cluster.kubectl([
          'apply',
          '--server-side',
          '--force-conflicts',
          '-f',
          path.join(chartDir, 'crds'),
        ]);
      }
      const upgrade = await cluster.helm(
        ['upgrade', 'tollgate', chartDir, '-n', NAMESPACE, '--set', 'dataplane.replicaCount=3'],
        { allowFailure: true },
      );
      expect(upgrade.stderr).toBe('');
      expect(upgrade.stdout).toContain('STATUS: deployed');
      const { stdout: replicas } = await cluster.kubectl([
        'get',
        'deployment/tollgate-dataplane',
        '-n',
        NAMESPACE,
        '-o',
        'jsonpath={.spec.replicas}',
      ]);
      expect(replicas).toBe('3');
    },
    SLOW,
  );

  test('lets the controller read what it translates, write status and Events, and hold its Lease', async () => {
    const checks = [
      ...['routes', 'aiproviders', 'consumers', 'policies'].flatMap((r) =>
        ['get', 'list', 'watch'].map((verb) => [verb, `${r}.tollgate.dev`, '-A']),
      ),
      ...['routes', 'aiproviders', 'consumers', 'policies'].map((r) => [
        'update',
        `${r}.tollgate.dev`,
        '--subresource=status',
        '-n',
        'demo',
      ]),
      ...['services', 'secrets', 'endpointslices.discovery.k8s.io'].flatMap((r) =>
        ['get', 'list', 'watch'].map((verb) => [verb, r, '-A']),
      ),
      ...['get', 'list', 'watch'].map((verb) => [verb, 'namespaces']),
      ['create', 'events', '-n', 'demo'],
      ['patch', 'events', '-n', 'demo'],
      ['create', 'events.events.k8s.io', '-n', 'demo'],
      ['patch', 'events.events.k8s.io', '-n', 'demo'],
      ['create', 'leases.coordination.k8s.io', '-n', NAMESPACE],
      ['get', 'leases.coordination.k8s.io/tollgate-controller', '-n', NAMESPACE],
      ['update', 'leases.coordination.k8s.io/tollgate-controller', '-n', NAMESPACE],
      // Replica reports: replicaCount (2) + 2 slots.
      ['get', 'leases.coordination.k8s.io/tollgate-controller-replica-0', '-n', NAMESPACE],
      ['update', 'leases.coordination.k8s.io/tollgate-controller-replica-3', '-n', NAMESPACE],
      ['delete', 'leases.coordination.k8s.io/tollgate-controller-replica-3', '-n', NAMESPACE],
    ];
    const answers = await canIAll(controllerAccount, checks);
    expect(answers.filter((a) => !a.startsWith('yes'))).toEqual([]);
  });

  test('forbids the controller everything else it might be tricked into', async () => {
    const checks = [
      ['create', 'secrets', '-n', 'demo'],
      ['update', 'secrets', '-n', 'demo'],
      ['delete', 'secrets', '-n', 'demo'],
      ['create', 'deployments.apps', '-n', NAMESPACE],
      ['create', 'pods', '-n', NAMESPACE],
      ['list', 'pods', '-A'],
      ['get', 'configmaps', '-n', NAMESPACE],
      ['create', 'routes.tollgate.dev', '-n', 'demo'],
      ['update', 'routes.tollgate.dev', '-n', 'demo'],
      ['delete', 'routes.tollgate.dev', '-n', 'demo'],
      ['delete', 'services', '-n', 'demo'],
      ['update', 'endpointslices.discovery.k8s.io', '-n', 'demo'],
      ['delete', 'events', '-n', 'demo'],
      ['delete', 'namespaces'],
      ['update', 'leases.coordination.k8s.io/some-other-lease', '-n', NAMESPACE],
      ['update', 'leases.coordination.k8s.io/tollgate-controller-replica-4', '-n', NAMESPACE],
      ['list', 'leases.coordination.k8s.io', '-n', NAMESPACE],
      ['delete', 'leases.coordination.k8s.io/tollgate-controller', '-n', NAMESPACE],
      ['create', 'leases.coordination.k8s.io', '-n', 'demo'],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['bind', 'clusterroles.rbac.authorization.k8s.io'],
      ['escalate', 'roles.rbac.authorization.k8s.io', '-n', NAMESPACE],
      ['impersonate', 'serviceaccounts', '-n', NAMESPACE],
      ['create', 'serviceaccounts/token', '-n', NAMESPACE],
    ];
    const answers = await canIAll(controllerAccount, checks);
    expect(answers.filter((a) => !a.startsWith('no'))).toEqual([]);
  });

  test('gives the data plane no permission at all', async () => {
    // Exactly what any authenticated identity may do (discovery, asking who it is and what it may
    // do): the same list as a ServiceAccount nothing is bound to.
    await cluster.kubectl(['create', 'serviceaccount', 'nobody', '-n', NAMESPACE]);
    const list = async (user: string): Promise<string> =>
      (await cluster.kubectl(['auth', 'can-i', '--list', `--as=${user}`, '-n', NAMESPACE])).stdout;
    expect(await list(dataplaneAccount)).toBe(await list(`system:serviceaccount:${NAMESPACE}:nobody`));
    const answers = await canIAll(dataplaneAccount, [
      ['get', 'secrets', '-n', NAMESPACE],
      ['list', 'routes.tollgate.dev', '-A'],
      ['get', 'services', '-n', NAMESPACE],
      ['create', 'events', '-n', NAMESPACE],
      ['get', 'leases.coordination.k8s.io/tollgate-controller', '-n', NAMESPACE],
    ]);
    expect(answers.filter((a) => !a.startsWith('no'))).toEqual([]);
  });

  test('the ServiceAccounts’ own tokens get exactly those permissions', async () => {
    const controller = await serviceAccountKubeconfig(
      cluster,
      NAMESPACE,
      'tollgate-controller',
      path.join(work, 'controller.kubeconfig'),
    );
    const dataplane = await serviceAccountKubeconfig(
      cluster,
      NAMESPACE,
      'tollgate-dataplane',
      path.join(work, 'dataplane.kubeconfig'),
    );
    const as = (kubeconfig: string, args: string[]) =>
      run(tools.kubectl, ['--kubeconfig', kubeconfig, ...args], {
        allowFailure: true,
        env: { KUBECACHEDIR: path.join(work, 'kube-cache') },
      });
    const routes = await as(controller, ['get', 'routes.tollgate.dev', '-A', '-o', 'name']);
    expect(routes.stdout.trim()).toBe('route.tollgate.dev/hello');
    expect((await as(controller, ['get', 'secrets', '-A'])).code).toBe(0);
    const forbidden = await as(controller, ['delete', 'route.tollgate.dev/hello', '-n', 'demo']);
    expect(forbidden.stderr).toContain('Forbidden');
    const denied = await as(dataplane, ['get', 'routes.tollgate.dev', '-A']);
    expect(denied.stderr).toContain('Forbidden');
  });

  test(
    'the controller runs with the installed Deployment’s arguments and its ServiceAccount’s token',
    async () => {
      // Exactly what the pod would run, listening on loopback instead of the pod's address.
      const deployment = JSON.parse(
        (await cluster.kubectl(['get', 'deployment/tollgate-controller', '-n', NAMESPACE, '-o', 'json']))
          .stdout,
      ) as {
        spec: {
          template: {
            spec: { containers: Array<{ args: string[]; env: Array<{ name: string; value?: string }> }> };
          };
        };
      };
      const container = deployment.spec.template.spec.containers[0]!;
      await cluster.kubectl(['create', 'namespace', 'installed-check']);
      await cluster.kubectl(['apply', '-f', '-'], {
        input: stringify({
          apiVersion: 'tollgate.dev/v1alpha1',
          kind: 'Route',
          metadata: { name: 'installed', namespace: 'installed-check' },
          spec: {
            hostnames: ['installed.example'],
            rules: [{ backendRefs: [{ url: 'http://installed.example:8080' }] }],
          },
        }),
      });
      const [grpc, admin] = await Promise.all([freePort(), freePort()]);
      const args = container.args.map((arg) => {
        if (arg.startsWith('--grpc=')) return `--grpc=127.0.0.1:${grpc}`;
        if (arg.startsWith('--admin=')) return `--admin=127.0.0.1:${admin}`;
        return arg;
      });
      const env = Object.fromEntries(
        container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
      );
      const kubeconfig = await serviceAccountKubeconfig(
        cluster,
        NAMESPACE,
        'tollgate-controller',
        path.join(work, 'controller-pod.kubeconfig'),
      );
      const controller = startProcess(
        process.execPath,
        [path.join(repoRoot, 'controller/src/main.ts'), ...args],
        {
          name: 'controller-as-installed',
          cwd: repoRoot,
          env: {
            ...env,
            POD_NAME: 'tollgate-controller-test',
            POD_NAMESPACE: NAMESPACE,
            KUBECONFIG: kubeconfig,
          },
        },
      );
      interface Status {
        objects: Array<{
          ref: { kind: string; name: string };
          conditions: Array<{ type: string; status: string }>;
        }>;
      }
      try {
        const status = await waitFor(
          async () => {
            const response = await fetch(`http://127.0.0.1:${admin}/status`);
            if (!response.ok) return undefined;
            const body = (await response.json()) as Status;
            return body.objects.some((o) => o.ref.name === 'installed') ? body : undefined;
          },
          { what: 'the controller to translate the Route', timeoutMs: 30_000 },
        );
        const route = status.objects.find((o) => o.ref.kind === 'Route' && o.ref.name === 'installed');
        expect(route?.conditions).toContainEqual(
          expect.objectContaining({ type: 'Accepted', status: 'True' }),
        );
        // It takes the Lease the chart's Role allows it (no other controller runs against this cluster).
        const holder = await waitFor(
          async () => {
            const lease = await cluster.kubectl(
              ['get', 'lease/tollgate-controller', '-n', NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}'],
              { allowFailure: true },
            );
            return lease.stdout || undefined;
          },
          { what: 'the controller to take its Lease', timeoutMs: 30_000 },
        );
        expect(holder).not.toBe('');
        expect(controller.output()).not.toMatch(/forbidden/i);
      } catch (error) {
        throw new Error(
          `${(error as Error).message}\n--- controller output:\n${controller.output().slice(-4000)}`,
        );
      } finally {
        await controller.stop();
      }
    },
    SLOW,
  );

  test(
    'with watchNamespaces, the controller reads only the watched namespaces',
    async () => {
      const scoped = await cluster.helm(
        [
          'install',
          'scoped',
          chartDir,
          '-n',
          'tollgate-scoped',
          '--create-namespace',
          '-f',
          path.join(chartDir, 'ci/watch-namespaces-values.yaml'),
        ],
        { allowFailure: true },
      );
      expect(scoped.stderr).toBe('');
      expect(scoped.code).toBe(0);
      const account = 'system:serviceaccount:tollgate-scoped:scoped-tollgate-controller';
      const answers = await canIAll(account, [
        ['list', 'routes.tollgate.dev', '-n', 'team-a'],
        ['watch', 'secrets', '-n', 'team-b'],
        ['update', 'policies.tollgate.dev', '--subresource=status', '-n', 'team-a'],
        ['get', 'namespaces/team-a'],
        ['create', 'leases.coordination.k8s.io', '-n', 'tollgate-scoped'],
        ['update', 'leases.coordination.k8s.io/tollgate-leader', '-n', 'tollgate-scoped'],
        ['list', 'routes.tollgate.dev', '-n', 'team-c'],
        ['list', 'routes.tollgate.dev', '-A'],
        ['get', 'secrets', '-n', 'team-c'],
        ['get', 'namespaces/team-c'],
        ['list', 'namespaces'],
      ]);
      expect(answers).toEqual([
        'yes list routes.tollgate.dev -n team-a',
        'yes watch secrets -n team-b',
        'yes update policies.tollgate.dev --subresource=status -n team-a',
        'yes get namespaces/team-a',
        'yes create leases.coordination.k8s.io -n tollgate-scoped',
        'yes update leases.coordination.k8s.io/tollgate-leader -n tollgate-scoped',
        'no  list routes.tollgate.dev -n team-c',
        'no  list routes.tollgate.dev -A',
        'no  get secrets -n team-c',
        'no  get namespaces/team-c',
        'no  list namespaces',
      ]);
    },
    SLOW,
  );
});
