// The systems under test: how each is installed, configured and started. Every one listens on
// loopback, runs pinned to the proxy core, and is reached at `base` with the same paths.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { httpOk, type Proc, startPinned, waitUntil } from './procs.ts';

export interface Target {
  readonly name: string;
  readonly base: string;
  /** The processes whose memory is the proxy's (the data plane, not the controller). */
  readonly rssPids: number[];
  /** Extra request headers this target needs for the AI workloads. */
  readonly aiHeaders?: Record<string, string>;
  /** Measured on the AI workloads only. */
  readonly aiOnly?: boolean;
}

export interface Env {
  readonly work: string;
  readonly core: number;
  readonly upstreamPort: number;
}

export const JSON_PATH = '/api/svc-0500/items';
export const CHAT_PATH = '/v1/chat/completions';
export const MODEL = 'bench-model';

const root = path.resolve(import.meta.dirname, '..');

/** Installs nginx, HAProxy, wrk and hey from Debian when missing (the benchmark runs as root). */
export function ensureDebianTools(): void {
  const missing = [
    ['nginx', 'nginx-light'],
    ['haproxy', 'haproxy'],
    ['wrk', 'wrk'],
    ['hey', 'hey'],
    ['taskset', 'util-linux'],
  ].filter(([bin]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg!);
  process.stderr.write(`installing ${packages.join(' ')} from Debian\n`);
  const opts = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
  execFileSync('apt-get', ['update', '-qq'], opts);
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], opts);
}

export async function startUpstream(env: Omit<Env, 'upstreamPort'>, port: number): Promise<Proc> {
  const proc = startPinned(
    'upstream',
    env.core,
    process.execPath,
    [path.join(import.meta.dirname, 'upstream.ts'), '--port', String(port)],
    {
      logFile: path.join(env.work, 'upstream.log'),
    },
  );
  await waitUntil('the upstream', () => httpOk(`http://127.0.0.1:${port}${JSON_PATH}`), 30_000, [proc]);
  return proc;
}

