// The chart's dashboards and alerts: rendered by helm, checked in the tools' own formats (the
// dashboard's shape, `promtool check rules` and `promtool test rules`), and every query's metrics
// documented in docs/observability.md. (kubeconform and a real API server check the PrometheusRule
// against its CRD in chart.test.ts, like every other object of every scenario.)
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { z } from 'zod';
import { helmTemplate, parseManifests, provisionK8sTools } from '../src/chart/index.ts';
import {
  documentedMetrics,
  metricNamesOf,
  monitoringExpressions,
  type RenderedMonitoring,
  renderMonitoring,
  repoRoot,
  templatingMetricNames,
} from './observability-metrics.ts';

const PROVISION_TIMEOUT = 45 * 60_000;
const exec = promisify(execFile);

const Target = z.object({
  refId: z.string().min(1),
  expr: z.string().min(1),
  legendFormat: z.string().optional(),
});
const Datasource = z.object({
  type: z.literal('prometheus'),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's data-source variable, written as is in the JSON.
  uid: z.literal('${datasource}'),
});
const GridPos = z
  .object({
    h: z.number().int().positive(),
    w: z.number().int().min(1).max(24),
    x: z.number().int().min(0),
    y: z.number().int().min(0),
  })
  .refine((g) => g.x + g.w <= 24, 'a panel must fit the 24-column grid');
const Panel = z.discriminatedUnion('type', [
  z.object({ id: z.number().int(), type: z.literal('row'), title: z.string().min(1), gridPos: GridPos }),
  z.object({
    id: z.number().int(),
    type: z.enum(['timeseries', 'stat', 'gauge', 'table', 'bargauge']),
    title: z.string().min(1),
    datasource: Datasource,
    gridPos: GridPos,
    fieldConfig: z.object({ defaults: z.object({ unit: z.string() }) }),
    targets: z.array(Target.extend({ datasource: Datasource })).min(1),
  }),
]);
const Dashboard = z.object({
  title: z.string().min(1),
  uid: z.string().regex(/^[a-zA-Z0-9_-]{1,40}$/),
  schemaVersion: z.number().int().min(36),
  editable: z.boolean(),
  time: z.object({ from: z.string(), to: z.string() }),
  templating: z.object({
    list: z.array(
      z.object({ name: z.string(), type: z.enum(['datasource', 'query', 'custom', 'interval']) }),
    ),
  }),
  panels: z.array(Panel).min(1),
});

let rendered: RenderedMonitoring;
let work: string;

beforeAll(async () => {
  rendered = await renderMonitoring();
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-rules-'));
}, PROVISION_TIMEOUT);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the Grafana dashboard', () => {
  test('ships in a ConfigMap the Grafana sidecar picks up, byte for byte the file in the chart', async () => {
    const configMap = rendered.objects.find(
      (o) => o.kind === 'ConfigMap' && String(o.metadata?.name).endsWith('-dashboards'),
    ) as unknown as {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      data: Record<string, string>;
    };
    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(configMap.metadata.annotations).toMatchObject({ grafana_folder: 'Tollgate' });
    const onDisk = await readFile(path.join(repoRoot, 'charts/tollgate/dashboards/tollgate.json'), 'utf8');
    expect(configMap.data['tollgate.json']).toBe(onDisk.trimEnd());
  });

  test('has the shape Grafana imports: panels on the grid with Prometheus targets, unique ids, a data-source variable', () => {
    for (const [file, json] of rendered.dashboards) {
      const dashboard = Dashboard.parse(json);
      const ids = dashboard.panels.map((p) => p.id);
      expect({ file, duplicates: ids.filter((id, i) => ids.indexOf(id) !== i) }).toEqual({
        file,
        duplicates: [],
      });
      expect(dashboard.templating.list.find((v) => v.name === 'datasource')?.type).toBe('datasource');
    }
  });

  test('covers traffic, errors, latency, tokens and cost by consumer/model/provider, and provider health', () => {
    const titles = [...rendered.dashboards.values()].flatMap((d) =>
      (d as { panels: Array<{ title: string }> }).panels.map((p) => p.title.toLowerCase()),
    );
    for (const topic of [
      'requests per second',
      '5xx',
      'p99',
      'by consumer',
      'by model',
      'by provider',
      'time to first token',
      'circuit breaker',
      'healthy endpoints',
    ])
      expect({ topic, found: titles.some((t) => t.includes(topic)) }).toEqual({ topic, found: true });
  });
});

