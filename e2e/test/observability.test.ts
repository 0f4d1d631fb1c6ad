// Metrics after real traffic through the real standalone stack (controller and data-plane
// processes): every metric docs/observability.md lists is in a scrape, every metric the chart's
// dashboard and alerts query exists, and 10,000 distinct paths add no series.

import { readFile } from 'node:fs/promises';
import {
  type MockProvider,
  startOpenAIMock,
  startUpstream,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import OpenAI from 'openai';
import { Pool, request } from 'undici';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import {
  documentedMetrics,
  familyOf,
  metricNamesOf,
  monitoringExpressions,
  renderMonitoring,
  scrapedFamilies,
  seriesCount,
} from './observability-metrics.ts';

const SLOW = 120_000;
const CONSUMER_KEY = 'obs-app-key-0123456789';

let upstream: TestUpstream;
let provider: MockProvider;
let stack: StandaloneStack;

function manifests(llmURL: string, llmKey: string, webURL: string): string {
  return `
apiVersion: v1
kind: Secret
metadata: { name: app-key, namespace: obs }
stringData: { key: ${CONSUMER_KEY} }
---
apiVersion: v1
kind: Secret
metadata: { name: llm-key, namespace: obs }
stringData: { api-key: ${llmKey} }
---
apiVersion: tollgate.dev/v1alpha1
kind: Consumer
metadata: { name: app, namespace: obs }
spec:
  team: shop
  apiKeys:
    - name: current
      secretRef: { name: app-key, key: key }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: mock, namespace: obs }
spec:
  type: openai
  baseURL: ${llmURL}
  auth: { secretRef: { name: llm-key, key: api-key } }
  models:
    - name: gpt-4o-mini
      pricing: { currency: USD, inputPerMillion: "0.15", outputPerMillion: "0.60" }
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: llm, namespace: obs }
spec:
  rules:
    - matches: [{ path: { type: PathPrefix, value: /v1 } }]
      backendRefs: [{ kind: AIProvider, name: mock }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: web, namespace: obs }
spec:
  rules:
    - matches: [{ path: { type: PathPrefix, value: /web } }]
      backendRefs: [{ url: ${webURL} }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: dead, namespace: obs }
spec:
  rules:
    - matches: [{ path: { type: PathPrefix, value: /dead } }]
      backendRefs: [{ url: "http://127.0.0.1:1" }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: llm-access, namespace: obs }
spec:
  targetRefs:
    - { kind: Route, name: llm }
  authentication:
    apiKey: {}
  rateLimits:
    - { name: per-consumer, key: consumer, requests: { limit: 100000, window: 1m } }
  budgets:
    - { name: monthly, per: consumer, tokens: { limit: 10000000 } }
    - { name: team-daily, per: team, period: day, tokens: { limit: 10000000 } }
`;
}

async function scrape(url: string): Promise<string> {
  const response = await request(`${url}/metrics`);
  return response.body.text();
}

async function get(pathname: string): Promise<number> {
  const response = await request(`${stack.gatewayUrl}${pathname}`);
  await response.body.dump();
  return response.statusCode;
}

beforeAll(async () => {
  upstream = await startUpstream('web');
  provider = await startOpenAIMock();
  stack = await startStandaloneStack({
    'obs.yaml': manifests(provider.baseURL, provider.apiKey, upstream.url),
  });
  await waitFor(async () => (await get('/web/ready')) === 200, { what: 'the web route', timeoutMs: 20_000 });

  // Traffic that exercises every kind of series.
  expect(await get('/web/a')).toBe(200);
  expect(await get('/dead/x')).toBe(502);
  expect(await get('/nowhere')).toBe(404);
  const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: CONSUMER_KEY, maxRetries: 0 });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'count to ten please' }];
  await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini',
    messages,
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _chunk of stream) {
    // drain
  }
  await waitFor(
    async () =>
      (await scrape(stack.dataplaneAdminUrl)).includes('gen_ai_server_time_per_output_token_seconds_count'),
    {
      what: 'the streamed request in the metrics',
      timeoutMs: 10_000,
    },
  );
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await provider?.close();
  await upstream?.close();
}, SLOW);

test('every metric docs/observability.md lists is in a real scrape of the data plane or the controller', async () => {
  const families = new Map([
    ...scrapedFamilies(await scrape(stack.dataplaneAdminUrl)),
    ...scrapedFamilies(await scrape(stack.controllerAdminUrl)),
  ]);
  const documented = await documentedMetrics();
  expect(documented.size).toBeGreaterThan(40);
  expect([...documented].filter((name) => !families.has(name))).toEqual([]);
});

