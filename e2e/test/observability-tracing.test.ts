// The data-plane process configured the standard way (OTEL_* environment, access-log variables)
// next to the standalone stack: it exports its spans to a real OTLP receiver, upstreams join the
// trace, and the access log samples successes while keeping failures with their trace id.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  type MockProvider,
  type StartedProcess,
  startOpenAIMock,
  startUpstream,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import OpenAI from 'openai';
import { request } from 'undici';
import {
  KIND,
  type OTLPReceiver,
  startOTLPReceiver,
} from '../../dataplane/test/observability/otlp-receiver.ts';
import { startControllerProcess } from '../src/controller-process.ts';
import { startDataplaneProcess } from '../src/dataplane-process.ts';
import { routeYaml, type StandaloneStack, startStandaloneStack } from '../src/index.ts';

const SLOW = 60_000;

let upstream: TestUpstream;
let provider: MockProvider;
let receiver: OTLPReceiver;
let stack: StandaloneStack;
let traced: StartedProcess;
let gateway: string;

beforeAll(async () => {
  upstream = await startUpstream('web');
  receiver = await startOTLPReceiver();
  provider = await startOpenAIMock();
  stack = await startStandaloneStack({
    'web.yaml': routeYaml('web', '/web', upstream.url),
    'llm.yaml': llmYaml(provider),
  });
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  traced = await startDataplaneProcess({
    gatewayPort: port,
    adminPort,
    grpcPort: stack.grpcPort,
    nodeId: 'traced-dataplane',
    name: 'traced-dataplane',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_SERVICE_NAME: 'e2e-traced-dataplane',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '1',
      TOLLGATE_ACCESS_LOG_SAMPLE: '0',
      TOLLGATE_DRAIN_SECONDS: '1',
    },
  });
  gateway = `http://127.0.0.1:${port}`;
}, SLOW);

afterAll(async () => {
  await traced?.stop();
  await stack?.stop();
  await receiver?.close();
  await provider?.close();
  await upstream?.close();
}, SLOW);

/** Two AI routes behind the same email-masking guardrails; only `recorded` opts into content on spans. */
function llmYaml(mock: MockProvider): string {
  const route = (name: string, prefix: string) => `---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: ${name}, namespace: e2e }
spec:
  rules:
    - matches: [{ path: { type: PathPrefix, value: ${prefix} } }]
      backendRefs: [{ kind: AIProvider, name: mock }]
`;
  const policy = (name: string, route: string, recordContent: boolean) => `---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: ${name}, namespace: e2e }
spec:
  targetRefs: [{ kind: Route, name: ${route} }]
  guardrails:
    pii: { types: [email], action: mask }
${recordContent ? '  observability: { recordContent: true }' : ''}
`;
  return `apiVersion: v1
kind: Secret
metadata: { name: mock-key, namespace: e2e }
stringData: { api-key: ${mock.apiKey} }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: mock, namespace: e2e }
spec:
  type: openai
  baseURL: ${mock.baseURL}
  auth: { secretRef: { name: mock-key, key: api-key } }
  models: [{ name: gpt-4o-mini }]
${route('recorded', '/recorded/v1')}${route('private', '/private/v1')}${policy('record-content', 'recorded', true)}${policy('mask-only', 'private', false)}`;
}

test('the process reads OTEL_* and exports its spans; the upstream sees the attempt span as parent', async () => {
  expect(await traced.waitForOutput(/"msg":"tracing"/)).toMatch(/"tracing":true/);
  const traceId = '5b8efff798038103d269b633813fc60c';
  const response = await request(`${gateway}/web/page`, {
    headers: { traceparent: `00-${traceId}-eee19b7ec3c1b174-01` },
  });
  expect(response.statusCode).toBe(200);
  await response.body.dump();
  const spans = await waitFor(
    () => {
      const found = receiver.spans.filter((s) => s.traceId === traceId);
      return found.length >= 2 ? found : undefined;
    },
    { what: 'the spans of the request', timeoutMs: 10_000 },
  );
  const server = spans.find((s) => s.kind === KIND.SERVER)!;
  const client = spans.find((s) => s.kind === KIND.CLIENT)!;
  expect(server.resource['service.name']).toBe('e2e-traced-dataplane');
  expect(server.parentSpanId).toBe('eee19b7ec3c1b174');
  expect(server.attributes['http.route']).toBe('e2e/web/0/0');
  expect(client.parentSpanId).toBe(server.spanId);
  expect(upstream.requests.at(-1)!.headers.traceparent).toBe(`00-${traceId}-${client.spanId}-01`);
});

