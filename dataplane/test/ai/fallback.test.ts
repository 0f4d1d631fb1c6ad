// Fallback and load balancing across providers: priorities, weights, cool-downs after 429, and
// the rule that a response already reaching the client is never retried elsewhere.
import { freePort, type MockProvider, startAnthropicMock, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import { accessLines, type Gateway, providerObjects, routeObject, sample, startGateway } from './helpers.ts';

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there' }];

describe('fallback down the priority list', () => {
  let primary: MockProvider;
  let secondary: MockProvider;
  let gateway: Gateway;
  let client: OpenAI;
  let served = 0;

  beforeAll(async () => {
    primary = await startOpenAIMock();
    secondary = await startAnthropicMock();
    const deadPort = await freePort();
    gateway = await startGateway([
      ...providerObjects({
        name: 'primary',
        spec: { type: 'openai', baseURL: primary.baseURL },
        apiKey: primary.apiKey,
      }),
      ...providerObjects({
        name: 'backup',
        spec: { type: 'anthropic', baseURL: secondary.baseURL },
        apiKey: secondary.apiKey,
      }),
      ...providerObjects({
        name: 'dead',
        spec: { type: 'openai-compatible', baseURL: `http://127.0.0.1:${deadPort}/v1` },
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'smart' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'primary', model: 'gpt-4o', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'claude-test-model', priority: 1 },
          ],
          timeouts: { backendRequest: '500ms' },
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'deadline' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'primary', model: 'gpt-4o', priority: 0 },
            { kind: 'AIProvider', name: 'primary', model: 'gpt-4o-mini', priority: 1 },
          ],
          timeouts: { request: '400ms', backendRequest: '300ms' },
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'dead-first' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'dead', model: 'm', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'claude-test-model', priority: 1 },
          ],
        },
      ]),
    ]);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await primary?.close();
    await secondary?.close();
  });

  async function lastRecord(): Promise<Record<string, unknown>> {
    served++;
    return (await accessLines(gateway, served))[served - 1]!.ai as Record<string, unknown>;
  }

  async function attempts(provider: string, type: string, outcome: string): Promise<number> {
    return sample(await gateway.metrics(), 'tollgate_ai_upstream_attempts_total', {
      tollgate_provider: provider,
      gen_ai_provider_name: type,
      outcome,
    });
  }

  test.each([
    ['a 500', { kind: 'status', status: 500 } as const, 'server_error'],
    ['a 503', { kind: 'status', status: 503 } as const, 'overloaded'],
    ['a reset connection', { kind: 'reset' } as const, 'server_error'],
    ['no answer within backendRequest', { kind: 'hang' } as const, 'timeout'],
  ])(
    'after %s from the primary, the backup serves the request with no client-visible error, and the metrics say so',
    async (_what, fault, outcome) => {
      const failedBefore = await attempts('ai/primary', 'openai', outcome);
      const servedBefore = await attempts('ai/backup', 'anthropic', 'success');
      primary.enqueue(fault);
      const answered = secondary.reported.length;
      const completion = await client.chat.completions.create({ model: 'smart', messages });
      expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
      expect(secondary.reported.length).toBe(answered + 1);
      const record = await lastRecord();
      expect(record).toMatchObject({
        provider: 'ai/backup',
        providerType: 'anthropic',
        model: 'claude-test-model',
        attempts: 2,
      });
      expect(record.inputTokens).toBe(secondary.reported.at(-1)!.inputTokens);
      expect(await attempts('ai/primary', 'openai', outcome)).toBe(failedBefore + 1);
      expect(await attempts('ai/backup', 'anthropic', 'success')).toBe(servedBefore + 1);
    },
  );

  test('a stream whose first event is a provider error falls back; the client sees one clean stream', async () => {
    primary.enqueue({ kind: 'stream-error', message: 'overloaded' });
    let text = '';
    for await (const chunk of await client.chat.completions.create({
      model: 'smart',
      messages,
      stream: true,
    }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: hello there ☕ café');
    expect(await lastRecord()).toMatchObject({ provider: 'ai/backup', attempts: 2 });
  });

  test('the route’s request timeout bounds all attempts together: 504 in the caller’s format', async () => {
    primary.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const error = await client.chat.completions
      .create({ model: 'deadline', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('400 ms');
    expect(await lastRecord()).toMatchObject({ attempts: 2 });
  });

  test('a connection failure falls back to the next priority', async () => {
    const completion = await client.chat.completions.create({ model: 'dead-first', messages });
    expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    expect(await lastRecord()).toMatchObject({ provider: 'ai/backup', attempts: 2 });
  });

  test('a stream that breaks after its first bytes is never retried elsewhere', async () => {
    primary.enqueue({ kind: 'stream-cut', afterEvents: 3 });
    const asked = secondary.requests.length;
    let text = '';
    const outcome = await (async () => {
      for await (const chunk of await client.chat.completions.create({
        model: 'smart',
        messages,
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? '';
    })().then(
      () => 'ended',
      () => 'failed',
    );
    // Whatever the client library makes of the cut, it got the primary's first words only once,
    // and the backup was never asked.
    expect(outcome === 'ended' || outcome === 'failed').toBe(true);
    expect(text).toBe('Echo: hello');
    expect(secondary.requests.length).toBe(asked);
    const record = await lastRecord();
    expect(record).toMatchObject({ provider: 'ai/primary', attempts: 1, estimated: true });
    expect(record.outputTokens).toBeGreaterThan(0);
  });

  test('a 429 with Retry-After rests the primary: later requests go straight to the backup', async () => {
    primary.enqueue({ kind: 'status', status: 429, retryAfterSeconds: 30 });
    await client.chat.completions.create({ model: 'smart', messages });
    expect(await lastRecord()).toMatchObject({ provider: 'ai/backup', attempts: 2 });
    const asked = primary.requests.length;
    for (let i = 0; i < 3; i++) {
      await client.chat.completions.create({ model: 'smart', messages });
      expect(await lastRecord()).toMatchObject({ provider: 'ai/backup', attempts: 1 });
    }
    expect(primary.requests.length).toBe(asked);

    const metrics = await gateway.metrics();
    const attempts = (provider: string, outcome: string, type: string) =>
      sample(metrics, 'tollgate_ai_upstream_attempts_total', {
        tollgate_provider: provider,
        gen_ai_provider_name: type,
        outcome,
      });
    expect(attempts('ai/primary', 'rate_limited', 'openai')).toBe(1);
    expect(attempts('ai/primary', 'cooling_down', 'openai')).toBe(3);
    expect(attempts('ai/backup', 'success', 'anthropic')).toBeGreaterThanOrEqual(4);
    const backupTokens = sample(metrics, 'gen_ai_client_token_usage_count', {
      gen_ai_operation_name: 'chat',
      gen_ai_provider_name: 'anthropic',
      gen_ai_request_model: 'claude-test-model',
      tollgate_provider: 'ai/backup',
      tollgate_route: 'ai/llm/0/0',
      gen_ai_token_type: 'input',
    });
    expect(backupTokens).toBeGreaterThanOrEqual(4);
  });
});

describe('load balancing within a priority', () => {
  let a: MockProvider;
  let b: MockProvider;
  let gateway: Gateway;

  beforeAll(async () => {
    [a, b] = await Promise.all([startOpenAIMock(), startOpenAIMock({ variant: 'openai-compatible' })]);
    gateway = await startGateway([
      ...providerObjects({ name: 'a', spec: { type: 'openai', baseURL: a.baseURL }, apiKey: a.apiKey }),
      ...providerObjects({
        name: 'b',
        spec: { type: 'openai-compatible', baseURL: b.baseURL },
        apiKey: b.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'a', weight: 3 },
            { kind: 'AIProvider', name: 'b', weight: 1 },
          ],
        },
      ]),
    ]);
  });

  afterAll(async () => {
    await gateway?.close();
    await a?.close();
    await b?.close();
  });

  test('splits requests by weight (3:1) and sends each provider the requested model', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    for (let i = 0; i < 8; i++) await client.chat.completions.create({ model: 'any-model', messages });
    expect(a.requests.length).toBe(6);
    expect(b.requests.length).toBe(2);
    expect(a.requests.every((r) => r.body?.model === 'any-model')).toBe(true);
  });
});