export async function startNginx(env: Env, port: number): Promise<Target> {
  const dir = path.join(env.work, 'nginx');
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream bench { server 127.0.0.1:${env.upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://bench;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`,
  );
  const proc = startPinned('nginx', env.core, 'nginx', ['-p', dir, '-c', conf], {
    logFile: path.join(env.work, 'nginx.log'),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil('nginx', () => httpOk(`${base}${JSON_PATH}`), 30_000, [proc]);
  return { name: 'nginx', base, rssPids: [proc.pid] };
}

export async function startHaproxy(env: Env, port: number): Promise<Target> {
  const conf = path.join(env.work, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
  option http-no-delay
frontend bench
  bind 127.0.0.1:${port}
  default_backend upstream
backend upstream
  server up 127.0.0.1:${env.upstreamPort}
`,
  );
  const proc = startPinned('haproxy', env.core, 'haproxy', ['-db', '-f', conf], {
    logFile: path.join(env.work, 'haproxy.log'),
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil('HAProxy', () => httpOk(`${base}${JSON_PATH}`), 30_000, [proc]);
  return { name: 'HAProxy', base, rssPids: [proc.pid] };
}

export const PORTKEY_VERSION = '1.15.2';
// 1.15.2 streams only with this version of its HTTP server (later ones fail with "immutable").
const PORTKEY_NODE_SERVER = '1.13.8';

/** Installs the Portkey gateway into a cache directory outside the repository, once. */
export function ensurePortkey(): string {
  const cache = process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
  const dir = path.join(cache, 'tollgate/bench', `portkey-${PORTKEY_VERSION}`);
  const entry = path.join(dir, 'node_modules/@portkey-ai/gateway/build/start-server.js');
  if (existsSync(entry)) return entry;
  mkdirSync(dir, { recursive: true });
  const overrides = { '@hono/node-server': PORTKEY_NODE_SERVER };
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'tollgate-bench-portkey',
      private: true,
      dependencies: { '@portkey-ai/gateway': PORTKEY_VERSION },
      overrides,
      pnpm: { overrides },
    }),
  );
  process.stderr.write(`installing @portkey-ai/gateway ${PORTKEY_VERSION} into ${dir}\n`);
  let hasNpm = true;
  try {
    execFileSync('sh', ['-c', 'command -v npm'], { stdio: 'ignore' });
  } catch {
    hasNpm = false;
  }
  if (hasNpm) {
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: 'inherit',
    });
  } else {
    execFileSync(path.join(root, 'scripts/toolchain.sh'), ['pnpm', 'install', '--ignore-workspace'], {
      cwd: dir,
      stdio: 'inherit',
    });
  }
  return entry;
}

const chatBody = JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'ping' }] });

export async function startPortkey(env: Env, port: number): Promise<Target> {
  const entry = ensurePortkey();
  const proc = startPinned('portkey', env.core, process.execPath, [entry, `--port=${port}`, '--headless'], {
    logFile: path.join(env.work, 'portkey.log'),
    env: { ...process.env, NODE_ENV: 'production' },
    cwd: path.dirname(entry),
  });
  const base = `http://127.0.0.1:${port}`;
  const aiHeaders = {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': `http://127.0.0.1:${env.upstreamPort}/v1`,
    authorization: 'Bearer bench',
  };
  await waitUntil(
    'Portkey',
    () =>
      httpOk(`${base}${CHAT_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...aiHeaders },
        body: chatBody,
      }),
    60_000,
    [proc],
  );
  return { name: 'Portkey', base, rssPids: [proc.pid], aiHeaders };
}

/** The realistic standalone config: 1,000 Routes, one of them the AI route with a model match. */
export function writeManifests(dir: string, upstreamPort: number, routes = 1000, ai = true): void {
  mkdirSync(dir, { recursive: true });
  const docs: string[] = [];
  for (let i = 0; i < routes - (ai ? 1 : 0); i++) {
    const n = String(i).padStart(4, '0');
    docs.push(`apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata:
  name: svc-${n}
  namespace: bench
spec:
  rules:
    - name: main
      matches:
        - path: { type: PathPrefix, value: /api/svc-${n} }
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{ name: x-route, value: svc-${n} }]
      backendRefs:
        - url: http://127.0.0.1:${upstreamPort}
`);
  }
  writeFileSync(path.join(dir, 'routes.yaml'), docs.join('---\n'));
  if (!ai) return;
  writeFileSync(
    path.join(dir, 'ai.yaml'),
    `apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata:
  name: bench-llm
  namespace: bench
spec:
  type: openai-compatible
  baseURL: http://127.0.0.1:${upstreamPort}/v1
  models:
    - name: ${MODEL}
      pricing:
        currency: USD
        inputPerMillion: "0.50"
        outputPerMillion: "1.50"
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata:
  name: llm
  namespace: bench
spec:
  rules:
    - name: ${MODEL}
      matches:
        - path: { type: PathPrefix, value: /v1 }
          model: { type: Exact, value: ${MODEL} }
      backendRefs:
        - kind: AIProvider
          name: bench-llm
`,
  );
}

export interface TollgateOptions {
  /** Node flags for the data plane (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Extra data-plane flags (e.g. --workers 2). */
  dataplaneArgs?: string[];
  /** Generated Routes (default 1,000). */
  routes?: number;
  /** Name in the tables (default Tollgate). */
  name?: string;
  /** Manifests directory name under the work directory (default manifests). */
  manifestsDir?: string;
  /** Another checkout to run (a baseline for before/after comparisons); default this one. */
  root?: string;
  /** The core the controller runs on (default the proxy core, as `make up` would share one). */
  controllerCore?: number;
  /** Include the AIProvider and the AI route (default true). */
  ai?: boolean;
  /** 'external': a controller already serves ports.grpc (the Kubernetes source); start none. */
  controller?: 'file' | 'external';
  /** 'source': the data plane's TypeScript sources instead of its bundle (default: as production). */
  entry?: 'bundle' | 'source';
}

const built = new Map<string, string>();

/**
 * The data plane's entry file in `checkout`, as production runs it: the bundle
 * (scripts/build-dataplane.ts, built here once per checkout and run) when the checkout has the
 * build, else its TypeScript sources (an older baseline). BENCH_DATAPLANE=source runs the sources.
 */
export function dataplaneEntry(checkout: string, entry: 'bundle' | 'source' = 'bundle'): string {
  const sources = path.join(checkout, 'dataplane/src/main.ts');
  const script = path.join(checkout, 'scripts/build-dataplane.ts');
  if (entry === 'source' || process.env.BENCH_DATAPLANE === 'source' || !existsSync(script)) return sources;
  let bundle = built.get(checkout);
  if (!bundle) {
    execFileSync(process.execPath, [script], { cwd: checkout, stdio: ['ignore', 'ignore', 'inherit'] });
    bundle = path.join(checkout, 'dataplane/dist/main.js');
    built.set(checkout, bundle);
  }
  return bundle;
}

/** Controller (file source) + one data plane, as `make up` runs them; access log to a file. */
export async function startTollgate(
  env: Env,
  ports: { listen: number; admin: number; controllerAdmin: number; grpc: number },
  options: TollgateOptions = {},
): Promise<Target & { dataplane: Proc; controller: Proc | undefined; manifests: string; adminBase: string }> {
  const name = options.name ?? 'Tollgate';
  const checkout = options.root ?? root;
  const manifests = path.join(env.work, options.manifestsDir ?? 'manifests');
  const external = options.controller === 'external';
  if (!external) writeManifests(manifests, env.upstreamPort, options.routes, options.ai ?? true);
  const logEnv = { ...process.env, TOLLGATE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info' };
  const controller = external
    ? undefined
    : startPinned(
        'controller',
        options.controllerCore ?? env.core,
        process.execPath,
        [
          path.join(checkout, 'controller/src/main.ts'),
          'serve',
          '--dir',
          manifests,
          '--grpc',
          `127.0.0.1:${ports.grpc}`,
          '--admin',
          `127.0.0.1:${ports.controllerAdmin}`,
        ],
        { logFile: path.join(env.work, `${name}-controller.log`), env: logEnv, cwd: checkout },
      );
  // The data plane's stdout (access log included) goes straight to a file, as in a container.
  const dataplane = startPinned(
    'dataplane',
    env.core,
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      dataplaneEntry(checkout, options.entry),
      '--listen',
      `127.0.0.1:${ports.listen}`,
      '--admin',
      `127.0.0.1:${ports.admin}`,
      '--controller',
      `127.0.0.1:${ports.grpc}`,
      '--node-id',
      'bench-0',
      ...(options.dataplaneArgs ?? []),
    ],
    { logFile: path.join(env.work, `${name}-dataplane.log`), env: logEnv, cwd: checkout },
  );
  const base = `http://127.0.0.1:${ports.listen}`;
  await waitUntil(
    `the ${name} data plane`,
    () => httpOk(`http://127.0.0.1:${ports.admin}/readyz`),
    120_000,
    controller ? [controller, dataplane] : [dataplane],
  );
  if (!external && options.ai !== false) {
    await waitUntil('the Tollgate JSON route', () => httpOk(`${base}${JSON_PATH}`));
    await waitUntil('the Tollgate AI route', () =>
      httpOk(`${base}${CHAT_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody,
      }),
    );
  }
  return {
    name,
    base,
    rssPids: [dataplane.pid],
    dataplane,
    controller,
    manifests,
    adminBase: `http://127.0.0.1:${ports.admin}`,
  };
}