describe('the alerts', () => {
  test('the PrometheusRule holds the alerts the gateway needs, each with a severity, summary and description', () => {
    const alerts = rendered.ruleSpec.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'TollgateHighErrorRate',
        'TollgateHighLatencyP99',
        'TollgateProviderFailingOver',
        'TollgateBudgetNearlySpent',
        'TollgateDataplaneOnOldSnapshot',
        'TollgateSnapshotNacked',
      ]),
    );
    for (const alert of alerts) {
      expect(alert).toMatchObject({
        labels: { severity: expect.any(String) },
        annotations: { summary: expect.any(String), description: expect.any(String) },
      });
    }
  });

  test('`promtool check rules` accepts the rule groups', async () => {
    const file = path.join(work, 'tollgate.rules.yaml');
    await writeFile(file, stringify({ groups: rendered.ruleSpec.groups }));
    const { stdout } = await exec('promtool', ['check', 'rules', file]);
    expect(stdout).toContain('SUCCESS');
  });

  test('`promtool test rules`: the alerts fire on the series that mean trouble and stay quiet otherwise', async () => {
    const rules = path.join(work, 'tollgate.rules.yaml');
    await writeFile(rules, stringify({ groups: rendered.ruleSpec.groups }));
    const tests = path.join(work, 'tollgate.rules.test.yaml');
    const alerts = rendered.ruleSpec.groups.flatMap((g) => g.rules);
    /** The alert's annotations as promtool expands them: the given summary, the fixed description. */
    const annotations = (alert: string, summary: string) => ({
      summary,
      description: (alerts.find((a) => a.alert === alert)!.annotations as { description: string })
        .description,
    });
    await writeFile(
      tests,
      stringify({
        rule_files: [rules],
        evaluation_interval: '1m',
        tests: [
          {
            interval: '1m',
            input_series: [
              // 10 of 100 requests per minute fail on one route, none on the other.
              {
                series: 'tollgate_requests_total{route="shop/api/0/0",status_class="2xx"}',
                values: '0+90x30',
              },
              {
                series: 'tollgate_requests_total{route="shop/api/0/0",status_class="5xx"}',
                values: '0+10x30',
              },
              {
                series: 'tollgate_requests_total{route="shop/web/0/0",status_class="2xx"}',
                values: '0+100x30',
              },
              { series: 'tollgate_controller_dataplanes_behind', values: '1x30' },
              { series: 'tollgate_controller_nacks_total', values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1' },
              { series: 'tollgate_controller_connected_dataplanes', values: '2x30' },
              {
                series:
                  'tollgate_ai_upstream_attempts_total{tollgate_provider="ai/openai",outcome="success"}',
                values: '0+50x30',
              },
              {
                series:
                  'tollgate_ai_upstream_attempts_total{tollgate_provider="ai/openai",outcome="server_error"}',
                values: '0+50x30',
              },
              {
                series:
                  'tollgate_budget_used_ratio{budget="team/limits/monthly",per="consumer",consumer="team/app",team="",tenant=""}',
                values: '0.95x30',
              },
            ],
            alert_rule_test: [
              {
                eval_time: '20m',
                alertname: 'TollgateHighErrorRate',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning', route: 'shop/api/0/0' },
                    exp_annotations: annotations(
                      'TollgateHighErrorRate',
                      'Route shop/api/0/0 answers 10% of its requests with 5xx.',
                    ),
                  },
                ],
              },
              {
                eval_time: '20m',
                alertname: 'TollgateDataplaneOnOldSnapshot',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning' },
                    exp_annotations: annotations(
                      'TollgateDataplaneOnOldSnapshot',
                      '1 data plane(s) do not run the latest configuration.',
                    ),
                  },
                ],
              },
              {
                eval_time: '10m',
                alertname: 'TollgateSnapshotNacked',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning' },
                    exp_annotations: annotations(
                      'TollgateSnapshotNacked',
                      'Data planes rejected a configuration snapshot.',
                    ),
                  },
                ],
              },
              { eval_time: '20m', alertname: 'TollgateNoDataplanes', exp_alerts: [] },
              {
                eval_time: '20m',
                alertname: 'TollgateProviderFailingOver',
                exp_alerts: [
                  {
                    exp_labels: { severity: 'warning', tollgate_provider: 'ai/openai' },
                    exp_annotations: annotations(
                      'TollgateProviderFailingOver',
                      'AI provider ai/openai fails 50% of its attempts.',
                    ),
                  },
                ],
              },
              {
                eval_time: '5m',
                alertname: 'TollgateBudgetNearlySpent',
                exp_alerts: [
                  {
                    exp_labels: {
                      severity: 'info',
                      budget: 'team/limits/monthly',
                      per: 'consumer',
                      consumer: 'team/app',
                    },
                    exp_annotations: annotations(
                      'TollgateBudgetNearlySpent',
                      'Budget team/limits/monthly (consumer team/app) is 95% spent.',
                    ),
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    const { stdout } = await exec('promtool', ['test', 'rules', tests]).catch(
      (error: { stdout?: string; stderr?: string }) => {
        throw new Error(`promtool test rules failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      },
    );
    expect(stdout).toContain('SUCCESS');
  });
});

test('every metric a dashboard query or an alert names is documented in docs/observability.md', async () => {
  const documented = await documentedMetrics();
  const base = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
  const missing: string[] = [];
  const expressions = monitoringExpressions(rendered);
  expect(expressions.length).toBeGreaterThan(30);
  for (const { where, expr } of expressions) {
    const names = metricNamesOf(expr);
    expect({ where, expr, names: names.length > 0 }).toEqual({ where, expr, names: true });
    for (const name of names)
      if (!documented.has(name) && !documented.has(base(name))) missing.push(`${where}: ${name}`);
  }
  for (const dashboard of rendered.dashboards.values())
    for (const name of templatingMetricNames(dashboard as never))
      if (!documented.has(name)) missing.push(`templating: ${name}`);
  expect(missing).toEqual([]);
});

test(
  'the defaults render neither dashboards nor alerts',
  async () => {
    const tools = await provisionK8sTools();
    const objects = parseManifests(await helmTemplate(tools));
    expect(
      objects.filter((o) => o.kind === 'PrometheusRule' || String(o.metadata?.name).endsWith('-dashboards')),
    ).toEqual([]);
  },
  PROVISION_TIMEOUT,
);

describe('tracing and access-log values become the components’ environment', () => {
  type Container = { env?: Array<{ name: string; value?: string }> };
  const envOf = (
    objects: RenderedMonitoring['objects'],
    component: string,
  ): Record<string, string | undefined> => {
    const deployment = objects.find(
      (o) => o.kind === 'Deployment' && String(o.metadata?.name).endsWith(`-${component}`),
    ) as unknown as { spec: { template: { spec: { containers: Container[] } } } };
    const container = deployment.spec.template.spec.containers[0]!;
    return Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
  };

  test('tracing.* sets the standard OTEL_* variables on both components, each with its service name', () => {
    for (const component of ['controller', 'dataplane']) {
      expect(envOf(rendered.objects, component)).toMatchObject({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_SERVICE_NAME: `tollgate-${component}`,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_RESOURCE_ATTRIBUTES: 'k8s.namespace.name=tollgate-system,deployment.environment.name=test',
      });
    }
    expect(envOf(rendered.objects, 'dataplane')).toMatchObject({
      TOLLGATE_ACCESS_LOG_SAMPLE: '0.5',
      TOLLGATE_ACCESS_LOG_EXCLUDE: 'default/health',
    });
  });

  test('by default no OTEL_* variable is set (tracing off), and tracing without an endpoint is refused', async () => {
    const tools = await provisionK8sTools();
    const objects = parseManifests(await helmTemplate(tools));
    for (const component of ['controller', 'dataplane'])
      expect(Object.keys(envOf(objects, component)).filter((name) => name.startsWith('OTEL_'))).toEqual([]);
    await expect(helmTemplate(tools, { set: { 'tracing.enabled': true } })).rejects.toThrow(
      /tracing.enabled needs tracing.endpoint/,
    );
  });
});

describe('docs/observability.md', () => {
  const blocks = async (language: string): Promise<string[]> => {
    const doc = await readFile(path.join(repoRoot, 'docs/observability.md'), 'utf8');
    const fence = '```';
    return [...doc.matchAll(new RegExp(`${fence}${language}\\n([\\s\\S]*?)${fence}`, 'g'))].map((m) => m[1]!);
  };

  test(
    'every chart values example renders as-is',
    async () => {
      const tools = await provisionK8sTools();
      // Manifests (a Policy) are checked by observability-docs.test.ts; the rest are chart values.
      const examples = (await blocks('yaml')).filter((yaml) => !/^apiVersion: /m.test(yaml));
      expect(examples.length).toBeGreaterThanOrEqual(2);
      for (const [i, yaml] of examples.entries()) {
        const file = path.join(work, `docs-values-${i}.yaml`);
        await writeFile(file, yaml);
        const objects = parseManifests(await helmTemplate(tools, { valuesFiles: [file] }));
        expect(objects.length).toBeGreaterThan(0);
      }
    },
    PROVISION_TIMEOUT,
  );

  test('every PromQL example parses and names documented metrics', async () => {
    const documented = await documentedMetrics();
    const queries = (await blocks('promql')).flatMap((block) =>
      block.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')),
    );
    expect(queries.length).toBeGreaterThanOrEqual(4);
    for (const query of queries) {
      const names = metricNamesOf(query);
      expect({ query, undocumented: names.filter((n) => !documented.has(n)) }).toEqual({
        query,
        undocumented: [],
      });
    }
  });
});
