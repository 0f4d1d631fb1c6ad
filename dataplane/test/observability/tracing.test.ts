// Traces end to end: a real Dataplane exports through the OpenTelemetry SDK to a real OTLP/HTTP
// receiver; the tests read the span tree back and check what upstreams received.
import type { TracingSetup } from '@tollgate/telemetry';
import {
  type MockProvider,
  startAnthropicMock,
  startOpenAIMock,
  startUpstream,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import OpenAI from 'openai';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';
import { cluster, entry, type RunningDataplane, retriesIR, snapshotOf, startDataplane } from '../helpers.ts';
import {
  KIND,
  type OTLPReceiver,
  type ReceivedSpan,
  startOTLPReceiver,
  startTracingTo,
} from './otlp-receiver.ts';

let receiver: OTLPReceiver;
let tracing: TracingSetup;

beforeAll(async () => {
  receiver = await startOTLPReceiver();
  tracing = startTracingTo(receiver, 'parentbased_always_on');
});

afterAll(async () => {
  await tracing?.shutdown();
  await receiver?.close();
});

/** Streams a chat completion under the client's traceparent; returns the text the client received. */
async function streamedText(
  client: OpenAI,
  traceparent: string,
  body: Omit<OpenAI.ChatCompletionCreateParamsStreaming, 'stream'>,
): Promise<string> {
  const stream = await client.chat.completions.create(
    { ...body, stream: true },
    { headers: { traceparent } },
  );
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  return text;
}

let traceCounter = 0;
/** A client traceparent with a fresh trace id, so each test reads its own spans. */
function clientTraceparent(): { traceId: string; parentId: string; header: string } {
  traceCounter++;
  const traceId = `${'4bf92f3577b34da6a3ce929d0e0e'}${traceCounter.toString(16).padStart(4, '0')}`;
  const parentId = '00f067aa0ba902b7';
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
}

async function spansOf(traceId: string, count: number): Promise<ReceivedSpan[]> {
  return waitFor(
    () => {
      const found = receiver.spans.filter((s) => s.traceId === traceId);
      return found.length >= count ? found : undefined;
    },
    { what: `${count} spans of trace ${traceId}`, timeoutMs: 10_000 },
  );
}

function traceparentOf(headers: Record<string, string | string[] | undefined>): string {
  return String(headers.traceparent);
}

describe('plain routes', () => {
  let upstream: TestUpstream;
  let gateway: RunningDataplane;

  beforeAll(async () => {
    expect(tracing.enabled).toBe(true);
    upstream = await startUpstream('echo');
    gateway = await startDataplane({ tracer: tracing.tracer! });
    gateway.dataplane.applySnapshot(
      snapshotOf({ '*': [entry('web/shop/0/0', { backends: [['c1', 1]] })] }, [
        cluster('c1', [upstream.port]),
      ]),
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  test('a request continues the client’s trace: SERVER span under the client’s span, CLIENT span under it, upstream sees the CLIENT span as parent', async () => {
    const client = clientTraceparent();
    const response = await fetch(`${gateway.url}/items?q=1`, { headers: { traceparent: client.header } });
    expect(response.status).toBe(200);
    await response.text();

    const spans = await spansOf(client.traceId, 2);
    const server = spans.find((s) => s.kind === KIND.SERVER)!;
    const attempt = spans.find((s) => s.kind === KIND.CLIENT)!;
    expect(server.parentSpanId).toBe(client.parentId);
    expect(server.name).toBe('GET web/shop/0/0');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/items',
      'url.scheme': 'http',
      'http.route': 'web/shop/0/0',
      'http.response.status_code': 200,
      'tollgate.backend': 'c1',
    });
    expect(server.resource['service.name']).toBe('tollgate-dataplane-test');
    expect(attempt.parentSpanId).toBe(server.spanId);
    expect(attempt.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'http.response.status_code': 200,
    });
    expect(traceparentOf(upstream.requests.at(-1)!.headers)).toBe(
      `00-${client.traceId}-${attempt.spanId}-01`,
    );

    const line = gateway.accessLogs().at(-1)!;
    expect(line.traceId).toBe(client.traceId);
  });

  test('without a client traceparent the gateway starts a new trace and the upstream joins it', async () => {
    const response = await fetch(`${gateway.url}/fresh`);
    await response.text();
    const sent = traceparentOf(upstream.requests.at(-1)!.headers);
    const [, traceId, parentId] = sent.split('-');
    const spans = await spansOf(traceId!, 2);
    const server = spans.find((s) => s.kind === KIND.SERVER)!;
    expect(server.parentSpanId).toBeUndefined();
    expect(spans.find((s) => s.kind === KIND.CLIENT)!.spanId).toBe(parentId);
    expect(gateway.accessLogs().at(-1)!.traceId).toBe(traceId);
  });

  test('an upstream that refuses connections ends the CLIENT span as an error and the SERVER span as a 502', async () => {
    const dead = await startUpstream('dead');
    const port = dead.port;
    await dead.close();
    const local = await startDataplane({ tracer: tracing.tracer! });
    try {
      local.dataplane.applySnapshot(
        snapshotOf({ '*': [entry('web/dead/0/0', { backends: [['c9', 1]] })] }, [cluster('c9', [port])]),
      );
      const client = clientTraceparent();
      const response = await fetch(`${local.url}/x`, { headers: { traceparent: client.header } });
      expect(response.status).toBe(502);
      const spans = await spansOf(client.traceId, 2);
      const attempt = spans.find((s) => s.kind === KIND.CLIENT)!;
      expect(attempt.attributes['error.type']).toBe('TG_ERR_UPSTREAM_CONNECT');
      expect(attempt.statusCode).toBe(2);
      const server = spans.find((s) => s.kind === KIND.SERVER)!;
      expect(server.attributes['http.response.status_code']).toBe(502);
      expect(server.statusCode).toBe(2);
    } finally {
      await local.close();
    }
  });
});

describe('retries', () => {
  test('a retried request shows one CLIENT span per attempt under the SERVER span; each upstream attempt sees its own span as parent', async () => {
    let calls = 0;
    const flaky = await startUpstream('flaky', (_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(503).end('busy');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    const gateway = await startDataplane({ tracer: tracing.tracer! });
    try {
      const retrying = {
        ...entry('web/retry/0/0', { backends: [['flaky', 1]] }),
        resilience: {
          retries: retriesIR({ from: 'policy/web/retries', retryOn: ['gateway-error'] }),
        },
      };
      gateway.dataplane.applySnapshot(snapshotOf({ '*': [retrying] }, [cluster('flaky', [flaky.port])]));
      const client = clientTraceparent();
      const response = await fetch(`${gateway.url}/r`, { headers: { traceparent: client.header } });
      expect(response.status).toBe(200);
      await response.text();

      const spans = await spansOf(client.traceId, 3);
      const server = spans.find((s) => s.kind === KIND.SERVER)!;
      const attempts = spans
        .filter((s) => s.kind === KIND.CLIENT)
        .sort(
          (a, b) =>
            Number(a.attributes['http.request.resend_count'] ?? 0) -
            Number(b.attributes['http.request.resend_count'] ?? 0),
        );
      expect(attempts).toHaveLength(2);
      for (const attempt of attempts) expect(attempt.parentSpanId).toBe(server.spanId);
      expect(attempts[0]!.attributes['http.response.status_code']).toBe(503);
      expect(attempts[0]!.statusCode).toBe(2);
      expect(attempts[1]!.attributes).toMatchObject({
        'http.response.status_code': 200,
        'http.request.resend_count': 1,
      });
      expect(server.attributes['http.response.status_code']).toBe(200);
      expect(flaky.requests.map((r) => r.headers.traceparent)).toEqual(
        attempts.map((a) => `00-${client.traceId}-${a.spanId}-01`),
      );
      expect(gateway.accessLogs().at(-1)).toMatchObject({ attempts: 2, traceId: client.traceId });
    } finally {
      await gateway.close();
      await flaky.close();
    }
  });
});

describe('AI routes', () => {
  let primary: MockProvider;
  let backup: MockProvider;
  let gateway: Gateway;
  let client: OpenAI;
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there' }];

  beforeAll(async () => {
    primary = await startOpenAIMock();
    backup = await startAnthropicMock();
    gateway = await startGateway(
      [
        ...mockProviderObjects('primary', 'openai', primary),
        ...mockProviderObjects('backup', 'anthropic', backup),
        routeObject('llm', [
          {
            matches: [{ path: { value: '/v1' }, model: { value: 'smart' } }],
            backendRefs: [
              { kind: 'AIProvider', name: 'primary', model: 'gpt-4o', priority: 0 },
              { kind: 'AIProvider', name: 'backup', model: 'claude-test-model', priority: 1 },
            ],
          },
        ]),
      ],
      { tracer: tracing.tracer! },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await primary?.close();
    await backup?.close();
  });

  test('a fallback shows as two CLIENT spans under one SERVER span, each upstream seeing its own attempt as parent', async () => {
    primary.enqueue({ kind: 'status', status: 500 });
    const trace = clientTraceparent();
    const completion = await client.chat.completions.create(
      { model: 'smart', messages },
      { headers: { traceparent: trace.header } },
    );
    expect(completion.choices[0]!.message.content).toContain('hello there');

    const spans = await spansOf(trace.traceId, 3);
    const server = spans.find((s) => s.kind === KIND.SERVER)!;
    const attempts = spans.filter((s) => s.kind === KIND.CLIENT);
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) expect(attempt.parentSpanId).toBe(server.spanId);
    const failed = attempts.find((s) => s.attributes['gen_ai.provider.name'] === 'openai')!;
    const served = attempts.find((s) => s.attributes['gen_ai.provider.name'] === 'anthropic')!;
    expect(failed.name).toBe('chat gpt-4o');
    expect(failed.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'http.response.status_code': 500,
      'error.type': 'server',
      'tollgate.attempt': 1,
    });
    expect(failed.statusCode).toBe(2);
    const reported = backup.reported.at(-1)!;
    expect(served.name).toBe('chat claude-test-model');
    expect(served.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-test-model',
      'gen_ai.response.model': 'claude-test-model',
      'gen_ai.usage.input_tokens': reported.inputTokens,
      'gen_ai.usage.output_tokens': reported.outputTokens,
      'http.response.status_code': 200,
      'tollgate.provider': 'ai/backup',
      'tollgate.attempt': 2,
    });
    expect(served.attributes['gen_ai.response.finish_reasons']).toEqual(['end_turn']);
    expect(served.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'gen_ai.request.model': 'smart',
      'gen_ai.provider.name': 'anthropic',
      'tollgate.attempts': 2,
      'http.response.status_code': 200,
    });
    expect(traceparentOf(primary.requests.at(-1)!.headers)).toBe(`00-${trace.traceId}-${failed.spanId}-01`);
    expect(traceparentOf(backup.requests.at(-1)!.headers)).toBe(`00-${trace.traceId}-${served.spanId}-01`);
  });

  test('a streamed completion gets one CLIENT span carrying the response model, finish reasons and token usage', async () => {
    const trace = clientTraceparent();
    const text = await streamedText(client, trace.header, {
      model: 'smart',
      messages,
      stream_options: { include_usage: true },
    });
    expect(text).toContain('hello there');

    const spans = await spansOf(trace.traceId, 2);
    const server = spans.find((s) => s.kind === KIND.SERVER)!;
    const attempt = spans.find((s) => s.kind === KIND.CLIENT)!;
    expect(attempt.parentSpanId).toBe(server.spanId);
    const reported = primary.reported.at(-1)!;
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': reported.inputTokens,
      'gen_ai.usage.output_tokens': reported.outputTokens,
      'tollgate.stream': true,
    });
    expect(typeof attempt.attributes['gen_ai.response.model']).toBe('string');
    expect(attempt.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    expect(typeof attempt.attributes['tollgate.time_to_first_token_ms']).toBe('number');
    expect(traceparentOf(primary.requests.at(-1)!.headers)).toBe(`00-${trace.traceId}-${attempt.spanId}-01`);
    expect(gateway.lastAccess().traceId).toBe(trace.traceId);
  });
  test('a stream that falls back to another provider records that provider’s finish reason on the attempt that served', async () => {
    primary.enqueue({ kind: 'status', status: 503 });
    const trace = clientTraceparent();
    const text = await streamedText(client, trace.header, { model: 'smart', messages });
    expect(text).toContain('hello there');

    const spans = await spansOf(trace.traceId, 3);
    const served = spans.find(
      (s) => s.kind === KIND.CLIENT && s.attributes['gen_ai.provider.name'] === 'anthropic',
    )!;
    const failed = spans.find(
      (s) => s.kind === KIND.CLIENT && s.attributes['gen_ai.provider.name'] === 'openai',
    )!;
    expect(served.attributes).toMatchObject({
      'tollgate.stream': true,
      'gen_ai.response.model': 'claude-test-model',
      'gen_ai.response.finish_reasons': ['end_turn'],
    });
    expect(failed.attributes['gen_ai.response.finish_reasons']).toBeUndefined();
  });
});

