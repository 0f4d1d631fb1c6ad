// `make bench`: the same load, on loopback, against the upstream directly, nginx, HAProxy,
// Portkey (AI workloads) and Tollgate in standalone mode; medians of several runs, written as a
// markdown table to bench/results/<date>.md. See docs/benchmarks.md.
//   scripts/toolchain.sh node bench/run.ts [--quick] [--runs N] [--seconds S] [--warmup S]
//     [--connections C] [--only direct,nginx,haproxy,portkey,tollgate] [--workloads json,chat,stream]
//     [--keep] [--note TEXT]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runHey } from './hey.ts';
import { runLoadTool } from './load-tool.ts';
import { cpuMs, freePorts, rssMiB, stopAll } from './procs.ts';
import {
  CHAT_PATH,
  ensureDebianTools,
  ensurePortkey,
  JSON_PATH,
  MODEL,
  PORTKEY_VERSION,
  startHaproxy,
  startNginx,
  startPortkey,
  startTollgate,
  startUpstream,
  type Target,
} from './targets.ts';
import { parseWrk, runWrk, type WrkResult } from './wrk.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string', default: '50' },
    only: { type: 'string' },
    workloads: { type: 'string' },
    note: { type: 'string' },
    baseline: { type: 'string' },
    workers: { type: 'string' },
    variant: { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
    'latency-seconds': { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = values.quick === true;
const runs = Number(values.runs ?? (quick ? 2 : 3));
const seconds = Number(values.seconds ?? (quick ? 2 : 10));
const warmup = Number(values.warmup ?? (quick ? 1 : 3));
const latencySeconds = Number(values['latency-seconds'] ?? (quick ? 2 : 5));
const connections = Number(values.connections);
const only = values.only ? new Set(values.only.split(',')) : undefined;
const LOAD_CORE = 0;
const PROXY_CORE = cpus().length > 1 ? 1 : 0;

interface Workload {
  id: 'json' | 'chat' | 'stream';
  title: string;
  path: string;
  body?: object;
  ai: boolean;
}
const allWorkloads: Workload[] = [
  { id: 'json', title: '46 B JSON GET', path: JSON_PATH, ai: false },
  {
    id: 'chat',
    title: 'chat completion POST',
    path: CHAT_PATH,
    ai: true,
    body: {
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hello in fifty words.' },
      ],
    },
  },
  {
    id: 'stream',
    title: 'streamed chat completion (SSE, 52 events)',
    path: CHAT_PATH,
    ai: true,
    body: { model: MODEL, stream: true, messages: [{ role: 'user', content: 'Say hello in fifty words.' }] },
  },
];
const chosenWorkloads = values.workloads ? new Set(values.workloads.split(',')) : undefined;
const workloads = allWorkloads.filter((w) => !chosenWorkloads || chosenWorkloads.has(w.id));

interface Row {
  target: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  c1p50Ms: number;
  c1p99Ms: number;
  errors: number;
  rssMiB: number;
  /** CPU time of the proxy's processes per request, in µs (undefined for direct). */
  cpuUs: number | undefined;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

let port: () => number = () => {
  throw new Error('ports not reserved yet');
};

/** One request first: a proxy that answers wrongly (or cuts a stream short) is not measured. */
async function checkResponse(target: Target, workload: Workload): Promise<void> {
  const res = await fetch(`${target.base}${workload.path}`, {
    method: workload.body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', ...(workload.ai ? target.aiHeaders : {}) },
    body: workload.body ? JSON.stringify(workload.body) : undefined,
  });
  const text = await res.text();
  // 50 content chunks + finish; the usage-only chunk may be dropped when the client did not ask for it.
  const events = text.split('\n\n').filter((e) => e.startsWith('data: {')).length;
  const ok =
    res.ok && (workload.id === 'stream' ? events >= 51 && text.includes('[DONE]') : text.startsWith('{'));
  if (!ok)
    throw new Error(
      `${target.name} ${workload.id}: unexpected response ${res.status} (${events} events): ${text.slice(0, 300)}`,
    );
}

interface Subject {
  target: Target;
  load: Parameters<typeof runWrk>[0];
  results: WrkResult[];
  cpuUs: number[];
}

/**
 * Runs of one workload interleaved across the targets (round 1: every target, round 2: …), so
 * a burst of other work on the machine spreads over all of them instead of skewing one: the
 * ratios within a run stay honest on a shared machine.
 */
async function measureWorkload(
  targets: Target[],
  workload: Workload,
  bodyFile: string | undefined,
): Promise<Row[]> {
  const subjects: Subject[] = [];
  for (const target of targets) {
    if (target.aiOnly && !workload.ai) continue;
    await checkResponse(target, workload);
    const load = {
      url: `${target.base}${workload.path}`,
      threads: 2,
      connections,
      seconds,
      core: LOAD_CORE,
      bodyFile,
      headers: workload.ai ? target.aiHeaders : undefined,
    };
    process.stderr.write(`  ${workload.id.padEnd(6)} warm-up ${target.name}\n`);
    if (warmup > 0) await runWrk({ ...load, seconds: warmup });
    subjects.push({ target, load, results: [], cpuUs: [] });
  }
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`  ${workload.id.padEnd(6)} round ${i + 1}/${runs}:`);
    for (const s of subjects) {
      const pids = s.target.rssPids;
      const cpuBefore = pids.length > 0 ? await cpuMs(pids[0]!) : 0;
      const r = await runWrk(s.load);
      s.results.push(r);
      if (pids.length > 0 && r.requests > 0)
        s.cpuUs.push((((await cpuMs(pids[0]!)) - cpuBefore) * 1000) / r.requests);
      process.stderr.write(` ${s.target.name} ${Math.round(r.rps)}`);
    }
    process.stderr.write('\n');
  }
  const rows: Row[] = [];
  for (const { target, load, results, cpuUs } of subjects) {
    const rss = (await Promise.all(target.rssPids.map(rssMiB))).reduce((a, b) => a + b, 0);
    // Added latency is read at concurrency 1, where it is the proxy's own cost, not queueing.
    const c1 = await runWrk({ ...load, threads: 1, connections: 1, seconds: latencySeconds });
    rows.push({
      target: target.name,
      rps: median(results.map((r) => r.rps)),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      c1p50Ms: c1.p50Ms,
      c1p99Ms: c1.p99Ms,
      errors: results.reduce((a, r) => a + r.errors, 0) + c1.errors,
      rssMiB: rss,
      cpuUs: cpuUs.length > 0 ? median(cpuUs) : undefined,
    });
  }
  return rows;
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number): string => (Math.abs(n) < 10 ? n.toFixed(2) : n.toFixed(1));
const signed = (n: number): string => `${n < 0 ? '' : '+'}${ms(n)}`;
const shellQuote = (arg: string): string =>
  /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