test('the traffic shows in the series it should: RED, bytes, connect errors, consumer and team tokens and cost, rate-limit and budget decisions, TTFT and TPOT', async () => {
  const text = await scrape(stack.dataplaneAdminUrl);
  const expected = [
    /^tollgate_requests_total\{route="obs\/web\/0\/0",method="GET",status_class="2xx"\} [1-9]/m,
    /^tollgate_requests_total\{route="",method="GET",status_class="4xx"\} [1-9]/m,
    /^tollgate_response_bytes_total\{route="obs\/web\/0\/0"\} [1-9]/m,
    /^tollgate_backend_requests_total\{backend="url\/[^"]+",status_class="2xx"\} [1-9]/m,
    /^tollgate_upstream_connect_errors_total\{backend="url\/http:\/\/127\.0\.0\.1:1",reason="refused"\} 1/m,
    /^tollgate_rate_limit_decisions_total\{route="obs\/llm\/0\/0",decision="allowed"\} 2/m,
    /^tollgate_budget_decisions_total\{route="obs\/llm\/0\/0",decision="allowed"\} 2/m,
    /^tollgate_budget_used_ratio\{budget="obs\/llm-access\/monthly",per="consumer",consumer="obs\/app",team="",tenant=""\} [0-9.e-]+$/m,
    /^tollgate_budget_spent\{budget="obs\/llm-access\/monthly",per="consumer",consumer="obs\/app",team="",tenant="",unit="tokens"\} [1-9]/m,
    /^tollgate_consumer_tokens_total\{consumer="obs\/app",tollgate_provider="obs\/mock",gen_ai_request_model="gpt-4o-mini",gen_ai_token_type="output",team="shop"\} [1-9]/m,
    /^tollgate_consumer_cost_micros_total\{consumer="obs\/app",tollgate_provider="obs\/mock",gen_ai_request_model="gpt-4o-mini",currency="USD",team="shop"\} [1-9]/m,
    /^gen_ai_server_time_to_first_token_seconds_count\{[^}]*\} 1/m,
    /^gen_ai_server_time_per_output_token_seconds_count\{[^}]*\} 1/m,
    /^tollgate_active_connections [0-9]/m,
    /^nodejs_eventloop_lag_seconds [0-9]/m,
    /^nodejs_gc_duration_seconds_count\{kind="[a-z]+"\} [0-9]/m,
  ];
  expect(expected.filter((pattern) => !pattern.test(text)).map(String)).toEqual([]);

  const controller = await scrape(stack.controllerAdminUrl);
  expect(controller).toMatch(
    /^tollgate_controller_dataplane_info\{node="e2e-dataplane",zone="",build_version="[^"]+"\} 1/m,
  );
  expect(controller).toMatch(/^tollgate_controller_dataplanes_behind 0$/m);
  expect(controller).toMatch(/^tollgate_controller_connected_dataplanes 1$/m);
  expect(controller).toMatch(/^tollgate_controller_push_latency_seconds_count [1-9]/m);
});

/** Label values by label name, as docs/observability.md's "Label conventions" table states them. */
const NAME = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const LABEL_VALUES: Record<string, RegExp> = {
  route: new RegExp(`^(|${NAME}/${NAME}/\\d+/\\d+)$`),
  tollgate_route: new RegExp(`^(|${NAME}/${NAME}/\\d+/\\d+)$`),
  consumer: new RegExp(`^(|${NAME}/${NAME})$`),
  tollgate_provider: new RegExp(`^(|${NAME}/${NAME})$`),
  budget: new RegExp(`^${NAME}/${NAME}/${NAME}$`),
  per: /^(consumer|team|tenant)$/,
  backend: new RegExp(`^(|service/${NAME}/${NAME}:\\d+|url/[a-z]+://[^/"]+|ai/${NAME}/${NAME})$`),
};
/** Names an earlier release used for a concept that has one name now. */
const RETIRED_LABELS = ['cluster', 'key', 'provider', 'model'];

/** Every series of a scrape as its metric name and labels. */
function seriesOf(text: string): Array<{ name: string; labels: Record<string, string> }> {
  const out: Array<{ name: string; labels: Record<string, string> }> = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)\{(.*)\} \S+$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[2]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    out.push({ name: match[1]!, labels });
  }
  return out;
}

