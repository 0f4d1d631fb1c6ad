// Helpers for the observability checks: metric names out of docs/observability.md, out of PromQL
// (with the Prometheus project's own PromQL grammar) and out of a Prometheus text scrape.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { helmTemplate, type K8sObject, parseManifests, provisionK8sTools } from '../src/chart/index.ts';

export const repoRoot = path.resolve(import.meta.dirname, '../..');

/** Every metric named in the first column of a table in docs/observability.md. */
export async function documentedMetrics(): Promise<Set<string>> {
  const doc = await readFile(path.join(repoRoot, 'docs/observability.md'), 'utf8');
  const names = new Set<string>();
  for (const line of doc.split('\n')) {
    const m = /^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** Grafana template variables replaced by something PromQL parses ($__rate_interval → 5m, $x → x). */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?(\w+)(?::\w+)?\}?/g, '$1');
}

/** The metric names a PromQL expression selects. Throws on an expression that does not parse. */
export function metricNamesOf(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const tree = parser.parse(text);
  const names: string[] = [];
  let error: string | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError) error ??= `cannot parse PromQL at ${node.from}: ${text}`;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(text.slice(node.from, node.to));
      if (node.name === 'UnquotedLabelMatcher' || node.name === 'QuotedLabelMatcher') {
        const matcher = text.slice(node.from, node.to);
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(matcher);
        if (m) names.push(m[1]!);
      }
    },
  });
  if (error) throw new Error(error);
  return names;
}

/** Metric families in a Prometheus text scrape (from the # TYPE lines), with their types. */
export function scrapedFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) families.set(m[1]!, m[2]!);
  }
  return families;
}

/** The family a sample name belongs to: histogram series carry _bucket, _sum and _count. */
export function familyOf(name: string, families: ReadonlyMap<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' || families.get(base) === 'summary' ? base : undefined;
}

/** Series (sample lines) in a scrape. */
export function seriesCount(text: string): number {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
}

/** Every PromQL expression in a Grafana dashboard (panel targets and templating queries). */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    if (typeof object.expr === 'string') out.push(object.expr);
    for (const child of Object.values(object)) visit(child);
  };
  visit(dashboard);
  return out;
}

/** The dashboard's templating variables that query Prometheus: label_values(metric, label). */
export function templatingMetricNames(dashboard: {
  templating?: { list?: Array<{ query?: unknown }> };
}): string[] {
  const names: string[] = [];
  for (const variable of dashboard.templating?.list ?? []) {
    const query =
      typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string })?.query;
    const m = typeof query === 'string' ? /^label_values\(\s*([a-z_:][a-z0-9_:]*)/.exec(query) : null;
    if (m) names.push(m[1]!);
  }
  return names;
}

export interface RenderedMonitoring {
  /** Every dashboard in the dashboards ConfigMap, parsed. */
  dashboards: Map<string, unknown>;
  /** The PrometheusRule's spec (its `groups` is a Prometheus rule file). */
  ruleSpec: { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };
  /** The chart's objects as rendered. */
  objects: K8sObject[];
}

/** The chart rendered with its observability scenario (dashboards and alerts on). */
export async function renderMonitoring(): Promise<RenderedMonitoring> {
  const tools = await provisionK8sTools();
  const objects = parseManifests(await helmTemplate(tools, { valuesFiles: ['observability-values.yaml'] }));
  const configMap = objects.find(
    (o) => o.kind === 'ConfigMap' && String(o.metadata?.name).endsWith('-dashboards'),
  );
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  if (!configMap || !rule)
    throw new Error('the observability scenario rendered no dashboards ConfigMap or PrometheusRule');
  const data = (configMap as { data?: Record<string, string> }).data ?? {};
  const dashboards = new Map(Object.entries(data).map(([file, json]) => [file, JSON.parse(json) as unknown]));
  return {
    dashboards,
    ruleSpec: (rule as unknown as { spec: RenderedMonitoring['ruleSpec'] }).spec,
    objects,
  };
}

/** Every PromQL expression the chart ships: dashboard queries and alert expressions. */
export function monitoringExpressions(rendered: RenderedMonitoring): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const [file, dashboard] of rendered.dashboards)
    for (const expr of dashboardExpressions(dashboard)) out.push({ where: file, expr });
  for (const group of rendered.ruleSpec.groups)
    for (const rule of group.rules)
      out.push({ where: String(rule.alert ?? rule.record), expr: String(rule.expr) });
  return out;
}