const ratio = (a: Row | undefined, b: Row | undefined): string =>
  a && b && b.rps > 0 ? `${(a.rps / b.rps).toFixed(2)}×` : '—';

function table(workload: Workload, rows: Row[]): string {
  const direct = rows.find((r) => r.target === 'direct');
  const lines = [
    `### ${workload.title}`,
    '',
    '| target | RPS | p50 ms | p99 ms | c=1 p50 ms | c=1 p99 ms | added p50 / p99 ms (c=1, vs direct) | CPU µs/req | RSS MiB | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const added =
      direct && r !== direct
        ? `${signed(r.c1p50Ms - direct.c1p50Ms)} / ${signed(r.c1p99Ms - direct.c1p99Ms)}`
        : '—';
    lines.push(
      `| ${r.target} | ${fmt(r.rps)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${ms(r.c1p50Ms)} | ${ms(r.c1p99Ms)} | ${added} | ${r.cpuUs === undefined ? '—' : fmt(r.cpuUs)} | ${r === direct ? '—' : fmt(r.rssMiB, 1)} | ${r.errors} |`,
    );
  }
  const tg = rows.find((r) => r.target === 'Tollgate');
  const by = (name: string) => rows.find((r) => r.target === name);
  lines.push(
    '',
    `Tollgate/nginx ${ratio(tg, by('nginx'))} · Tollgate/HAProxy ${ratio(tg, by('HAProxy'))} · Tollgate/Portkey ${workload.ai ? ratio(tg, by('Portkey')) : 'n/a'} · Tollgate/direct ${ratio(tg, direct)}`,
    ...rows
      .filter((r) => r.target.startsWith('Tollgate') && r !== tg)
      .map((r) => `${r.target}/nginx ${ratio(r, by('nginx'))} · Tollgate/${r.target} ${ratio(tg, r)}`),
    '',
  );
  return lines.join('\n');
}

/** Mean wait of a paced connection between an answer and its next request. */
const PACE_MEAN_MS = 20;

/**
 * The same rate as open arrivals: wrk with rate × 20 ms / 1000 connections, each waiting an
 * exponentially distributed 20 ms on average before its next request (lua/paced.lua). hey's `-q`
 * starts every worker's ticker at once, so its requests arrive in bursts of one per connection
 * (39 at 7,700 requests/s) every 5 ms and its p99 is the time a proxy takes to work through a
 * burst, which grows with CPU per request times connections; open arrivals measure the latency a
 * proxy adds at that load.
 */