describe('prompt and completion content', () => {
  let provider: MockProvider;
  let gateway: Gateway;
  let client: OpenAI;
  const secret = 'jane.doe@example.com';
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: `write to ${secret} about the invoice` },
  ];
  const policy = (name: string, rule: string, spec: Record<string, unknown>) => ({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Policy',
    metadata: { name, namespace: 'ai' },
    spec: { targetRefs: [{ kind: 'Route', name: 'llm', sectionName: rule }], ...spec },
  });
  const maskEmails = { guardrails: { pii: { types: ['email'], action: 'mask' } } };

  beforeAll(async () => {
    provider = await startOpenAIMock();
    gateway = await startGateway(
      [
        ...mockProviderObjects('openai', 'openai', provider),
        routeObject('llm', [
          {
            name: 'recorded',
            matches: [{ path: { value: '/v1' }, model: { value: 'recorded' } }],
            backendRefs: [{ kind: 'AIProvider', name: 'openai', model: 'gpt-4o' }],
          },
          {
            name: 'private',
            matches: [{ path: { value: '/v1' }, model: { value: 'private' } }],
            backendRefs: [{ kind: 'AIProvider', name: 'openai', model: 'gpt-4o' }],
          },
        ]),
        policy('record-content', 'recorded', { ...maskEmails, observability: { recordContent: true } }),
        policy('mask-only', 'private', maskEmails),
      ],
      { tracer: tracing.tracer! },
    );
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
  });

  async function attemptOf(trace: { traceId: string }): Promise<ReceivedSpan> {
    const spans = await spansOf(trace.traceId, 2);
    return spans.find((s) => s.kind === KIND.CLIENT)!;
  }

  test('with a Policy opting in, the attempt span holds the prompt as the guardrails masked it and the completion', async () => {
    const trace = clientTraceparent();
    const completion = await client.chat.completions.create(
      { model: 'recorded', messages },
      { headers: { traceparent: trace.header } },
    );
    const answer = completion.choices[0]!.message.content!;
    const attempt = await attemptOf(trace);

    const input = JSON.parse(String(attempt.attributes['gen_ai.input.messages']));
    expect(input).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'be brief' }] },
      { role: 'user', parts: [{ type: 'text', content: 'write to <EMAIL> about the invoice' }] },
    ]);
    expect(String(attempt.attributes['gen_ai.input.messages'])).not.toContain(secret);
    const output = JSON.parse(String(attempt.attributes['gen_ai.output.messages']));
    expect(output).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: answer }], finish_reason: 'stop' },
    ]);
    // The provider received the masked prompt, which is what the span shows.
    expect(JSON.stringify(provider.requests.at(-1)!.body)).not.toContain(secret);
  });

  test('a streamed answer on an opted-in route records the completion the client received', async () => {
    const trace = clientTraceparent();
    const text = await streamedText(client, trace.header, { model: 'recorded', messages });
    const attempt = await attemptOf(trace);
    expect(String(attempt.attributes['gen_ai.input.messages'])).toContain('<EMAIL>');
    expect(JSON.parse(String(attempt.attributes['gen_ai.output.messages']))).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: text }], finish_reason: 'stop' },
    ]);
  });

  test('without the opt-in no content attribute is recorded at all, even with guardrails masking', async () => {
    const trace = clientTraceparent();
    await client.chat.completions.create(
      { model: 'private', messages },
      { headers: { traceparent: trace.header } },
    );
    const attempt = await attemptOf(trace);
    expect(attempt.attributes['gen_ai.request.model']).toBe('gpt-4o');
    const keys = Object.keys(attempt.attributes);
    expect(keys.filter((k) => k.startsWith('gen_ai.input') || k.startsWith('gen_ai.output'))).toEqual([]);
    expect(JSON.stringify(attempt.attributes)).not.toContain('invoice');
  });
});
