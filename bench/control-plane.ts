// Control-plane benchmarks (issue 7): how fast a configuration change becomes traffic, and what
// large route tables cost. Prints markdown tables and writes them to
// bench/results/<date>-control-plane[-quick].md.
//   scripts/toolchain.sh node bench/control-plane.ts [--quick]
//     [--only build,lookup,standalone,kubernetes,memory,swap] [--changes N] [--swap-seconds S]
//     [--swap-routes N] [--swap-baseline DIR] [--soak-seconds S] [--rate R] [--out FILE]
//
//   build       translate(objects) for 1,000 and 10,000 Routes: time, heap, payload; and the data
//               plane's side of the same snapshot (decode + validate, compile + swap)
//   lookup      the compiled router's match cost at 100 vs 10,000 routes (must not grow linearly)
//   standalone  manifest file written → first request served by the new route (controller file
//               source + data plane over gRPC), N changes, p50 / p90 / max
//   kubernetes  `kubectl apply` → first request served, against a real kube-apiserver + etcd
//               (e2e/k8s binaries, built on first use)
//   memory      data-plane RSS idle with 1,000 routes (without and with the AI route, before and
//               after the first AI request), then sampled during a steady-load soak
//   swap        request latency at a steady rate against a data plane with 10,000 routes, without
//               and with a snapshot swap every second (p50 / p99 / max, and the data plane's own
//               event-loop delay); --swap-baseline DIR measures another checkout first in the same run
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { translate } from '../controller/src/translate/index.ts';
import { compileRouter, Generation } from '../dataplane/src/index.ts';
import { PoolRegistry } from '../dataplane/src/upstream/index.ts';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_ENCODING } from '../packages/snapshot/src/index.ts';
import { freePorts, rssMiB, stop, stopAll } from './procs.ts';
import { CHAT_PATH, MODEL, startTollgate, startUpstream } from './targets.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    changes: { type: 'string' },
    'swap-seconds': { type: 'string' },
    rate: { type: 'string', default: '500' },
    'swap-routes': { type: 'string', default: '10000' },
    'swap-baseline': { type: 'string' },
    'soak-seconds': { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = values.quick === true;
const only = values.only ? new Set(values.only.split(',')) : undefined;
const wanted = (section: string): boolean => !only || only.has(section);
const changes = Number(values.changes ?? (quick ? 3 : 10));
const swapSeconds = Number(values['swap-seconds'] ?? (quick ? 3 : 10));
const rate = Number(values.rate);
const LOAD_CORE = 0;
const PROXY_CORE = cpus().length > 1 ? 1 : 0;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0));
const mib = (bytes: number): string => (bytes / 1048576).toFixed(1);