function runPaced(url: string, rate: number): Promise<WrkResult> {
  const args = [
    '-c',
    String(LOAD_CORE),
    'wrk',
    '-t2',
    `-c${Math.max(2, Math.round((rate * PACE_MEAN_MS) / 1000))}`,
    `-d${seconds}s`,
    '--latency',
    '-s',
    path.join(import.meta.dirname, 'lua/paced.lua'),
    url,
  ];
  return runLoadTool('wrk', args, parseWrk, { ...process.env, BENCH_PACE_MEAN_MS: String(PACE_MEAN_MS) });
}

interface PacedRow {
  name: string;
  p50: number;
  p99: number;
  rps: number;
  errors: number;
}

function pacedTable(rows: PacedRow[]): string[] {
  const direct = rows.find((r) => r.name === 'direct');
  return [
    '| target | achieved RPS | p50 ms | p99 ms | added p50 / p99 ms (vs direct) | errors |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.rps)} | ${ms(r.p50)} | ${ms(r.p99)} | ${direct && r !== direct ? `${signed(r.p50 - direct.p50)} / ${signed(r.p99 - direct.p99)}` : '—'} | ${r.errors} |`,
    ),
  ];
}

/**
 * The plain-HTTP latency budget: added p99 over direct at half of Tollgate's maximum rate, paced
 * so that what is measured is the proxy's cost and not queueing at saturation: with hey (bursts,
 * the method of earlier runs) and as open arrivals (wrk, lua/paced.lua).
 */
