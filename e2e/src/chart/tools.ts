// The real Kubernetes binaries (kube-apiserver, etcd, kubectl, helm, kubeconform), built from Go
// modules and cached by e2e/k8s/provision.sh. Only the first run on a machine builds them (minutes);
// afterwards provision.sh just prints the bin directory.
import path from 'node:path';
import { run } from './exec.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');

export interface K8sTools {
  binDir: string;
  helm: string;
  kubectl: string;
  kubeconform: string;
}

let provisioned: Promise<K8sTools> | undefined;

/** Runs provision.sh once per process and returns the tool paths. */
export function provisionK8sTools(): Promise<K8sTools> {
  provisioned ??= (async () => {
    const started = Date.now();
    const { stdout } = await run(path.join(repoRoot, 'e2e/k8s/provision.sh'), [], {
      // A first build takes minutes: show its progress instead of a silent wait.
      onStderr: (chunk) => {
        if (Date.now() - started > 5_000) process.stderr.write(chunk);
      },
    });
    const binDir = stdout.trim().split('\n').at(-1);
    if (!binDir) throw new Error('e2e/k8s/provision.sh printed no bin directory');
    return {
      binDir,
      helm: path.join(binDir, 'helm'),
      kubectl: path.join(binDir, 'kubectl'),
      kubeconform: path.join(binDir, 'kubeconform'),
    };
  })();
  return provisioned;
}
