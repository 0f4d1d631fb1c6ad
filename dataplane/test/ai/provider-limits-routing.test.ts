// AIProvider limits and timeouts through the gateway: a provider at its concurrency or request
// budget is passed over for the next backend, or the caller gets 429 in its format; the provider's
// own request timeout makes an attempt fall back.
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type GatedProvider, startGatedProvider } from './gated-provider.ts';
import { type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there' }];

describe('provider limits and timeouts', () => {
  let behind: MockProvider;
  let backup: MockProvider;
  let sluggish: MockProvider;
  let narrow: GatedProvider;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    [behind, backup, sluggish] = await Promise.all([startOpenAIMock(), startOpenAIMock(), startOpenAIMock()]);
    narrow = await startGatedProvider(behind);
    gateway = await startGateway([
      ...providerObjects({
        name: 'narrow',
        spec: { type: 'openai', baseURL: narrow.baseURL, limits: { maxConcurrentRequests: 1 } },
        apiKey: behind.apiKey,
      }),
      ...providerObjects({
        name: 'metered',
        spec: { type: 'openai', baseURL: backup.baseURL, limits: { requestsPerMinute: 1 } },
        apiKey: backup.apiKey,
      }),
      ...providerObjects({
        name: 'sluggish',
        spec: { type: 'openai', baseURL: sluggish.baseURL, timeouts: { request: '300ms' } },
        apiKey: sluggish.apiKey,
      }),
      ...providerObjects({
        name: 'backup',
        spec: { type: 'openai', baseURL: backup.baseURL },
        apiKey: backup.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'narrow-then-backup' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'narrow', model: 'gpt-4o', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'gpt-4o', priority: 1 },
          ],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'narrow-only' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'narrow', model: 'gpt-4o' }],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'metered-only' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'metered', model: 'gpt-4o' }],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'sluggish-then-backup' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'sluggish', model: 'gpt-4o', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'gpt-4o', priority: 1 },
          ],
        },
      ]),
    ]);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await narrow?.close();
    await behind?.close();
    await backup?.close();
    await sluggish?.close();
  });

  test('maxConcurrentRequests: the request over the limit falls back, or gets 429 when nothing is left', async () => {
    const first = client.chat.completions.create({ model: 'narrow-then-backup', messages });
    await waitFor(() => narrow.received === 1, { what: 'the narrow provider to hold the first request' });

    const served = backup.requests.length;
    await client.chat.completions.create({ model: 'narrow-then-backup', messages });
    expect(backup.requests.length).toBe(served + 1);
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/backup', attempts: 1 });

    const error = await client.chat.completions
      .create({ model: 'narrow-only', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(Number(apiError.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(gateway.lastAccess().errorCode).toBe('TG_ERR_AI_RATE_LIMITED');
    expect(narrow.received).toBe(1);

    narrow.open();
    await first;
    // The slot is free again.
    await client.chat.completions.create({ model: 'narrow-only', messages });
    expect(narrow.received).toBe(2);
  });

  test('requestsPerMinute: once the minute is spent the caller gets 429 with Retry-After', async () => {
    await client.chat.completions.create({ model: 'metered-only', messages });
    const asked = backup.requests.length;
    const error = await client.chat.completions
      .create({ model: 'metered-only', messages })
      .catch((e: unknown) => e);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(429);
    expect(Number(apiError.headers?.get('retry-after'))).toBeGreaterThanOrEqual(30);
    expect(backup.requests.length).toBe(asked);
  });

  test('the provider’s timeouts.request ends its attempt and the next priority serves', async () => {
    sluggish.enqueue({ kind: 'hang' });
    const asked = sluggish.requests.length;
    const completion = await client.chat.completions.create({ model: 'sluggish-then-backup', messages });
    expect(completion.choices[0]!.message.content).toContain('hello there');
    expect(sluggish.requests.length).toBe(asked + 1);
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/backup', attempts: 2 });
  });
});
