// One real Kubernetes control plane per journey file: kube-apiserver + etcd, the CRDs installed,
// the controller (Kubernetes source, leader, status writer) and a data plane as local processes.
// What a user would look at is read the way a user reads it: kubectl's own printed tables and the
// objects' status as the API server stores it.
import { type KubeCluster, startKubeCluster, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { type KubernetesStack, startKubernetesStack } from '../kubernetes-stack.ts';

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

export interface JourneyCluster {
  cluster: KubeCluster;
  stack: KubernetesStack;
  /** `kubectl apply -f -`. */
  apply(yaml: string): Promise<void>;
  /** The rows of a `kubectl get` table, keyed by the printed column headers. */
  table(args: string[]): Promise<Array<Record<string, string>>>;
  /** The object's status.conditions as stored in the API server. */
  conditions(kind: string, namespace: string, name: string): Promise<Condition[]>;
  /** Waits until the stored condition satisfies `accept` (bounded) and returns it. */
  waitForCondition(
    kind: string,
    namespace: string,
    name: string,
    type: string,
    accept: (condition: Condition) => boolean,
  ): Promise<Condition>;
  /** Waits until every target of a Policy reports Accepted=True in status.ancestors (GEP-713). */
  waitForPolicyAccepted(namespace: string, name: string): Promise<void>;
  /** A data-plane admin endpoint, as JSON. */
  dataplaneAdmin<T>(pathname: string): Promise<T>;
  /** The data plane's Prometheus exposition. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startJourneyCluster(namespaces: string[]): Promise<JourneyCluster> {
  const cluster = await startKubeCluster();
  let stack: KubernetesStack | undefined;
  try {
    await cluster.installCrds();
    for (const namespace of namespaces) {
      if (namespace !== 'default') await cluster.kubectlOk(['create', 'namespace', namespace]);
    }
    stack = await startKubernetesStack(cluster);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const started = stack;
  const conditions = async (kind: string, namespace: string, name: string): Promise<Condition[]> => {
    const result = await cluster.kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
    if (result.code !== 0) return [];
    const object = JSON.parse(result.stdout) as { status?: { conditions?: Condition[] } };
    return object.status?.conditions ?? [];
  };
  return {
    cluster,
    stack: started,
    apply: (yaml) => started.apply(yaml),
    table: async (args) => parseTable(await cluster.kubectlOk(['get', ...args])),
    conditions,
    waitForCondition: async (kind, namespace, name, type, accept) => {
      let seen: Condition[] = [];
      try {
        return await waitFor(
          async () => {
            seen = await conditions(kind, namespace, name);
            const found = seen.find((c) => c.type === type);
            return found && accept(found) ? found : undefined;
          },
          { what: `${kind} ${namespace}/${name} condition ${type}`, timeoutMs: 20_000, intervalMs: 200 },
        );
      } catch (error) {
        throw new Error(`${(error as Error).message}; conditions seen: ${JSON.stringify(seen)}`);
      }
    },
    waitForPolicyAccepted: async (namespace, name) => {
      let seen = '';
      await waitFor(
        async () => {
          const result = await cluster.kubectl(['get', 'policy', name, '-n', namespace, '-o', 'json']);
          if (result.code !== 0) return false;
          const policy = JSON.parse(result.stdout) as {
            metadata: { generation: number };
            status?: { ancestors?: Array<{ conditions: Condition[] }> };
          };
          const ancestors = policy.status?.ancestors ?? [];
          seen = JSON.stringify(ancestors);
          return (
            ancestors.length > 0 &&
            ancestors.every((a) =>
              a.conditions.some(
                (c) =>
                  c.type === 'Accepted' &&
                  c.status === 'True' &&
                  c.observedGeneration === policy.metadata.generation,
              ),
            )
          );
        },
        { what: `Policy ${namespace}/${name} accepted by its targets`, timeoutMs: 20_000, intervalMs: 200 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; ancestors seen: ${seen}`);
      });
    },
    dataplaneAdmin: async <T>(pathname: string) =>
      (await (await request(`${started.dataplaneAdminUrl}${pathname}`)).body.json()) as T,
    metrics: async () => (await request(`${started.dataplaneAdminUrl}/metrics`)).body.text(),
    stop: async () => {
      await started.stop();
      await cluster.stop();
    },
  };
}

/** kubectl's default table: a header line, columns aligned on the header's word starts. */
export function parseTable(output: string): Array<Record<string, string>> {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0];
  if (!header) return [];
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines
    .slice(1)
    .map((line) =>
      Object.fromEntries(
        starts.map((column, i) => [
          column.name,
          line.slice(column.at, starts[i + 1]?.at ?? line.length).trim(),
        ]),
      ),
    );
}
