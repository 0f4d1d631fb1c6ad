// A real control plane for the chart checks: etcd + kube-apiserver on loopback, started by
// e2e/k8s/start-cluster.sh (RBAC on, no nodes, so pods never run) and always stopped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RunOptions, type RunResult, run } from './exec.ts';
import { type K8sTools, repoRoot } from './tools.ts';

export interface TestCluster {
  dir: string;
  kubeconfig: string;
  /** kubectl against this cluster as the admin (system:masters). Throws on a non-zero exit. */
  kubectl(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** helm against this cluster. */
  helm(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startTestCluster(tools: K8sTools): Promise<TestCluster> {
  const base = await mkdtemp(path.join(tmpdir(), 'tollgate-chart-'));
  const dir = path.join(base, 'cluster');
  const stop = async (): Promise<void> => {
    await run(path.join(repoRoot, 'e2e/k8s/stop-cluster.sh'), [dir], { allowFailure: true });
    await rm(base, { recursive: true, force: true });
  };
  const env = { K8S_BIN_DIR: tools.binDir };
  let stdout: string;
  try {
    ({ stdout } = await run(path.join(repoRoot, 'e2e/k8s/start-cluster.sh'), [dir], { env }));
  } catch (error) {
    // start-cluster.sh stops what it started when it fails; remove what is left.
    await stop();
    throw error;
  }
  const kubeconfig = stdout.trim().split('\n').at(-1)!;
  // Own discovery cache: kubectl's default one outlives clusters and ignores CRDs added since.
  const clusterEnv = {
    KUBECONFIG: kubeconfig,
    KUBECACHEDIR: path.join(base, 'kube-cache'),
    HELM_CACHE_HOME: path.join(base, 'helm-cache'),
  };
  return {
    dir,
    kubeconfig,
    kubectl: (args, options = {}) =>
      run(tools.kubectl, args, { ...options, env: { ...clusterEnv, ...options.env } }),
    helm: (args, options = {}) =>
      run(tools.helm, args, {
        ...options,
        env: {
          ...clusterEnv,
          HELM_CONFIG_HOME: path.join(base, 'helm-config'),
          HELM_DATA_HOME: path.join(base, 'helm-data'),
          ...options.env,
        },
      }),
    stop,
  };
}