test('with TOLLGATE_ACCESS_LOG_SAMPLE=0 successes are not logged, failures are, with their trace id', async () => {
  const ok = await request(`${gateway}/web/quiet`);
  await ok.body.dump();
  const missing = await request(`${gateway}/nothing-here`, {
    headers: { traceparent: '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' },
  });
  expect(missing.statusCode).toBe(404);
  await missing.body.dump();
  const line = await traced.waitForOutput(/"log":"access".*"path":"\/nothing-here"/);
  expect(JSON.parse(line)).toMatchObject({ status: 404, traceId: '0123456789abcdef0123456789abcdef' });
  expect(traced.output()).not.toMatch(/"log":"access".*"path":"\/web\/quiet"/);
});

test(
  'the controller process exports a span per snapshot build',
  async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-traced-controller-'));
    await writeFile(path.join(dir, 'web.yaml'), routeYaml('traced-web', '/t', upstream.url));
    const [grpc, admin] = await Promise.all([freePort(), freePort()]);
    const controller = await startControllerProcess({
      dir,
      grpcPort: grpc,
      adminPort: admin,
      name: 'traced-controller',
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '50',
      },
    });
    try {
      const build = await waitFor(
        () =>
          receiver.spans.find(
            (s) => s.name === 'snapshot build' && s.resource['service.name'] === 'tollgate-controller',
          ),
        { what: 'the snapshot build span', timeoutMs: 10_000 },
      );
      expect(build.attributes).toMatchObject({
        'tollgate.snapshot.published': true,
        'tollgate.snapshot.routes': 1,
      });
      expect(String(build.attributes['tollgate.snapshot.version'])).toMatch(/\S/);
    } finally {
      await controller.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
  SLOW,
);

test(
  'a Policy opting a route into content puts the masked prompt on its spans; the other route records none',
  async () => {
    const ask = async (prefix: string, traceId: string) => {
      const client = new OpenAI({ baseURL: `${gateway}${prefix}/v1`, apiKey: 'unused', maxRetries: 0 });
      await waitFor(
        async () => {
          try {
            await client.chat.completions.create(
              {
                model: 'gpt-4o-mini',
                messages: [{ role: 'user', content: 'forward this to ana@example.org today' }],
              },
              { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } },
            );
            return true;
          } catch {
            return undefined; // the AI routes may not be in the data plane's snapshot yet
          }
        },
        { what: `an answer on ${prefix}`, timeoutMs: 20_000 },
      );
      return waitFor(() => receiver.spans.find((s) => s.traceId === traceId && s.kind === KIND.CLIENT), {
        what: `the attempt span of ${prefix}`,
        timeoutMs: 10_000,
      });
    };
    const recorded = await ask('/recorded', '6c2f0e1d2a3b4c5d6e7f8091a2b3c4d5');
    const input = String(recorded.attributes['gen_ai.input.messages']);
    expect(JSON.parse(input)).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'forward this to <EMAIL> today' }] },
    ]);
    expect(input).not.toContain('ana@example.org');
    expect(String(recorded.attributes['gen_ai.output.messages'])).toContain('"role":"assistant"');

    const quiet = await ask('/private', '7d3f1e2d3a4b5c6d7e8f9001b2c3d4e5');
    expect(quiet.attributes['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(quiet.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(quiet.attributes['gen_ai.output.messages']).toBeUndefined();
  },
  SLOW,
);
