// The benchmarks, run end to end with tiny durations so they cannot rot: each script starts what
// it measures, loads it, and writes its table. No thresholds: a figure here means nothing on a
// busy test machine; only that every script still works and reports every row. (The scripts
// install wrk, nginx and HAProxy from Debian when missing, as `make bench` does.)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type StartedProcess, startProcess, stopAllProcesses } from '@tollgate/testkit';

const root = path.resolve(import.meta.dirname, '../..');
// Several real processes each, and a kube-apiserver for the control-plane script.
const SLOW = 20 * 60_000;

let dir: string;
const scripts = new Set<StartedProcess>();
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tollgate-bench-smoke-'));
});
afterAll(async () => {
  // SIGTERM first: a bench script then stops every process group it started.
  await Promise.all([...scripts].map((p) => p.stop('SIGTERM', 10_000)));
  await stopAllProcesses();
  await rm(dir, { recursive: true, force: true });
});

async function runScript(script: string, args: string[]): Promise<string> {
  const proc = startProcess(process.execPath, [path.join(root, 'bench', script), ...args], {
    name: script,
    cwd: root,
  });
  scripts.add(proc);
  const code = await new Promise<number | null>((resolve) => proc.child.once('exit', resolve));
  scripts.delete(proc);
  if (code !== 0) throw new Error(`${script} exited ${code}:\n${proc.output().slice(-4000)}`);
  return proc.output();
}

test(
  'bench/run.ts measures direct, nginx, HAProxy and Tollgate on all three workloads and writes the table',
  async () => {
    const out = path.join(dir, 'run.md');
    await runScript('run.ts', [
      '--runs',
      '1',
      '--seconds',
      '1',
      '--warmup',
      '0',
      '--latency-seconds',
      '1',
      '--connections',
      '4',
      '--only',
      'direct,nginx,haproxy,tollgate',
      '--out',
      out,
    ]);
    const report = await readFile(out, 'utf8');
    const sections = report.split('\n### ').slice(1);
    const titles = [
      '46 B JSON GET\n',
      'chat completion POST',
      'streamed chat completion',
      '46 B JSON GET at ',
    ];
    expect(sections.map((s) => titles.findIndex((t) => s.startsWith(t)))).toEqual([0, 1, 2, 3]);
    // Every target has a row in every workload, with a number of requests per second and no errors.
    for (const section of sections.slice(0, 3))
      for (const target of ['direct', 'nginx', 'HAProxy', 'Tollgate'])
        expect(section).toMatch(new RegExp(`^\\| ${target} \\| [\\d,]+ \\|.* \\| 0 \\|$`, 'm'));
    expect(report).toMatch(/Tollgate\/nginx \d+\.\d+×/);
    // The paced half-load run: direct, nginx and Tollgate.
    for (const target of ['direct', 'nginx', 'Tollgate'])
      expect(sections[3]).toMatch(new RegExp(`^\\| ${target} \\| `, 'm'));
  },
  SLOW,
);

test(
  'bench/control-plane.ts reports build, lookup, change → traffic (file and kubectl), memory and swaps',
  async () => {
    const out = path.join(dir, 'control-plane.md');
    await runScript('control-plane.ts', [
      '--quick',
      '--changes',
      '1',
      '--swap-seconds',
      '1',
      '--swap-routes',
      '1000',
      '--soak-seconds',
      '2',
      '--out',
      out,
    ]);
    const report = await readFile(out, 'utf8');
    expect(report).toMatch(/^\| 10,000 \| [\d.]+ \|/m);
    expect(report).toContain('### Snapshot swaps under load (1,000 routes');
    expect(report).toMatch(/^\| idle, 1,000 routes, no AI provider \| [\d.]+ \|$/m);
    expect(report).toMatch(/10,000 \/ 100 routes: [\d.]+× per hit/);
    expect(report).toMatch(/^\| standalone \(file written → served\).* \| 1 \| [\d.]+ \|/m);
    expect(report).toMatch(/^\| kubernetes \(`kubectl apply` started → served\).* \| 1 \| [\d.]+ \|/m);
    expect(report).toMatch(/^\| a swap every second .* \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0 \|$/m);
  },
  SLOW,
);

test(
  'bench/profile.ts profiles the data plane under load and lists where its time goes',
  async () => {
    const output = await runScript('profile.ts', ['--seconds', '1', '--only', 'json', '--top', '5']);
    expect(output).toMatch(/== json: \d+ rps/);
    expect(output).toContain('self time by function:');
  },
  SLOW,
);
