// What observability costs the data plane: the same data plane, the same upstream, the same load
// (wrk), four ways, interleaved round by round so background load spreads evenly:
//   off        tracing off (the default); metrics and the access log as always
//   traced     tracing on, 100% sampling, exporting OTLP/HTTP protobuf to a local receiver
//   sampled    tracing on, 10% sampling (parentbased_traceidratio 0.1), same exporter
//   nometrics  tracing off and the per-request metric recording stubbed out (to price metrics)
// Prints requests/s, p99 and the data plane's CPU time per request (read from /proc around each
// run: far steadier than throughput on a shared machine) per mode, and the ratios. About 30 s:
//   scripts/toolchain.sh node bench/observability-overhead.ts [--seconds 2] [--rounds 3]
// (`--serve <mode>` is the child-process side: one data plane on the given ports.)
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Dataplane } from '../dataplane/src/index.ts';
import { RequestObserver, RouteMetrics } from '../dataplane/src/observability/index.ts';
import { emptySnapshotContent, sealSnapshot } from '../packages/snapshot/src/index.ts';
import { createLogger, startTracing } from '../packages/telemetry/src/index.ts';
import { parseWrk, type WrkResult } from './wrk.ts';

const MODES = ['off', 'traced', 'sampled', 'nometrics'] as const;
type Mode = (typeof MODES)[number];
const PATH = '/api/items/42';

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    port: { type: 'string' },
    upstream: { type: 'string' },
    otlp: { type: 'string' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '32' },
  },
});

