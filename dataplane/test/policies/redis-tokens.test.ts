// A global token limit shared in Redis by two data planes in front of one mock AI provider: the
// tokens they let through add up to the limit, overshooting by at most one request's tokens.
import {
  type MockProvider,
  type StartedRedis,
  startOpenAIMock,
  startRedis,
  waitFor,
} from '@tollgate/testkit';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { RedisRateLimitStore } from '../../src/policies/redis.ts';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';

const TOKENS = 400;

let redis: StartedRedis;
let provider: MockProvider;
const gateways: Gateway[] = [];
const stores: RedisRateLimitStore[] = [];
let redisClient: Redis | undefined;

beforeAll(async () => {
  redis = await startRedis();
  provider = await startOpenAIMock();
});

afterAll(async () => {
  redisClient?.disconnect();
  await Promise.all(gateways.map((g) => g.close()));
  await Promise.all(stores.map((s) => s.close()));
  await provider?.close();
  await redis?.stop();
});

function manifests(): unknown[] {
  return [
    ...mockProviderObjects('llm', 'openai', provider, { models: [{ name: 'gpt-4o-mini' }] }),
    routeObject('llm', [{ backendRefs: [{ kind: 'AIProvider', name: 'llm' }] }]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'tokens', namespace: 'ai' },
      spec: {
        targetRefs: [{ kind: 'Route', name: 'llm' }],
        rateLimits: [{ name: 'tokens', key: 'route', tokens: { limit: TOKENS, window: '1h' } }],
      },
    },
  ];
}

function store(): RedisRateLimitStore {
  const created = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'tokens:' });
  stores.push(created);
  return created;
}

test('a global token limit holds across two data planes', async () => {
  for (let i = 0; i < 2; i++) gateways.push(await startGateway(manifests(), { rateLimits: store() }));
  const clients = gateways.map(
    (g) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 0 }),
  );
  const observer = store();
  const inspector = new Redis(redis.url);
  redisClient = inspector;
  // The counter's key, once the first charge has created it.
  const counterKey = async () =>
    (await waitFor(async () => (await inspector.keys('tokens:*'))[0], { what: 'the counter' })).slice(
      'tokens:'.length,
    );
  let key: string | undefined;
  const headroom = async () => {
    key ??= await counterKey();
    return (await observer.acquire([{ key, limit: TOKENS, windowMs: 3_600_000, cost: 0 }]))[0]!.remaining;
  };
  let spent = 0;
  let largest = 0;
  let refusal: unknown;
  for (let i = 0; i < 200 && refusal === undefined; i++) {
    const client = clients[i % 2]!;
    const reply = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count my tokens please' }] })
      .catch((error: unknown) => {
        refusal = error;
        return undefined;
      });
    if (!reply) break;
    const used = reply.usage?.total_tokens ?? 0;
    spent += used;
    largest = Math.max(largest, used);
    // The charge lands after the response; the next request must see it, as a later one would.
    if (spent < TOKENS)
      await waitFor(async () => (await headroom()) <= TOKENS - spent, { what: 'the charge' });
  }
  expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
  expect(spent).toBeGreaterThanOrEqual(TOKENS);
  expect(spent - TOKENS).toBeLessThan(largest);
  expect(spent).toBeLessThanOrEqual(TOKENS * 1.05);
});
