// Fixed-rate load with hey (wrk cannot pace requests): latency at a given request rate, e.g. at
// half a proxy's maximum, where latency is the proxy's cost rather than queueing.
import { runLoadTool } from './load-tool.ts';

export interface PacedResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export interface PacedLoad {
  url: string;
  /** Requests per second in all. */
  rate: number;
  seconds: number;
  core: number;
  /** Concurrent connections (default: one per 200 requests/s); the rate is split evenly between them. */
  connections?: number;
}

export function parseHey(out: string): PacedResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const p50 = /^\s+50% in ([\d.]+) secs/m.exec(out);
  const p99 = /^\s+99% in ([\d.]+) secs/m.exec(out);
  if (!rps || !p50 || !p99) throw new Error(`unexpected hey output:\n${out}`);
  let errors = 0;
  for (const [, code, count] of out.matchAll(/^\s+\[(\d+)\]\s+(\d+) responses/gm))
    if (code !== '200') errors += Number(count);
  const errorSection = /Error distribution:\n([\s\S]*)$/.exec(out)?.[1] ?? '';
  for (const [, count] of errorSection.matchAll(/^\s+\[(\d+)\]/gm)) errors += Number(count);
  return { rps: Number(rps[1]), p50Ms: Number(p50[1]) * 1000, p99Ms: Number(p99[1]) * 1000, errors };
}

export function runHey(load: PacedLoad): Promise<PacedResult> {
  // Each hey worker waits for its answer before the next request: enough of them that every one
  // has ~5 ms per request, so the rate holds even when latency is a few milliseconds.
  const connections = load.connections ?? Math.max(10, Math.ceil(load.rate / 200));
  const perConnection = Math.max(1, Math.round(load.rate / connections));
  const args = [
    '-c',
    String(load.core),
    'hey',
    '-z',
    `${load.seconds}s`,
    '-c',
    String(connections),
    '-q',
    String(perConnection),
    '-disable-compression',
    load.url,
  ];
  return runLoadTool('hey', args, parseHey);
}