test('budget, rate-limit and AI token series name routes, consumers, teams, providers and budgets the one documented way', async () => {
  const series = seriesOf(await scrape(stack.dataplaneAdminUrl));
  const find = (name: string, labels: Record<string, string>) =>
    series.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      ?.labels;

  // A per-consumer and a per-team budget: `<namespace>/<policy>/<budget>`, the key in the label of its scope.
  expect(find('tollgate_budget_used_ratio', { budget: 'obs/llm-access/monthly' })).toEqual({
    budget: 'obs/llm-access/monthly',
    per: 'consumer',
    consumer: 'obs/app',
    team: '',
    tenant: '',
  });
  expect(find('tollgate_budget_spent', { budget: 'obs/llm-access/monthly' })).toEqual({
    budget: 'obs/llm-access/monthly',
    per: 'consumer',
    consumer: 'obs/app',
    team: '',
    tenant: '',
    unit: 'tokens',
  });
  expect(find('tollgate_budget_used_ratio', { budget: 'obs/llm-access/team-daily' })).toEqual({
    budget: 'obs/llm-access/team-daily',
    per: 'team',
    consumer: '',
    team: 'shop',
    tenant: '',
  });
  expect(find('tollgate_budget_limit', { budget: 'obs/llm-access/team-daily' })).toMatchObject({
    per: 'team',
    team: 'shop',
  });
  // A rate limit and the budget decisions: by route id.
  expect(find('tollgate_rate_limit_decisions_total', { decision: 'allowed' })).toEqual({
    route: 'obs/llm/0/0',
    decision: 'allowed',
  });
  expect(find('tollgate_budget_decisions_total', { decision: 'allowed' })).toEqual({
    route: 'obs/llm/0/0',
    decision: 'allowed',
  });
  // AI tokens: the same route id and the AIProvider and Consumer as `<namespace>/<name>`.
  expect(
    find('tollgate_ai_tokens_total', { gen_ai_token_type: 'output', gen_ai_operation_name: 'chat' }),
  ).toMatchObject({
    tollgate_route: 'obs/llm/0/0',
    tollgate_provider: 'obs/mock',
    gen_ai_provider_name: 'openai',
    gen_ai_request_model: 'gpt-4o-mini',
  });
  expect(find('tollgate_consumer_tokens_total', { gen_ai_token_type: 'output' })).toMatchObject({
    consumer: 'obs/app',
    team: 'shop',
    tollgate_provider: 'obs/mock',
  });

  expect(find('gen_ai_server_time_per_output_token_seconds_count', {})).toEqual({
    gen_ai_operation_name: 'chat',
    gen_ai_provider_name: 'openai',
    gen_ai_request_model: 'gpt-4o-mini',
    tollgate_provider: 'obs/mock',
    tollgate_route: 'obs/llm/0/0',
  });

  // And every other series follows the same table.
  const wrong: string[] = [];
  for (const { name, labels } of series) {
    // The route is `tollgate_route` beside the GenAI labels and `route` everywhere else.
    const genAI = Object.keys(labels).some((label) => label.startsWith('gen_ai_'));
    if (genAI && 'route' in labels) wrong.push(`${name}: route beside gen_ai_* labels`);
    if (!genAI && 'tollgate_route' in labels) wrong.push(`${name}: tollgate_route without gen_ai_* labels`);
    for (const [label, value] of Object.entries(labels)) {
      if (RETIRED_LABELS.includes(label)) wrong.push(`${name}: label ${label}`);
      const pattern = LABEL_VALUES[label];
      if (pattern && !pattern.test(value)) wrong.push(`${name}: ${label}="${value}"`);
    }
  }
  expect(wrong).toEqual([]);
  // The table the patterns come from is the documented one.
  const docs = await readFile(new URL('../../docs/observability.md', import.meta.url), 'utf8');
  const table = docs.slice(docs.indexOf('### Label conventions'));
  expect(Object.keys(LABEL_VALUES).filter((label) => !table.includes(`| \`${label}\``))).toEqual([]);
});

test(
  'every metric the chart’s dashboard and alerts query exists in a real scrape',
  async () => {
    const families = new Map([
      ...scrapedFamilies(await scrape(stack.dataplaneAdminUrl)),
      ...scrapedFamilies(await scrape(stack.controllerAdminUrl)),
    ]);
    const missing: string[] = [];
    for (const { where, expr } of monitoringExpressions(await renderMonitoring()))
      for (const name of metricNamesOf(expr))
        if (!familyOf(name, families)) missing.push(`${where}: ${name}`);
    expect(missing).toEqual([]);
  },
  SLOW,
);

test(
  'label cardinality stays bounded: 10,000 distinct paths add no series',
  async () => {
    const counted = async (): Promise<number> =>
      seriesCount(
        (await scrape(stack.dataplaneAdminUrl))
          .split('\n')
          // Process metrics move on their own (GC kinds, handles); the gateway's own series are what paths could grow.
          .filter((line) => !/^(process_|nodejs_)/.test(line))
          .join('\n'),
      );
    const before = await counted();
    const pool = new Pool(stack.gatewayUrl, { connections: 16 });
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < 10_000) {
          const i = next++;
          // Half match the web route, half match nothing; every path is new.
          const pathname = i % 2 === 0 ? `/web/item/${i}?q=${i}` : `/unknown/${i}/${'x'.repeat(i % 50)}`;
          const response = await pool.request({ path: pathname, method: 'GET' });
          await response.body.dump();
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
    } finally {
      await pool.close();
    }
    const webRequests = (text: string): number =>
      Number(
        /^tollgate_requests_total\{route="obs\/web\/0\/0",method="GET",status_class="2xx"\} (\d+)/m.exec(
          text,
        )?.[1] ?? 0,
      );
    // Metrics are written when each response closes, a moment after the client has it.
    await waitFor(async () => webRequests(await scrape(stack.dataplaneAdminUrl)) >= 5_000, {
      what: 'the 10,000 requests counted',
      timeoutMs: 10_000,
    });
    expect(await counted()).toBe(before);
  },
  SLOW,
);
