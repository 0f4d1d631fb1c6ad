// Policies end to end in one process: manifests (Consumers with keys in Secrets, Policies) → the
// real translator → a real data plane in front of a real upstream and a mock AI provider.

import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startOpenAIMock, startUpstream, type TestUpstream } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type Gateway, mockProviderObjects, startGateway } from '../ai/helpers.ts';

const ns = 'ai';
const secret = (name: string, key: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns },
  stringData: { key },
});
const consumer = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Consumer',
  metadata: { name, namespace: ns },
  spec: { ...spec, apiKeys: [{ secretRef: { name: `${name}-key`, key: 'key' } }] },
});
const policy = (name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z') => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: { name, namespace: ns, creationTimestamp: created },
  spec,
});
const route = (name: string, rules: unknown[]) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Route',
  metadata: { name, namespace: ns },
  spec: { rules },
});

const KEYS = {
  alice: 'sk-alice-1',
  bob: 'sk-bob-1',
  intern: 'sk-intern-1',
  gone: 'sk-gone-1',
  tok: 'sk-tok-1',
};

function manifests(provider: MockProvider, upstream: TestUpstream, keys = KEYS): unknown[] {
  return [
    ...mockProviderObjects('llm', 'openai', provider, {
      models: [{ name: 'gpt-4o' }, { name: 'gpt-4o-mini' }],
    }),
    secret('alice-key', keys.alice),
    secret('bob-key', keys.bob),
    secret('intern-key', keys.intern),
    secret('gone-key', keys.gone),
    secret('tok-key', keys.tok),
    consumer('tok', {}),
    consumer('alice', { team: 'shop' }),
    consumer('bob', { team: 'billing' }),
    consumer('intern', { team: 'interns' }),
    consumer('gone', { team: 'shop', disabled: true }),
    route('llm', [{ backendRefs: [{ kind: 'AIProvider', name: 'llm' }] }]),
    route('app', [
      { name: 'api', matches: [{ path: { value: '/app' } }], backendRefs: [{ url: upstream.url }] },
      { name: 'limited', matches: [{ path: { value: '/limited' } }], backendRefs: [{ url: upstream.url }] },
      { name: 'open', matches: [{ path: { value: '/open' } }], backendRefs: [{ url: upstream.url }] },
    ]),
    policy('keys', {
      targetRefs: [{ group: '', kind: 'Namespace', name: ns }],
      authentication: { apiKey: { headers: ['authorization', 'x-api-key', 'api-key'] } },
    }),
    policy('models', {
      targetRefs: [{ kind: 'AIProvider', name: 'llm' }],
      authorization: {
        defaultAction: 'allow',
        rules: [{ name: 'interns-small-models', action: 'deny', teams: ['interns'], models: ['gpt-4o'] }],
      },
    }),
    policy('shop-only', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'api' }],
      authorization: { defaultAction: 'deny', rules: [{ name: 'shop', action: 'allow', teams: ['shop'] }] },
    }),
    policy('limits', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'limited' }],
      rateLimits: [{ name: 'per-consumer', requests: { limit: 5, window: '1h' } }],
    }),
    policy('tokens', {
      targetRefs: [{ kind: 'Route', name: 'llm' }],
      rateLimits: [{ name: 'tokens', tokens: { limit: 50, window: '1h' } }],
    }),
    policy(
      'intern-lockdown',
      { targetRefs: [{ kind: 'Consumer', name: 'intern' }], authorization: { defaultAction: 'deny' } },
      '2026-03-01T00:00:00Z',
    ),
    policy('anonymous-ok', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'open' }],
      authentication: { apiKey: { required: false } },
    }),
  ];
}

let provider: MockProvider;
let upstream: TestUpstream;
let gateway: Gateway;

beforeAll(async () => {
  [provider, upstream] = await Promise.all([startOpenAIMock(), startUpstream('app')]);
  gateway = await startGateway(manifests(provider, upstream));
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([provider?.close(), upstream?.close()]);
});

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { headers });