/** The bench's route table as API objects (what the file source or the informers would hand over). */
export function routeObjects(routes: number, upstreamPort = 9): unknown[] {
  const objects: unknown[] = [];
  for (let i = 0; i < routes; i++) {
    const n = String(i).padStart(5, '0');
    objects.push({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: `svc-${n}`, namespace: 'bench' },
      spec: {
        rules: [
          {
            name: 'main',
            matches: [{ path: { type: 'PathPrefix', value: `/api/svc-${n}` } }],
            filters: [
              {
                type: 'RequestHeaderModifier',
                requestHeaderModifier: { set: [{ name: 'x-route', value: `svc-${n}` }] },
              },
            ],
            backendRefs: [{ url: `http://127.0.0.1:${upstreamPort}` }],
          },
        ],
      },
    });
  }
  return objects;
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = fn();
  return { value, ms: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// build: translate, payload, and the data plane's decode and compile

async function benchBuild(sizes: number[]): Promise<string> {
  const lines = [
    '### Snapshot build (controller) and apply (data plane)',
    '',
    '| routes | translate ms (median) | heap retained MiB | payload KiB (gzip JSON) | encode ms | data plane: decode + validate ms | data plane: compile ms | data plane: heap MiB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const runs = quick ? 2 : 5;
  const pools = new PoolRegistry();
  for (const size of sizes) {
    const objects = routeObjects(size);
    translate(objects); // warm-up: first call compiles the code paths
    gc();
    const before = process.memoryUsage().heapUsed;
    const times: number[] = [];
    let result = translate(objects);
    for (let i = 0; i < runs; i++) {
      const t = timed(() => translate(objects));
      times.push(t.ms);
      result = t.value;
    }
    gc();
    const retained = process.memoryUsage().heapUsed - before;
    const encoded = timed(() => encodeSnapshot(result.snapshot));
    const decodeTimes: number[] = [];
    const compileTimes: number[] = [];
    let heap = 0;
    // What a running data plane holds for this snapshot: kept reachable while measuring.
    const held: Array<object & { retire?: () => void }> = [];
    for (let i = 0; i < runs; i++) {
      for (const h of held.splice(0)) h.retire?.();
      gc();
      const h0 = process.memoryUsage().heapUsed;
      const decoded = timed(() => decodeSnapshot(encoded.value, SNAPSHOT_ENCODING));
      const generation = timed(
        () =>
          new Generation(decoded.value, {
            pools,
            routeMetrics: () => ({ record: () => {} }) as never,
          }),
      );
      held.push(decoded.value, generation.value);
      gc();
      heap = process.memoryUsage().heapUsed - h0;
      decodeTimes.push(decoded.ms);
      compileTimes.push(generation.ms);
    }
    for (const h of held.splice(0)) h.retire?.();
    lines.push(
      `| ${size.toLocaleString('en-US')} | ${ms(median(times))} | ${mib(retained)} | ${(encoded.value.byteLength / 1024).toFixed(0)} | ${ms(encoded.ms)} | ${ms(median(decodeTimes))} | ${ms(median(compileTimes))} | ${mib(heap)} |`,
    );
    process.stderr.write(`  build ${size}: translate ${ms(median(times))} ms\n`);
  }
  await pools.closeAll(true);
  lines.push(
    '',
    'translate: the pure object set → snapshot function the controller runs on every change (statuses included). ' +
      'Data plane: gunzip + JSON.parse + schema validation of the payload, then compiling router, pools and policy chains (what happens before the atomic swap).',
    '',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// lookup: router match cost at 100 vs 10,000 routes

function benchLookup(): string {
  const sizes = [100, 10_000];
  const iterations = quick ? 200_000 : 1_000_000;
  // The same paths at both sizes (the first 100 routes exist in both), and a path no route has.
  const input = (path: string) => ({
    host: 'bench.example',
    path,
    method: 'GET',
    headers: {},
    query: undefined,
  });
  const hits = Array.from({ length: 100 }, (_, i) =>
    input(`/api/svc-${String(i).padStart(5, '0')}/items/42`),
  );
  const miss = input('/nothing/here');
  const routers = sizes.map((size) => compileRouter(translate(routeObjects(size)).snapshot));
  const measure = (router: (typeof routers)[number], hit: boolean): number => {
    let found = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) if (router.match(hit ? hits[i % 100]! : miss)) found++;
    const ns = Number(process.hrtime.bigint() - started) / iterations;
    if (hit && found !== iterations) throw new Error('the router missed a bench path');
    return ns;
  };
  // Warm both up (JIT), then take the best of three interleaved rounds.
  for (const router of routers) {
    measure(router, true);
    measure(router, false);
  }
  const rows = sizes.map((size) => ({
    size,
    hitNs: Number.POSITIVE_INFINITY,
    missNs: Number.POSITIVE_INFINITY,
  }));
  for (let round = 0; round < 3; round++) {
    routers.forEach((router, i) => {
      rows[i]!.hitNs = Math.min(rows[i]!.hitNs, measure(router, true));
      rows[i]!.missNs = Math.min(rows[i]!.missNs, measure(router, false));
    });
  }
  for (const r of rows) process.stderr.write(`  lookup ${r.size}: ${r.hitNs.toFixed(0)} ns\n`);
  const [small, large] = rows;
  return [
    '### Route lookup (compiled router, one host, PathPrefix routes)',
    '',
    '| routes | match ns (hit) | match ns (miss) |',
    '|---:|---:|---:|',
    ...rows.map(
      (r) => `| ${r.size.toLocaleString('en-US')} | ${r.hitNs.toFixed(0)} | ${r.missNs.toFixed(0)} |`,
    ),
    '',
    `10,000 / 100 routes: ${(large!.hitNs / small!.hitNs).toFixed(2)}× per hit, ${(large!.missNs / small!.missNs).toFixed(2)}× per miss (linear growth would be 100×).`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// standalone and kubernetes: change → traffic

const freshRoute = (
  name: string,
  prefix: string,
  upstreamPort: number,
): string => `apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata:
  name: ${name}
  namespace: bench
spec:
  rules:
    - matches:
        - path: { type: PathPrefix, value: ${prefix} }
      backendRefs:
        - url: http://127.0.0.1:${upstreamPort}
`;

/** Polls `url` every 2 ms until it answers 200; resolves with the ms since `since`. */
async function untilServed(url: string, since: number, timeoutMs = 30_000): Promise<number> {
  for (;;) {
    const elapsed = performance.now() - since;
    if (elapsed > timeoutMs) throw new Error(`${url} was not served within ${timeoutMs} ms`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - since;
    } catch {
      // connection trouble: try again
    }
    await sleep(2);
  }
}

function changeRow(label: string, samples: number[]): string {
  return `| ${label} | ${samples.length} | ${ms(median(samples))} | ${ms(quantile(samples, 0.9))} | ${ms(samples.reduce((a, b) => Math.max(a, b), 0))} |`;
}

const CHANGE_HEADER = ['| mode | changes | p50 ms | p90 ms | max ms |', '|---|---:|---:|---:|---:|'];

let port: () => number = () => {
  throw new Error('ports not reserved yet');
};

async function benchStandalone(work: string, upstreamPort: number): Promise<string> {
  const env = { work, core: PROXY_CORE, upstreamPort };
  const tg = await startTollgate(
    env,
    { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
    { name: 'standalone', manifestsDir: 'standalone', controllerCore: LOAD_CORE },
  );
  const samples: number[] = [];
  for (let i = 0; i < changes; i++) {
    const prefix = `/fresh-${i}`;
    const since = performance.now();
    writeFileSync(path.join(tg.manifests, `fresh-${i}.yaml`), freshRoute(`fresh-${i}`, prefix, upstreamPort));
    samples.push(await untilServed(`${tg.base}${prefix}/x`, since));
    process.stderr.write(`  standalone change ${i + 1}/${changes}: ${ms(samples.at(-1)!)} ms\n`);
    await sleep(200);
  }
  return changeRow('standalone (file written → served), 1,000 routes', samples);
}

async function benchKubernetes(work: string, upstreamPort: number, routes: number): Promise<string> {
  const { startKubeCluster, freePort } = await import('../packages/testkit/src/index.ts');
  const { startKubernetesController } = await import('../e2e/src/kubernetes-stack.ts');
  process.stderr.write('  kubernetes: starting kube-apiserver + etcd (binaries built on first use)\n');
  const cluster = await startKubeCluster();
  try {
    await cluster.installCrds();
    await cluster.kubectlOk(['create', 'namespace', 'bench']);
    // The same route table as the standalone case, applied in one go.
    const docs = (routeObjects(routes, upstreamPort) as object[]).map((o) => JSON.stringify(o));
    await cluster.kubectlOk(['apply', '-f', '-'], { input: docs.join('\n---\n'), timeoutMs: 300_000 });
    const controller = await startKubernetesController({
      kubeconfig: cluster.kubeconfig,
      name: 'bench-controller',
    });
    const env = { work, core: PROXY_CORE, upstreamPort };
    const [listen, admin] = [await freePort(), await freePort()];
    const tg = await startTollgate(
      env,
      { listen, admin, controllerAdmin: 0, grpc: controller.grpcPort },
      { name: 'kubernetes', controller: 'external' },
    );
    try {
      await untilServed(`${tg.base}/api/svc-00000/x`, performance.now(), 120_000);
      const samples: number[] = [];
      for (let i = 0; i < changes; i++) {
        const prefix = `/fresh-${i}`;
        const since = performance.now();
        await cluster.kubectlOk(['apply', '-f', '-'], {
          input: freshRoute(`fresh-${i}`, prefix, upstreamPort),
        });
        samples.push(await untilServed(`${tg.base}${prefix}/x`, since));
        process.stderr.write(`  kubernetes change ${i + 1}/${changes}: ${ms(samples.at(-1)!)} ms\n`);
        await sleep(200);
      }
      return changeRow(
        `kubernetes (\`kubectl apply\` started → served), ${routes.toLocaleString('en-US')} routes`,
        samples,
      );
    } finally {
      await controller.process.stop();
    }
  } finally {
    await stopAll();
    await cluster.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// swap: latency at a steady rate, with and without snapshot swaps at 10,000 routes

interface LatencyRun {
  p50: number;
  p99: number;
  max: number;
  count: number;
  errors: number;
}

/** Sends `rate` requests/s (open loop, spread over the second) for `seconds`; latencies in ms. */
async function steadyLoad(
  base: string,
  paths: string[],
  seconds: number,
  onSecond?: (i: number) => void,
): Promise<LatencyRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const { hostname, port: targetPort } = new URL(base);
  const latencies: number[] = [];
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const interval = 1000 / rate;
  const started = performance.now();
  let second = 0;
  for (let i = 0; performance.now() - started < seconds * 1000; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const s = Math.floor((performance.now() - started) / 1000);
    if (s > second) {
      second = s;
      onSecond?.(s);
    }
    // Latency from when the request was due: a stalled event loop counts against the proxy, not the generator.
    const sent = Math.min(due, performance.now());
    inflight.push(
      new Promise<void>((resolve) => {
        const req = request(
          { host: hostname, port: targetPort, path: paths[i % paths.length], agent },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode !== 200) errors++;
              latencies.push(performance.now() - sent);
              resolve();
            });
          },
        );
        req.on('error', () => {
          errors++;
          resolve();
        });
        req.end();
      }),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: latencies.reduce((a, b) => Math.max(a, b), 0),
    count: latencies.length,
    errors,
  };
}

async function benchSwap(work: string, upstreamPort: number, baseline?: string): Promise<string> {
  const routes = Number(values['swap-routes']);
  const env = { work, core: PROXY_CORE, upstreamPort };
  // The controller on the load core: in production it runs elsewhere, and its rebuilds must not
  // be what slows the data plane down here.
  const tg = await startTollgate(
    env,
    { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
    {
      name: baseline ? 'swap-baseline' : 'swap',
      manifestsDir: baseline ? 'swap-baseline' : 'swap',
      routes,
      controllerCore: LOAD_CORE,
      ...(baseline ? { root: baseline } : {}),
    },
  );
  const paths = Array.from(
    { length: 64 },
    (_, i) => `/api/svc-${String(Math.floor((i * (routes - 1)) / 64)).padStart(4, '0')}/items`,
  );
  await steadyLoad(tg.base, paths, quick ? 1 : 3); // warm-up
  await loopDelay(tg.adminBase); // each scrape reports the data plane's event-loop delay since the last one
  const steady = await steadyLoad(tg.base, paths, swapSeconds);
  const steadyDelay = await loopDelay(tg.adminBase);
  let swaps = 0;
  const swapping = await steadyLoad(tg.base, paths, swapSeconds, (s) => {
    // One changed Route per second: the controller rebuilds and pushes the whole 10,000-route snapshot.
    writeFileSync(path.join(tg.manifests, 'churn.yaml'), freshRoute('churn', `/churn-${s}`, upstreamPort));
    swaps++;
  });
  const swappingDelay = await loopDelay(tg.adminBase);
  const applied = await swapStats(tg.adminBase);
  await stop(tg.dataplane);
  if (tg.controller) await stop(tg.controller);
  const row = (label: string, r: LatencyRun): string =>
    `| ${label} | ${r.count} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.errors} |`;
  return [
    `### Snapshot swaps under load (${routes.toLocaleString('en-US')} routes, ${rate} requests/s)${baseline ? `: baseline ${baseline}` : ''}`,
    '',
    '| phase | requests | p50 ms | p99 ms | max ms | errors |',
    '|---|---:|---:|---:|---:|---:|',
    row('steady (no swaps)', steady),
    row(`a swap every second (${swaps} changes)`, swapping),
    '',
    `p99 added by swaps: ${ms(swapping.p99 - steady.p99)} ms. ${applied}`,
    '',
    `The data plane's own event-loop delay (max / p99, prom-client's monitor at 10 ms resolution; ` +
      `less disturbed by the load generator and other processes than client latency): ` +
      `steady ${steadyDelay}, swapping ${swappingDelay}.`,
    '',
  ].join('\n');
}

/** The data plane's event-loop delay since the previous scrape: "max / p99 ms". */
async function loopDelay(adminBase: string): Promise<string> {
  try {
    const text = await (await fetch(`${adminBase}/metrics`)).text();
    const read = (name: string) =>
      Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN) * 1000;
    return `${ms(read('nodejs_eventloop_lag_max_seconds'))} / ${ms(read('nodejs_eventloop_lag_p99_seconds'))} ms`;
  } catch {
    return 'n/a';
  }
}

async function swapStats(adminBase: string): Promise<string> {
  try {
    const text = await (await fetch(`${adminBase}/metrics`)).text();
    const swaps = /^tollgate_snapshot_swaps_total (\S+)/m.exec(text)?.[1];
    return swaps ? `The data plane applied ${swaps} snapshots in all.` : '';
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// memory: idle RSS and a soak

async function benchMemory(work: string, upstreamPort: number): Promise<string> {
  const soakSeconds = Number(values['soak-seconds'] ?? (quick ? 6 : 120));
  const env = { work, core: PROXY_CORE, upstreamPort };
  const settle = async (pid: number): Promise<number> => {
    await sleep(3_000);
    return rssMiB(pid);
  };
  const lines = ['### Data-plane memory (RSS, MiB)', '', '| configuration | RSS MiB |', '|---|---:|'];
  const plain = await startTollgate(
    env,
    { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
    { name: 'memory-plain', manifestsDir: 'memory-plain', ai: false, controllerCore: LOAD_CORE },
  );
  lines.push(`| idle, 1,000 routes, no AI provider | ${(await settle(plain.dataplane.pid)).toFixed(1)} |`);
  await stop(plain.dataplane);
  if (plain.controller) await stop(plain.controller);

  const tg = await startTollgate(
    env,
    { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
    { name: 'memory', manifestsDir: 'memory', controllerCore: LOAD_CORE },
  );
  const pid = tg.dataplane.pid;
  lines.push(
    `| idle, 1,000 routes incl. the AI route (tokenizer loaded) | ${(await settle(pid)).toFixed(1)} |`,
  );
  const chat = await fetch(`${tg.base}${CHAT_PATH}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'ping' }] }),
  });
  await chat.arrayBuffer();
  lines.push(`| idle, after the first AI request | ${(await settle(pid)).toFixed(1)} |`);
  // The soak: steady plain traffic, RSS sampled every sixth of the time.
  const paths = Array.from({ length: 64 }, (_, i) => `/api/svc-${String(i * 15).padStart(4, '0')}/items`);
  const samples: number[] = [];
  const every = Math.max(1, Math.round(soakSeconds / 6));
  await steadyLoad(tg.base, paths, soakSeconds, (s) => {
    if (s % every === 0)
      void rssMiB(pid).then((r) => {
        samples.push(r);
        process.stderr.write(`  memory soak ${s} s: RSS ${r.toFixed(0)} MiB\n`);
      });
  });
  const after = await settle(pid);
  lines.push(
    `| soak: ${rate} requests/s for ${soakSeconds} s, sampled every ${every} s | ${samples.map((r) => r.toFixed(0)).join(' → ')} |`,
    `| idle again after the soak | ${after.toFixed(1)} |`,
    '',
    'The data plane runs its bundle (dataplane/dist, as the image does); RSS includes the node binary and V8 start heap (about 40 MiB before any of our code loads).',
    '',
  );
  await stop(tg.dataplane);
  if (tg.controller) await stop(tg.controller);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  const work = mkdtempSync(path.join(tmpdir(), 'tollgate-cp-bench-'));
  port = await freePorts(32);
  const sections: string[] = [];
  const changeRows: string[] = [];
  try {
    if (wanted('build')) sections.push(await benchBuild(quick ? [1000, 10_000] : [1000, 10_000]));
    if (wanted('lookup')) sections.push(benchLookup());
    const needsStack = wanted('standalone') || wanted('kubernetes') || wanted('swap') || wanted('memory');
    if (needsStack) {
      try {
        execFileSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' });
      } catch {
        throw new Error('taskset (util-linux) is needed');
      }
      const upstreamPort = port();
      await startUpstream({ work, core: PROXY_CORE }, upstreamPort);
      if (wanted('standalone')) changeRows.push(await benchStandalone(work, upstreamPort));
      if (wanted('memory')) sections.push(await benchMemory(work, upstreamPort));
      if (wanted('swap')) {
        // --swap-baseline DIR: the same measurement against another checkout first, in the same run.
        const baseline = values['swap-baseline'];
        if (baseline) sections.push(await benchSwap(work, upstreamPort, baseline));
        sections.push(await benchSwap(work, upstreamPort));
      }
      if (wanted('kubernetes')) {
        await stopAll();
        await startUpstream({ work, core: PROXY_CORE }, upstreamPort);
        changeRows.push(await benchKubernetes(work, upstreamPort, quick ? 100 : 1000));
      }
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
  if (changeRows.length > 0) {
    sections.splice(
      Math.min(sections.length, 2),
      0,
      ['### Manifest change → traffic served', '', ...CHANGE_HEADER, ...changeRows, ''].join('\n'),
    );
  }
  const report = [
    `# Control-plane benchmark ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `Command: \`scripts/toolchain.sh node bench/control-plane.ts${process.argv
      .slice(2)
      .map((a) => ` ${a}`)
      .join('')}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}. Load average (1 min): ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    '',
    ...sections,
  ].join('\n');
  process.stdout.write(`\n${report}\n`);
  const file =
    values.out ??
    path.join(
      import.meta.dirname,
      'results',
      `${started.toISOString().slice(0, 10)}-control-plane${quick ? '-quick' : ''}.md`,
    );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${report}\n`);
  process.stderr.write(`written to ${path.relative(process.cwd(), file)}\n`);
}

if (import.meta.main) {
  main().catch(async (error: unknown) => {
    process.stderr.write(
      `control-plane bench failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    await stopAll();
    process.exit(1);
  });
}
