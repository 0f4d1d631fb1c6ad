// A pod of an installed Deployment, started as the kubelet would start it on a machine without
// nodes: the image's entrypoint (`node <component>/src/main.ts`, see the Dockerfiles) with the
// container's arguments and environment as the API server stores them, the downward-API fields
// filled in. Tests override only what a laptop needs (ports, the kubeconfig, a Service's address).
import path from 'node:path';
import { type StartedProcess, startProcess } from '@tollgate/testkit';

const root = path.resolve(import.meta.dirname, '../../..');

export interface InstalledContainer {
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name: string; containerPort: number }>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}

export interface InstalledDeployment {
  metadata: { name: string; namespace: string };
  spec: {
    template: { metadata: { labels: Record<string, string> }; spec: { containers: InstalledContainer[] } };
  };
}

export interface InstalledPodOptions {
  /** Replaces environment variables (and adds some: KUBECONFIG). */
  env?: Record<string, string>;
  /** Rewrites each argument (e.g. a listen address to a free port). */
  mapArg?: (arg: string) => string;
}

export interface InstalledPod {
  process: StartedProcess;
  /** The container's environment as started (after overrides). */
  env: Record<string, string>;
}

export function startInstalledPod(
  component: 'controller' | 'dataplane',
  deployment: InstalledDeployment,
  options: InstalledPodOptions = {},
): InstalledPod {
  const container = deployment.spec.template.spec.containers[0]!;
  const pod = `${deployment.metadata.name}-7d9f8c6b5-x2x4k`;
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    const field = variable.valueFrom?.fieldRef?.fieldPath;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (field === 'metadata.name') env[variable.name] = pod;
    else if (field === 'metadata.namespace') env[variable.name] = deployment.metadata.namespace;
  }
  Object.assign(env, options.env);
  const args = (container.args ?? []).map(options.mapArg ?? ((arg) => arg));
  const process = startProcess(
    globalThis.process.execPath,
    [path.join(root, `${component}/src/main.ts`), ...args],
    {
      name: pod,
      cwd: root,
      // The developer's own cluster must never leak in.
      env: { KUBECONFIG: '', ...env },
    },
  );
  return { process, env };
}

/** The container port a readiness probe (or a Service's targetPort) names. */
export function containerPort(container: InstalledContainer, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = container.ports?.find((p) => p.name === port)?.containerPort;
  if (found === undefined) throw new Error(`the container has no port named "${port}"`);
  return found;
}
