// Where the data plane spends its CPU under the benchmark load: starts the upstream and Tollgate
// (1,000 routes) with the data plane under `--cpu-prof`, runs wrk for each workload against a
// fresh data plane, and prints the top self-time functions of each profile.
//   scripts/toolchain.sh node bench/profile.ts [--seconds S] [--only json,chat,stream] [--top N]
//     [--connections C] [--keep]
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts, rssMiB, stop, stopAll } from './procs.ts';
import { CHAT_PATH, ensureDebianTools, JSON_PATH, MODEL, startTollgate, startUpstream } from './targets.ts';
import { runWrk } from './wrk.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    only: { type: 'string', default: 'json,chat,stream' },
    top: { type: 'string', default: '25' },
    connections: { type: 'string', default: '50' },
    keep: { type: 'boolean', default: false },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name + file:line), as a share of all samples. */
export function summarise(profile: CpuProfile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url
      .replace(/^file:\/\//, '')
      .replace(/^.*\/node_modules\/\.pnpm\/([^/]+)\/node_modules\//, '$1:')
      .replace(/^.*\/work\/main\//, '');
    const key = `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const group = file ? (file.includes(':') ? file.split(':')[0]! : file) : functionName;
    byFile.set(group, (byFile.get(group) ?? 0) + dt);
  }
  const pct = (v: number): string => `${((100 * v) / total).toFixed(1).padStart(5)}%`;
  const lines = ['self time by function:'];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  lines.push('self time by file / package:');
  for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(v)}  ${k}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  ensureDebianTools();
  const work = mkdtempSync(path.join(tmpdir(), 'tollgate-profile-'));
  const core = cpus().length > 1 ? 1 : 0;
  const port = await freePorts(64);
  const upstreamPort = port();
  const env = { work, core, upstreamPort };
  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  try {
    await startUpstream(env, upstreamPort);
    for (const workload of values.only.split(',')) {
      const dir = path.join(work, `prof-${workload}`);
      mkdirSync(dir, { recursive: true });
      const tg = await startTollgate(
        env,
        { listen: port(), admin: port(), controllerAdmin: port(), grpc: port() },
        {
          nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
          // The sources, not the bundle (the same code): samples then name their files and packages.
          entry: 'source',
          name: `tollgate-${workload}`,
          manifestsDir: `m-${workload}`,
        },
      );
      const idle = await rssMiB(tg.dataplane.pid);
      let bodyFile: string | undefined;
      if (workload !== 'json') {
        bodyFile = path.join(work, `${workload}.json`);
        writeFileSync(
          bodyFile,
          JSON.stringify({
            model: MODEL,
            ...(workload === 'stream' ? { stream: true } : {}),
            messages: [{ role: 'user', content: 'Say hello in fifty words.' }],
          }),
        );
      }
      const r = await runWrk({
        url: `${tg.base}${workload === 'json' ? JSON_PATH : CHAT_PATH}`,
        threads: 2,
        connections,
        seconds,
        core: 0,
        bodyFile,
      });
      const loaded = await rssMiB(tg.dataplane.pid);
      await stop(tg.dataplane);
      if (tg.controller) await stop(tg.controller);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
      process.stdout.write(
        `\n== ${workload}: ${Math.round(r.rps)} rps, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, errors ${r.errors}; RSS idle ${idle.toFixed(0)} MiB, after load ${loaded.toFixed(0)} MiB\n`,
      );
      if (!file) {
        process.stdout.write('(no profile written)\n');
        continue;
      }
      const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
      process.stdout.write(`${summarise(profile, Number(values.top))}\n(profile: ${path.join(dir, file)})\n`);
    }
  } finally {
    await stopAll();
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  main().catch(async (error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await stopAll();
    process.exit(1);
  });
}
