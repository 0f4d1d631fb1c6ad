// Where the controller finds the API server and its credentials: an explicit kubeconfig file,
// else $KUBECONFIG, else the Pod's service account (in-cluster), else ~/.kube/config.
import { KubeConfig } from '@kubernetes/client-node';

/** `kubeconfig`: a kubeconfig file (`--kubeconfig`); its current context is used. */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (kubeconfig) kubeConfig.loadFromFile(kubeconfig);
  else if (process.env.KUBECONFIG) kubeConfig.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromDefault();
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes API server configured: run in a Pod, or pass --kubeconfig (or set KUBECONFIG)',
    );
  }
  return kubeConfig;
}
