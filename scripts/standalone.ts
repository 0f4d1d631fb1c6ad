// `make up`: Tollgate in standalone mode on one machine. Starts the example backends, the
// controller (file source on examples/standalone/) and one data plane, as separate processes
// talking real gRPC, then prints where to send traffic. Ctrl-C stops everything.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = path.resolve(import.meta.dirname, '..');
const env = (name: string, fallback: string): string => process.env[name] ?? fallback;
const gatewayPort = env('TOLLGATE_PORT', '8080');
const dataplaneAdmin = env('TOLLGATE_DATAPLANE_ADMIN_PORT', '9901');
const controllerAdmin = env('TOLLGATE_CONTROLLER_ADMIN_PORT', '9902');
const grpcPort = env('TOLLGATE_GRPC_PORT', '18000');
const configDir = path.resolve(env('TOLLGATE_CONFIG_DIR', path.join(root, 'examples/standalone')));
const logDir = path.join(root, '.tollgate/logs');
mkdirSync(logDir, { recursive: true });

const children: Array<{ name: string; child: ChildProcess }> = [];

function start(name: string, script: string, args: string[]): void {
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'w' });
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TOLLGATE_LOG_LEVEL: process.env.TOLLGATE_LOG_LEVEL ?? 'info' },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      process.stderr.write(
        `${name} exited (${code ?? signal}); see ${path.relative(root, log.path as string)}\n`,
      );
      void stopAll(1);
    }
  });
  children.push({ name, child });
}

let stopping = false;
async function stopAll(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(({ child }) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((r) => child.once('exit', r)),
    ),
  );
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

async function waitReady(url: string, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  process.stderr.write(
    `${what} did not become ready at ${url}; logs are in ${path.relative(root, logDir)}/\n`,
  );
  await stopAll(1);
}

start('backend-blue', 'examples/backend/server.ts', ['--name', 'blue', '--port', '9081']);
start('backend-green', 'examples/backend/server.ts', ['--name', 'green', '--port', '9082']);
start('mock-llm', 'examples/backend/server.ts', ['--name', 'mock-llm', '--port', '9083', '--mode', 'llm']);
start('controller', 'controller/src/main.ts', [
  'serve',
  '--dir',
  configDir,
  '--grpc',
  `127.0.0.1:${grpcPort}`,
  '--admin',
  `127.0.0.1:${controllerAdmin}`,
]);
start('dataplane', 'dataplane/src/main.ts', [
  '--listen',
  `127.0.0.1:${gatewayPort}`,
  '--admin',
  `127.0.0.1:${dataplaneAdmin}`,
  '--controller',
  `127.0.0.1:${grpcPort}`,
  '--node-id',
  'standalone-0',
]);

await waitReady(`http://127.0.0.1:${controllerAdmin}/readyz`, 'the controller');
await waitReady(`http://127.0.0.1:${dataplaneAdmin}/readyz`, 'the data plane');

const gw = `http://127.0.0.1:${gatewayPort}`;
process.stdout.write(`
Tollgate is running in standalone mode (manifests: ${path.relative(root, configDir) || configDir}).

Try it:
  curl -s ${gw}/echo/hello
  curl -s ${gw}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"mock-model","messages":[{"role":"user","content":"Hello"}]}'

Also:
  curl -s -H 'host: shop.example.com' ${gw}/orders    # a 90/10 canary between two backends
  make status                                    # conditions of every object, like kubectl get
  curl -s http://127.0.0.1:${dataplaneAdmin}/metrics   # also /readyz and /config_dump
Edit ${path.relative(root, configDir)}/*.yaml and the change is served within a second.
Logs: ${path.relative(root, logDir)}/   Stop: Ctrl-C
`);