describe('API-key authentication', () => {
  test('a request without a key gets 401 with a challenge, in plain JSON off the /v1 API', async () => {
    const res = await get('/app');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="tollgate"');
    expect(res.headers.get('x-tollgate-error-code')).toBe('TG_ERR_AUTH_MISSING_KEY');
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('TG_ERR_AUTH_MISSING_KEY');
    expect(body.error.message).toContain('Authorization: Bearer');
  });

  test('the OpenAI client without a valid key gets an OpenAI authentication error', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-wrong', maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('TG_ERR_AUTH_INVALID_KEY');
    expect(provider.requests).toHaveLength(0);
  });

  test('a request to /v1/messages without a key gets the Anthropic error shape', async () => {
    const res = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: expect.stringContaining('API key') },
    });
  });

  test.each([
    ['authorization', `Bearer ${KEYS.alice}`],
    ['x-api-key', KEYS.alice],
    ['api-key', KEYS.alice],
  ])(
    'a key in %s identifies the consumer, which the upstream sees instead of the key',
    async (name, value) => {
      const res = await get('/app', { [name]: value, 'x-tollgate-consumer': 'ai/forged' });
      expect(res.status).toBe(200);
      const seen = upstream.requests.at(-1)!;
      expect(seen.headers['x-tollgate-consumer']).toBe('ai/alice');
      expect(seen.headers['x-tollgate-team']).toBe('shop');
      expect(seen.headers[name]).toBeUndefined();
      expect(gateway.lastAccess()).toMatchObject({ consumer: 'ai/alice', team: 'shop', status: 200 });
    },
  );

  test('the OpenAI client with a consumer key reaches the provider with the provider key', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.alice, maxRetries: 0 });
    const reply = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(reply.choices[0]?.message.content).toBeTruthy();
    expect(provider.requests.at(-1)?.headers.authorization).toBe(`Bearer ${provider.apiKey}`);
  });

  test('the Anthropic client authenticates with x-api-key, and the key never reaches the provider', async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: KEYS.alice, maxRetries: 0 });
    const reply = await client.messages.create({
      model: 'gpt-4o-mini',
      max_tokens: 16,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(reply.content.length).toBeGreaterThan(0);
    const sent = JSON.stringify(provider.requests.map((r) => r.headers));
    expect(sent).not.toContain(KEYS.alice);
    expect(gateway.lastAccess()).toMatchObject({ consumer: 'ai/alice', status: 200 });
    const anonymous = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-nobody', maxRetries: 0 });
    const error = await anonymous.messages
      .create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  test('an unknown key gets 401 and a disabled consumer 403', async () => {
    expect((await get('/app', { 'x-api-key': 'sk-nobody' })).status).toBe(401);
    const res = await get('/app', { 'x-api-key': KEYS.gone });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-tollgate-error-code')).toBe('TG_ERR_AUTH_CONSUMER_DISABLED');
  });

  test('a route whose policy makes the key optional lets anonymous callers through', async () => {
    const res = await get('/open');
    expect(res.status).toBe(200);
    expect(upstream.requests.at(-1)?.headers['x-tollgate-consumer']).toBeUndefined();
    expect((await get('/open', { 'x-api-key': 'sk-nobody' })).status).toBe(401);
  });
});

describe('authorization', () => {
  test('a route allowing one team refuses another with 403 naming the caller and the rule', async () => {
    expect((await get('/app', { 'x-api-key': KEYS.alice })).status).toBe(200);
    const res = await get('/app', { 'x-api-key': KEYS.bob });
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('TG_ERR_AUTH_FORBIDDEN');
    expect(body.error.message).toContain('ai/bob (team billing)');
    expect(body.error.message).toContain('the default action');
  });

  test('a model rule denies one team one model on the AI route, in the OpenAI error shape', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.intern, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((error as Error).message).toContain('model "gpt-4o"');
    expect((error as Error).message).toContain('interns-small-models');
    const ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(ok.choices).toHaveLength(1);
  });

  test("a Policy attached to a Consumer decides that consumer's requests where nothing more specific does", async () => {
    // /open sets no authorization of its own: the intern's Consumer Policy denies it there.
    expect((await get('/open', { 'x-api-key': KEYS.alice })).status).toBe(200);
    const res = await get('/open', { 'x-api-key': KEYS.intern });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('ai/intern');
  });
});

describe('rate limits', () => {
  test('of 20 parallel requests against a limit of 5, exactly 5 pass and the rest get 429 with headers', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => get('/limited', { 'x-api-key': KEYS.bob })),
    );
    const passed = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(passed).toHaveLength(5);
    expect(refused).toHaveLength(15);
    const limited = refused[0]!;
    expect(limited.headers.get('x-tollgate-error-code')).toBe('TG_ERR_RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('5');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(0);
    const remaining = passed.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort();
    expect(remaining).toEqual([0, 1, 2, 3, 4]);
    // Another consumer has its own counter.
    expect((await get('/limited', { 'x-api-key': KEYS.alice })).status).toBe(200);
  });

  test('counters survive a new snapshot', async () => {
    gateway.apply(manifests(provider, upstream));
    expect((await get('/limited', { 'x-api-key': KEYS.bob })).status).toBe(429);
  });
});

describe('token rate limits', () => {
  test('a consumer is admitted while under its token limit and refused once its metered tokens reach it', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.tok, maxRetries: 0 });
    let spent = 0;
    let refusal: unknown;
    for (let i = 0; i < 50 && refusal === undefined; i++) {
      const before = spent;
      await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count my tokens please' }] })
        .then(
          (reply) => {
            expect(before).toBeLessThan(50);
            spent += reply.usage?.total_tokens ?? 0;
          },
          (error: unknown) => {
            refusal = error;
          },
        );
    }
    expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
    expect(spent).toBeGreaterThanOrEqual(50);
    const headers = (refusal as InstanceType<typeof OpenAI.RateLimitError>).headers;
    expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
    expect(headers.get('x-tollgate-error-code')).toBe('TG_ERR_RATE_LIMITED');
  });
});

describe('key rotation', () => {
  test('a Secret update makes the old key stop working and the new one work, without a restart', async () => {
    expect((await get('/app', { 'x-api-key': KEYS.alice })).status).toBe(200);
    gateway.apply(manifests(provider, upstream, { ...KEYS, alice: 'sk-alice-2' }));
    expect((await get('/app', { 'x-api-key': KEYS.alice })).status).toBe(401);
    expect((await get('/app', { 'x-api-key': 'sk-alice-2' })).status).toBe(200);
    gateway.apply(manifests(provider, upstream));
  });
});