async function measureHalfLoad(targets: Target[], jsonRows: Row[]): Promise<string> {
  const tollgate = jsonRows.find((r) => r.target === 'Tollgate');
  if (!tollgate || tollgate.rps <= 0) return '';
  const rate = Math.round(tollgate.rps / 2);
  const chosen = targets.filter((t) => ['direct', 'nginx', 'Tollgate'].includes(t.name));
  const rows: PacedRow[] = [];
  const openRows: PacedRow[] = [];
  for (const target of chosen) {
    const url = `${target.base}${JSON_PATH}`;
    const runsOf = [];
    const openRuns = [];
    for (let i = 0; i < runs; i++) {
      runsOf.push(await runHey({ url, rate, seconds, core: LOAD_CORE }));
      const open = await runPaced(url, rate);
      openRuns.push({ rps: open.rps, p50Ms: open.p50Ms, p99Ms: open.p99Ms, errors: open.errors });
    }
    for (const [into, from] of [
      [rows, runsOf],
      [openRows, openRuns],
    ] as const) {
      into.push({
        name: target.name,
        p50: median(from.map((r) => r.p50Ms)),
        p99: median(from.map((r) => r.p99Ms)),
        rps: median(from.map((r) => r.rps)),
        errors: from.reduce((a, r) => a + r.errors, 0),
      });
    }
    process.stderr.write(
      `  half-load ${target.name}: p99 ${ms(rows.at(-1)!.p99)} ms (hey), ${ms(openRows.at(-1)!.p99)} ms (open arrivals)\n`,
    );
  }
  const connections = Math.max(10, Math.ceil(rate / 200));
  return [
    `### 46 B JSON GET at ${fmt(rate)} requests/s (half of Tollgate's maximum), paced`,
    '',
    `Open arrivals: wrk, ${Math.max(2, Math.round((rate * PACE_MEAN_MS) / 1000))} connections each waiting an exponentially distributed ${PACE_MEAN_MS} ms (mean) between an answer and its next request (bench/lua/paced.lua), ${runs} run(s) × ${seconds} s, medians.`,
    '',
    ...pacedTable(openRows),
    '',
    `hey -q, ${connections} connections: hey starts every worker's ticker at once, so requests arrive in bursts of ${connections} every ${fmt(1000 / Math.max(1, Math.round(rate / connections)), 1)} ms and p99 is the time to work through a burst; ${runs} run(s) × ${seconds} s, medians; latency resolution 0.1 ms.`,
    '',
    ...pacedTable(rows),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const started = new Date();
  // Other work on the machine skews every figure; the header records how busy it was.
  const loadBefore = loadavg()[0]!;
  ensureDebianTools();
  const wantPortkey = !only || only.has('portkey');
  if (wantPortkey) ensurePortkey();
  const work = mkdtempSync(path.join(tmpdir(), 'tollgate-bench-'));
  const env0 = { work, core: PROXY_CORE };
  port = await freePorts(40);
  const upstreamPort = port();
  const env = { ...env0, upstreamPort };
  const bodies = new Map<string, string>();
  for (const w of workloads) {
    if (!w.body) continue;
    const file = path.join(work, `${w.id}.json`);
    writeFileSync(file, JSON.stringify(w.body));
    bodies.set(w.id, file);
  }
  process.stderr.write(
    `bench: ${runs} run(s) × ${seconds} s after ${warmup} s warm-up, ${connections} connections; wrk on core ${LOAD_CORE}, proxy + upstream on core ${PROXY_CORE}; logs in ${work}\n`,
  );
  const results = new Map<string, Row[]>(workloads.map((w) => [w.id, []]));
  let halfLoad = '';
  try {
    await startUpstream(env0, upstreamPort);
    const direct: Target = { name: 'direct', base: `http://127.0.0.1:${upstreamPort}`, rssPids: [] };
    // All targets run side by side; an idle proxy costs next to nothing, and interleaving the
    // runs across them needs them all up.
    const plan: Array<[string, () => Promise<Target>]> = [
      ['direct', async () => direct],
      ['nginx', () => startNginx(env, port())],
      ['haproxy', () => startHaproxy(env, port())],
      ['portkey', async () => ({ ...(await startPortkey(env, port())), aiOnly: true })],
      [
        'tollgate',
        () => startTollgate(env, { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() }),
      ],
    ];
    // Before/after: the same benchmark against another checkout (e.g. `git worktree add`).
    if (values.baseline) {
      const baseline = path.resolve(values.baseline);
      plan.push([
        'baseline',
        () =>
          startTollgate(
            env,
            { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
            { root: baseline, name: 'Tollgate@baseline', manifestsDir: 'manifests-baseline' },
          ),
      ]);
    }
    // Variants side by side (repeatable): --variant 'name=<node flags>[ | <data-plane flags>]', e.g.
    // 'semi8=--max-semi-space-size=8' or 'nolog=| --access-log-sample 0'.
    for (const spec of values.variant ?? []) {
      const eq = spec.indexOf('=');
      const label = eq === -1 ? spec : spec.slice(0, eq);
      const [node = '', dataplane = ''] = eq === -1 ? [] : spec.slice(eq + 1).split('|');
      const words = (text: string): string[] => text.split(' ').filter(Boolean);
      plan.push([
        'variant',
        () =>
          startTollgate(
            env,
            { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
            {
              nodeArgs: words(node),
              dataplaneArgs: words(dataplane),
              name: `Tollgate[${label}]`,
              manifestsDir: `manifests-${label}`,
            },
          ),
      ]);
    }
    // Multi-core: the data plane with N workers (worth it only with a core per worker).
    if (values.workers) {
      const workers = values.workers;
      plan.push([
        'workers',
        () =>
          startTollgate(
            env,
            { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
            {
              // No Redis in the benchmark, and it has no budgets or global limits to overspend.
              dataplaneArgs: ['--workers', workers, '--allow-per-worker-counters'],
              name: `Tollgate×${workers}`,
              manifestsDir: 'manifests-workers',
            },
          ),
      ]);
    }
    const targets: Target[] = [];
    for (const [id, start] of plan)
      if (!only || only.has(id) || id === 'baseline' || id === 'workers' || id === 'variant')
        targets.push(await start());
    for (const w of workloads) results.set(w.id, await measureWorkload(targets, w, bodies.get(w.id)));
    halfLoad = await measureHalfLoad(targets, results.get('json') ?? []);
  } finally {
    await stopAll();
  }
  const date = started.toISOString().slice(0, 10);
  const header = [
    `# Benchmark ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `Command: \`scripts/toolchain.sh node bench/run.ts${process.argv
      .slice(2)
      .map((a) => ` ${shellQuote(a)}`)
      .join('')}\``,
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; wrk on core ${LOAD_CORE}, proxy + upstream on core ${PROXY_CORE} (taskset). Load average (1 min): ${loadBefore.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end.`,
    `Load: wrk -t2 -c${connections}, ${runs} run(s) × ${seconds} s after ${warmup} s warm-up, interleaved across targets, medians; added latency from a separate ${latencySeconds} s run at one connection. Portkey ${PORTKEY_VERSION}. Tollgate: standalone, 1,000 routes, access log and metrics on.`,
    ...(values.note ? ['', `Note: ${values.note}`] : []),
    '',
  ];
  const report = [...header, ...workloads.map((w) => table(w, results.get(w.id)!)), halfLoad].join('\n');
  process.stdout.write(`\n${report}\n`);
  const dir = path.join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = values.out ?? path.join(dir, `${date}${quick ? '-quick' : ''}.md`);
  writeFileSync(file, `${report}\n`);
  process.stderr.write(`written to ${path.relative(process.cwd(), file)}\n`);
  if (values.keep) process.stderr.write(`logs kept in ${work}\n`);
  else rmSync(work, { recursive: true, force: true });
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  await stopAll();
  process.exit(1);
});
