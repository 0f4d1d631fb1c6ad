// Child processes of a benchmark run: each in its own process group pinned to a core with
// taskset, output to a log file, and all of them stopped on exit, failure or Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
}

const running = new Set<Proc>();

/** Starts `command args` on `core` (taskset), stdout+stderr appended to `logFile`. */
export function startPinned(
  name: string,
  core: number,
  command: string,
  args: string[],
  options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Proc {
  const log = openSync(options.logFile, 'a');
  // detached: its own process group, so a stop reaches the workers it forks (nginx).
  const child = spawn('taskset', ['-c', String(core), command, ...args], {
    stdio: ['ignore', log, log],
    env: options.env ?? process.env,
    cwd: options.cwd,
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  const proc = { name, pid: child.pid, child, logFile: options.logFile };
  running.add(proc);
  child.once('exit', () => running.delete(proc));
  return proc;
}

function alive(proc: Proc): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

export async function stop(proc: Proc): Promise<void> {
  if (!alive(proc)) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop));
}

/** Synchronous last resort for process exit: no awaiting possible there. */
function killAllNow(): void {
  for (const proc of running) {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping everything the benchmark started\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

/**
 * Polls until `probe` resolves true, failing with `what` after `timeoutMs`, or at once when one
 * of `watch` exits (its log says why).
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
  watch: Proc[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = watch.find((p) => !alive(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; see ${dead.logFile}`);
    try {
      if (await probe()) return;
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error(`${what} was not ready after ${timeoutMs / 1000} s`);
}

export async function httpOk(url: string, init?: RequestInit): Promise<boolean> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
  await res.arrayBuffer();
  return res.ok;
}

interface ProcInfo {
  ppid: number;
  rssKiB: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

async function processTable(): Promise<Map<number, ProcInfo>> {
  const { readFile, readdir } = await import('node:fs/promises');
  const table = new Map<number, ProcInfo>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(pid, {
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0),
        rssKiB: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0),
        cpuTicks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // exited meanwhile
    }
  }
  return table;
}

/** Sums `field` over a process and its descendants (nginx: master + worker; cluster workers). */
async function treeSum(rootPid: number, field: (info: ProcInfo) => number): Promise<number> {
  const table = await processTable();
  let total = 0;
  for (const [pid, info] of table) {
    for (let p: number | undefined = pid; p; p = table.get(p)?.ppid) {
      if (p === rootPid) {
        total += field(info);
        break;
      }
    }
  }
  return total;
}

/** Resident set of a process and its descendants, in MiB. */
export async function rssMiB(rootPid: number): Promise<number> {
  return (await treeSum(rootPid, (i) => i.rssKiB)) / 1024;
}

/**
 * CPU time (user + system) a process and its descendants have used so far, in ms: the difference
 * over a run divided by the requests served is the CPU cost of a request, a figure that other
 * work on a shared machine disturbs far less than requests per second.
 */
export async function cpuMs(rootPid: number): Promise<number> {
  // Linux reports in USER_HZ, 100 on every common configuration.
  return (await treeSum(rootPid, (i) => i.cpuTicks)) * 10;
}

/** Running processes other than those named, e.g. everything but the shared upstream. */
export function runningExcept(...names: string[]): Proc[] {
  return [...running].filter((p) => !names.includes(p.name));
}

/**
 * `count` distinct loopback ports that were free a moment ago (all held open together while
 * picked, so none repeats), handed out one per call of the returned function.
 */
export async function freePorts(count: number): Promise<() => number> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const address = server.address();
    ports.push(typeof address === 'object' && address ? address.port : 0);
  }
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return () => {
    const port = ports.pop();
    if (port === undefined) throw new Error(`the benchmark needed more than ${count} ports`);
    return port;
  };
}
