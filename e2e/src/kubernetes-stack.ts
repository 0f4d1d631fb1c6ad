// The controller against a real API server: a controller process with the Kubernetes source and a
// data-plane process, connected over real gRPC on ephemeral loopback ports, driven by kubectl.
// The cluster (startKubeCluster) belongs to the test file; this starts and stops the processes.
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type KubeCluster, type StartedProcess, startProcess, waitFor } from '@tollgate/testkit';
import { startDataplaneProcess } from './dataplane-process.ts';

const root = path.resolve(import.meta.dirname, '../..');

export interface KubernetesControllerOptions {
  /** Credentials of the controller; the cluster admin's by default. */
  kubeconfig: string;
  namespaces?: string[];
  grpcPort?: number;
  adminPort?: number;
  name?: string;
}

export interface KubernetesController {
  process: StartedProcess;
  adminUrl: string;
  grpcPort: number;
}

/** Starts `tollgate-controller serve --source kubernetes`; resolves once it has synced and published. */
export async function startKubernetesController(
  options: KubernetesControllerOptions,
): Promise<KubernetesController> {
  const grpcPort = options.grpcPort ?? (await freePort());
  const adminPort = options.adminPort ?? (await freePort());
  const args = [
    path.join(root, 'controller/src/main.ts'),
    'serve',
    '--source',
    'kubernetes',
    '--kubeconfig',
    options.kubeconfig,
    '--grpc',
    `127.0.0.1:${grpcPort}`,
    '--admin',
    `127.0.0.1:${adminPort}`,
  ];
  if (options.namespaces?.length) args.push('--namespaces', options.namespaces.join(','));
  const process = startProcess(globalThis.process.execPath, args, {
    name: options.name ?? 'controller',
    cwd: root,
    // The developer's own cluster must never leak into a test.
    env: { KUBECONFIG: '' },
  });
  await process.waitForOutput(/controller ready/, 60_000);
  return { process, adminUrl: `http://127.0.0.1:${adminPort}`, grpcPort };
}

export interface KubernetesStack {
  cluster: KubeCluster;
  gatewayUrl: string;
  controllerAdminUrl: string;
  dataplaneAdminUrl: string;
  controller: StartedProcess;
  dataplane: StartedProcess;
  /** `kubectl apply -f -` with this YAML; resolves once the API server has stored it. */
  apply(yaml: string): Promise<void>;
  /** Starts the controller again (same ports) after the test stopped it. */
  startController(): Promise<StartedProcess>;
  stop(): Promise<void>;
}

export async function startKubernetesStack(cluster: KubeCluster): Promise<KubernetesStack> {
  const [grpcPort, controllerAdminPort, gatewayPort, dataplaneAdminPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const startController = async (): Promise<StartedProcess> =>
    (
      await startKubernetesController({
        kubeconfig: cluster.kubeconfig,
        grpcPort,
        adminPort: controllerAdminPort,
      })
    ).process;

  const controller = await startController();
  const dataplaneAdminUrl = `http://127.0.0.1:${dataplaneAdminPort}`;
  const dataplane = await startDataplaneProcess({ gatewayPort, adminPort: dataplaneAdminPort, grpcPort });

  const stack: KubernetesStack = {
    cluster,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    controllerAdminUrl: `http://127.0.0.1:${controllerAdminPort}`,
    dataplaneAdminUrl,
    controller,
    dataplane,
    apply: async (yaml) => {
      await cluster.kubectlOk(['apply', '-f', '-'], { input: yaml });
    },
    startController: async () => {
      stack.controller = await startController();
      return stack.controller;
    },
    stop: async () => {
      await Promise.all([stack.controller.stop(), stack.dataplane.stop()]);
    },
  };
  return stack;
}

/**
 * Kills the cluster's kube-apiserver and starts it again with the same flags, port and etcd, as
 * after a crash. Resolves once it is ready again; `whileDown` runs in between. The new process is
 * recorded in the cluster's pid file, so the cluster's stop() ends it.
 */
export async function restartApiServer(cluster: KubeCluster, whileDown?: () => Promise<void>): Promise<void> {
  const pidFile = path.join(cluster.dir, 'pids');
  const pids = readFileSync(pidFile, 'utf8').trim().split('\n');
  const apiserverPid = Number(pids[1]);
  const argv = readFileSync(`/proc/${apiserverPid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  // Killed, as a crash or an OOM kill would: connections drop without a goodbye.
  process.kill(apiserverPid, 'SIGKILL');
  await waitFor(() => !isRunning(apiserverPid), { what: 'kube-apiserver to exit', timeoutMs: 15_000 });
  await whileDown?.();
  const log = openSync(path.join(cluster.dir, 'kube-apiserver.log'), 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile, `${pids[0]}\n${child.pid}\n`);
  await waitFor(
    async () => {
      const result = await cluster.kubectl(['get', '--raw', '/readyz'], { timeoutMs: 5_000 });
      if (result.stdout.trim() === 'ok') return true;
      await sleep(200);
      return false;
    },
    { what: 'kube-apiserver ready again', timeoutMs: 120_000 },
  );
}

/** Alive and not a zombie (an orphan is reaped by whoever init is, possibly late). */
function isRunning(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
