// The chart's own RBAC on a test cluster, and credentials of its ServiceAccounts: so a test can run
// the controller with exactly the permissions the chart grants it, and missing or excess
// permissions fail.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { TestCluster } from './cluster.ts';
import { helmTemplate, type K8sObject, parseManifests, type RenderOptions } from './helm.ts';
import type { K8sTools } from './tools.ts';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export interface ChartRbac {
  namespace: string;
  controllerServiceAccount: string;
  dataplaneServiceAccount: string;
  /** The RBAC objects applied (ServiceAccounts, Roles, bindings). */
  objects: K8sObject[];
}

/**
 * Renders the chart and applies only its ServiceAccounts and RBAC objects (the workloads would
 * never run on a cluster without nodes). Creates the release namespace if needed.
 */
export async function applyChartRbac(
  tools: K8sTools,
  cluster: Pick<TestCluster, 'kubectl'>,
  options: RenderOptions & { namespace: string },
): Promise<ChartRbac> {
  const objects = parseManifests(await helmTemplate(tools, options)).filter((o) => RBAC_KINDS.has(o.kind));
  const namespaces = new Set([options.namespace, ...objects.flatMap((o) => o.metadata.namespace ?? [])]);
  for (const namespace of namespaces) {
    const { stdout } = await cluster.kubectl([
      'create',
      'namespace',
      namespace,
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await cluster.kubectl(['apply', '-f', '-'], { input: stdout });
  }
  await cluster.kubectl(['apply', '-f', '-'], { input: objects.map((o) => stringify(o)).join('---\n') });
  const serviceAccount = (component: string): string => {
    const found = objects.find(
      (o) => o.kind === 'ServiceAccount' && o.metadata.labels?.['app.kubernetes.io/component'] === component,
    );
    if (!found) throw new Error(`the chart rendered no ServiceAccount for the ${component}`);
    return found.metadata.name;
  };
  return {
    namespace: options.namespace,
    controllerServiceAccount: serviceAccount('controller'),
    dataplaneServiceAccount: serviceAccount('dataplane'),
    objects,
  };
}

/**
 * Writes a kubeconfig that authenticates as a ServiceAccount with a short-lived token from the
 * TokenRequest API (what a pod's projected token would be), and returns its path.
 */
export async function serviceAccountKubeconfig(
  cluster: Pick<TestCluster, 'kubectl' | 'kubeconfig'>,
  namespace: string,
  serviceAccount: string,
  file: string,
): Promise<string> {
  const { stdout: token } = await cluster.kubectl([
    'create',
    'token',
    serviceAccount,
    '--namespace',
    namespace,
    '--duration=2h',
  ]);
  const { stdout: view } = await cluster.kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']);
  const admin = JSON.parse(view) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }> };
  const clusterEntry = admin.clusters[0]!;
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [clusterEntry],
      users: [{ name: user, user: { token: token.trim() } }],
      contexts: [{ name: user, context: { cluster: clusterEntry.name, user, namespace } }],
      'current-context': user,
    }),
    { mode: 0o600 },
  );
  return file;
}
