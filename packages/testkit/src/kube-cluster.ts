// A real Kubernetes control plane (etcd + kube-apiserver, no nodes) for tests, started from the
// binaries e2e/k8s/provision.sh builds and caches. One per test file: start in beforeAll, stop in
// afterAll (the stop also runs at process exit, so a crashed test leaves nothing behind).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const repoRoot = path.resolve(import.meta.dirname, '../../..');
const k8sScripts = path.join(repoRoot, 'e2e/k8s');

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface KubeCluster {
  dir: string;
  kubeconfig: string;
  /** https://127.0.0.1:<port> */
  server: string;
  binDir: string;
  /** Runs kubectl against this cluster; never throws on a non-zero exit (check `code`). */
  kubectl(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<CommandResult>;
  /** Like kubectl, but throws with kubectl's stderr when it fails. */
  kubectlOk(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<string>;
  /** Installs crds/*.yaml (server-side apply) and waits until they are Established. */
  installCrds(): Promise<void>;
  stop(): Promise<void>;
}

let binDirPromise: Promise<string> | undefined;

/** Builds (first run only, minutes) or finds the cached binaries; resolves with their directory. */
export function provisionKubeBinaries(): Promise<string> {
  binDirPromise ??= execFileAsync(path.join(k8sScripts, 'provision.sh'), [], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 60 * 60 * 1000,
  }).then(({ stdout }) => stdout.trim().split('\n').at(-1)!);
  return binDirPromise;
}

function run(
  binary: string,
  args: string[],
  input: string | undefined,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
) {
  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? -1 });
    });
    // A command that exits without reading its input must not fail the run with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

const liveClusters = new Set<string>();
process.on('exit', () => {
  for (const dir of liveClusters) {
    try {
      execFileSync(path.join(k8sScripts, 'stop-cluster.sh'), [dir, '--rm'], { stdio: 'ignore' });
    } catch {
      // best effort at exit
    }
  }
});

export async function startKubeCluster(options: { apiserverArgs?: string[] } = {}): Promise<KubeCluster> {
  const binDir = await provisionKubeBinaries();
  const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-kube-'));
  const { stdout } = await execFileAsync(path.join(k8sScripts, 'start-cluster.sh'), [dir], {
    env: {
      ...process.env,
      K8S_BIN_DIR: binDir,
      APISERVER_EXTRA_ARGS: (options.apiserverArgs ?? []).join(' '),
    },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 5 * 60 * 1000,
  });
  liveClusters.add(dir);
  const kubeconfig = stdout.trim().split('\n').at(-1)!;
  const server = /server:\s*(\S+)/.exec(readFileSync(kubeconfig, 'utf8'))?.[1] ?? '';
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const kubectl: KubeCluster['kubectl'] = (args, opts = {}) =>
    run(path.join(binDir, 'kubectl'), args, opts.input, opts.timeoutMs ?? 60_000, env);
  const kubectlOk: KubeCluster['kubectlOk'] = async (args, opts) => {
    const result = await kubectl(args, opts);
    if (result.code !== 0)
      throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  };
  return {
    dir,
    kubeconfig,
    server,
    binDir,
    kubectl,
    kubectlOk,
    async installCrds() {
      await kubectlOk(['apply', '--server-side', '-f', path.join(repoRoot, 'crds')]);
      await kubectlOk([
        'wait',
        '--for=condition=Established',
        '--timeout=60s',
        '-f',
        path.join(repoRoot, 'crds'),
      ]);
    },
    async stop() {
      liveClusters.delete(dir);
      await execFileAsync(path.join(k8sScripts, 'stop-cluster.sh'), [dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