/** Child side: one data plane in the given mode, ready when it prints "ready". */
async function serve(mode: Mode, port: number, upstreamPort: number, otlpPort: number): Promise<void> {
  const tracing =
    mode === 'traced' || mode === 'sampled'
      ? startTracing({
          serviceName: 'bench',
          env: {
            OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
            ...(mode === 'traced'
              ? { OTEL_TRACES_SAMPLER: 'always_on' }
              : { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
          },
        })
      : undefined;
  if (mode === 'nometrics') {
    RouteMetrics.prototype.record = () => {};
    RequestObserver.prototype.finished = () => {};
  }
  // The access log is serialised as always, then dropped: the terminal is not what is measured.
  const logger = createLogger({ name: 'dataplane', destination: { write: () => {} } });
  const dataplane = new Dataplane({
    logger,
    listen: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: 0 },
    ...(tracing?.tracer ? { tracer: tracing.tracer } : {}),
  });
  await dataplane.start();
  // A clean exit on SIGTERM, so `node --cpu-prof` writes its profile when a run profiles a mode.
  process.once('SIGTERM', () => process.exit(0));
  dataplane.applySnapshot(
    sealSnapshot({
      ...emptySnapshotContent(),
      virtualHosts: [
        {
          hostname: '*',
          routes: [
            {
              id: 'bench/api/0/0',
              route: { namespace: 'bench', name: 'api', rule: 0 },
              match: { path: { type: 'PathPrefix', value: '/api' }, headers: [], queryParams: [] },
              action: { kind: 'forward', backends: [{ clusterId: 'upstream', weight: 1 }] },
              timeouts: {},
            },
          ],
        },
      ],
      clusters: [
        { id: 'upstream', kind: 'url', tls: false, endpoints: [{ host: '127.0.0.1', port: upstreamPort }] },
      ],
    }),
  );
  process.stdout.write('ready\n');
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function spawnChild(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [import.meta.filename, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before it was ready`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
  });
}

function wrk(url: string, seconds: number, connections: number): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.once('error', reject);
    child.once('exit', () => {
      try {
        resolve(parseWrk(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** Clock ticks per second of /proc's CPU times. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far; undefined where /proc is not there. */
function cpuSeconds(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is 3rd, utime 14th, stime 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const children: ChildProcess[] = [];
  // The upstream: a small JSON answer, as cheap as it gets, in its own process.
  const upstreamScript = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200, { 'content-type': 'application/json', 'content-length': 27 }); s.end('{"id":42,"name":"an item"}\\n'); }); }).listen(0, '127.0.0.1', function () { process.stdout.write('ready ' + this.address().port + '\\n'); });`;
  const upstream = spawn(process.execPath, ['-e', upstreamScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(upstream);
  const upstreamPort = await new Promise<number>((resolve) =>
    upstream.stdout!.on('data', (c: Buffer) => {
      const m = /ready (\d+)/.exec(c.toString());
      if (m) resolve(Number(m[1]));
    }),
  );
  // The OTLP receiver: accepts every export and throws it away, counting spans' bytes.
  let exportedBytes = 0;
  const receiver = createServer((req, res) => {
    req.on('data', (c: Buffer) => {
      exportedBytes += c.length;
    });
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  const otlpPort = await listen(receiver);

  const ports = new Map<Mode, number>();
  const pids = new Map<Mode, number | undefined>();
  try {
    for (const mode of MODES) {
      const probe = createServer();
      const port = await listen(probe);
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const child = await spawnChild([
        '--serve',
        mode,
        '--port',
        String(port),
        '--upstream',
        String(upstreamPort),
        '--otlp',
        String(otlpPort),
      ]);
      children.push(child);
      ports.set(mode, port);
      pids.set(mode, child.pid);
    }
    const results = new Map<Mode, WrkResult[]>(MODES.map((m) => [m, []]));
    const cpuPerRequest = new Map<Mode, number[]>(MODES.map((m) => [m, []]));
    for (const mode of MODES) await wrk(`http://127.0.0.1:${ports.get(mode)}${PATH}`, 1, connections); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const mode of MODES) {
        const cpuBefore = cpuSeconds(pids.get(mode));
        const result = await wrk(`http://127.0.0.1:${ports.get(mode)}${PATH}`, seconds, connections);
        const cpuAfter = cpuSeconds(pids.get(mode));
        if (result.errors > 0) throw new Error(`${mode}: ${result.errors} errors`);
        results.get(mode)!.push(result);
        if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests > 0)
          cpuPerRequest.get(mode)!.push(((cpuAfter - cpuBefore) * 1e6) / result.requests);
      }
    }
    const rps = (m: Mode) => median(results.get(m)!.map((r) => r.rps));
    const p99 = (m: Mode) => median(results.get(m)!.map((r) => r.p99Ms));
    const cpu = (m: Mode) => (cpuPerRequest.get(m)!.length > 0 ? median(cpuPerRequest.get(m)!) : Number.NaN);
    const lines = [
      `observability overhead — ${rounds} rounds × ${seconds} s, ${connections} connections, load average ${loadavg()[0]!.toFixed(2)}`,
      '',
      '| Mode | Requests/s (median) | p99 ms (median) | CPU µs/request (median) |',
      '| --- | ---: | ---: | ---: |',
      ...MODES.map((m) => `| ${m} | ${rps(m).toFixed(0)} | ${p99(m).toFixed(2)} | ${cpu(m).toFixed(1)} |`),
      '',
      `- CPU per request: tracing at 100% adds ${(cpu('traced') - cpu('off')).toFixed(1)} µs (${((cpu('traced') / cpu('off') - 1) * 100).toFixed(1)}%), at 10% ${(cpu('sampled') - cpu('off')).toFixed(1)} µs (${((cpu('sampled') / cpu('off') - 1) * 100).toFixed(1)}%), metrics add ${(cpu('off') - cpu('nometrics')).toFixed(1)} µs (${((cpu('off') / cpu('nometrics') - 1) * 100).toFixed(1)}%)`,
      `- tracing at 100% sampling: ${((rps('traced') / rps('off')) * 100).toFixed(1)}% of the throughput with tracing off (cost ${((1 - rps('traced') / rps('off')) * 100).toFixed(1)}%); p99 × ${(p99('traced') / p99('off')).toFixed(2)}`,
      `- tracing at 10% sampling: ${((rps('sampled') / rps('off')) * 100).toFixed(1)}% of the throughput with tracing off (cost ${((1 - rps('sampled') / rps('off')) * 100).toFixed(1)}%)`,
      `- metrics: throughput with metrics ${((rps('off') / rps('nometrics')) * 100).toFixed(1)}% of without (cost ${((1 - rps('off') / rps('nometrics')) * 100).toFixed(1)}%)`,
      `- spans exported to the receiver: ${(exportedBytes / 1024 / 1024).toFixed(1)} MiB of OTLP protobuf`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    receiver.closeAllConnections();
    receiver.close();
  }
}

if (values.serve) {
  const mode = values.serve as Mode;
  if (!MODES.includes(mode)) throw new Error(`--serve must be one of ${MODES.join(', ')}`);
  await serve(mode, Number(values.port), Number(values.upstream), Number(values.otlp));
} else {
  await main();
}
