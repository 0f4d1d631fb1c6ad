// `node dataplane/src/main.ts usage --admin host:port --by consumer --window 1h`: asks a running
// data plane's admin port for its usage report and prints it as a table.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { USAGE_DIMENSIONS, USAGE_SORTS, type UsageReport } from './usage.ts';

export const USAGE_CLI_HELP = `Usage: node dataplane/src/main.ts usage [options]

  --admin <host:port>   the data plane's admin address (default 127.0.0.1:9901)
  --by <dimension>      ${USAGE_DIMENSIONS.join(' | ')} (default consumer)
  --window <duration>   how far back: 15m, 1h, 24h (default 1h; at most the 24 h the data plane keeps)
  --top <n>             rows (default 10)
  --sort <figure>       ${USAGE_SORTS.join(' | ')} (default tokens)
  --json                print the report as JSON
`;

const Row = z.object({
  key: z.string(),
  requests: z.number(),
  errors: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalTokens: z.number(),
  cost: z.record(z.string(), z.number()),
});
const Report = z.object({
  by: z.enum(USAGE_DIMENSIONS),
  sort: z.enum(USAGE_SORTS),
  windowSeconds: z.number(),
  from: z.string(),
  to: z.string(),
  rows: z.array(Row),
  total: Row.omit({ key: true }),
});

/** Fetches the report from a data plane's admin port. Throws with the admin's own message on a 4xx. */
export async function fetchUsage(
  admin: string,
  query: { by: string; window: string; top: number; sort: string },
): Promise<UsageReport> {
  const params = new URLSearchParams({
    by: query.by,
    window: query.window,
    limit: String(query.top),
    sort: query.sort,
  });
  const response = await fetch(`http://${admin}/usage?${params}`);
  const body: unknown = await response.json();
  if (!response.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? `HTTP ${response.status}`;
    throw new Error(message);
  }
  return Report.parse(body);
}

function formatCost(cost: Record<string, number>): string {
  const parts = Object.entries(cost).map(([currency, value]) => `${value.toFixed(4)} ${currency}`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

/** The report as an aligned text table, heaviest first, with a total line. */
export function renderUsageTable(report: UsageReport): string {
  const header = [report.by.toUpperCase(), 'REQUESTS', 'ERRORS', 'INPUT', 'OUTPUT', 'TOKENS', 'COST'];
  const lines = report.rows.map((r) => [
    r.key,
    String(r.requests),
    String(r.errors),
    String(r.inputTokens),
    String(r.outputTokens),
    String(r.totalTokens),
    formatCost(r.cost),
  ]);
  const t = report.total;
  const footer = [
    'TOTAL',
    String(t.requests),
    String(t.errors),
    String(t.inputTokens),
    String(t.outputTokens),
    String(t.totalTokens),
    formatCost(t.cost),
  ];
  const all = [header, ...lines, footer];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const render = (row: string[]): string =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const title = `Top ${report.by}s by ${report.sort}, ${report.from} → ${report.to}`;
  return [title, render(header), ...lines.map(render), render(footer)].join('\n');
}

/** Entry point for the `usage` subcommand; returns the exit code. */
export async function runUsageCli(
  argv: string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      admin: { type: 'string', default: '127.0.0.1:9901' },
      by: { type: 'string', default: 'consumer' },
      window: { type: 'string', default: '1h' },
      top: { type: 'string', default: '10' },
      sort: { type: 'string', default: 'tokens' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    out(USAGE_CLI_HELP);
    return 0;
  }
  const report = await fetchUsage(values.admin, {
    by: values.by,
    window: values.window,
    top: Number(values.top),
    sort: values.sort,
  });
  out(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderUsageTable(report)}\n`);
  return 0;
}
