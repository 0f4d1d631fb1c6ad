export type { BackoffOptions } from './backoff.ts';
export { loadKubeConfig } from './kubeconfig.ts';
export { KubernetesSource, type KubernetesSourceOptions } from './kubernetes-source.ts';
