// Runs wrk pinned to its own core and reads its report.
import path from 'node:path';
import { runLoadTool } from './load-tool.ts';

export interface WrkResult {
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface WrkLoad {
  url: string;
  connections: number;
  threads: number;
  seconds: number;
  core: number;
  /** A request body file: the request is then a JSON POST (lua/post.lua). */
  bodyFile?: string;
  headers?: Record<string, string>;
}

const toMs = (value: string, unit: string): number =>
  Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit]!;

export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\b/m.exec(out);
  if (!rps || !p50 || !p99) throw new Error(`unexpected wrk output:\n${out}`);
  const requests = Number(/(\d+) requests in /.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    rps: Number(rps[1]),
    requests,
    p50Ms: toMs(p50[1]!, p50[2]!),
    p99Ms: toMs(p99[1]!, p99[2]!),
    errors: non2xx + socketErrors,
  };
}

export function runWrk(load: WrkLoad): Promise<WrkResult> {
  const args = [
    '-c',
    String(load.core),
    'wrk',
    `-t${load.threads}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    '--latency',
  ];
  for (const [name, value] of Object.entries(load.headers ?? {})) args.push('-H', `${name}: ${value}`);
  if (load.bodyFile) args.push('-s', path.join(import.meta.dirname, 'lua/post.lua'));
  args.push(load.url);
  return runLoadTool('wrk', args, parseWrk, { ...process.env, BENCH_BODY_FILE: load.bodyFile ?? '' });
}
