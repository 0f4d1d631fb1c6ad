// Global rate limits in a real Redis: two data planes share counters exactly, headers stay
// consistent, counters expire, and an unreachable Redis fails open or closed as configured.
import { type StartedRedis, startRedis, startUpstream, type TestUpstream } from '@tollgate/testkit';
import { Redis } from 'ioredis';
import type { FailureMode } from '../../src/policies/index.ts';
import { RedisRateLimitStore } from '../../src/policies/redis.ts';
import { type Gateway, routeObject, startGateway } from '../ai/helpers.ts';

const LIMIT = 10;

function manifests(upstream: TestUpstream, extra: Record<string, string> = {}): unknown[] {
  return [
    routeObject('app', [{ backendRefs: [{ url: upstream.url }] }]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'global', namespace: 'ai' },
      spec: {
        targetRefs: [{ kind: 'Route', name: 'app' }],
        rateLimits: [{ name: 'shared', key: 'route', requests: { limit: LIMIT, window: '1h' }, ...extra }],
      },
    },
  ];
}

let redis: StartedRedis;
let upstream: TestUpstream;
const gateways: Gateway[] = [];
const stores: RedisRateLimitStore[] = [];

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startUpstream('app');
});

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await redis?.stop();
  await upstream?.close();
});

async function gatewayWith(prefix: string, extra: Record<string, string> = {}): Promise<Gateway> {
  const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: prefix });
  stores.push(store);
  const gateway = await startGateway(manifests(upstream, extra), { rateLimits: store });
  gateways.push(gateway);
  return gateway;
}

test('two data planes sharing Redis admit exactly the limit of a global limit in total', async () => {
  const [a, b] = [await gatewayWith('exact:'), await gatewayWith('exact:')];
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_v, i) => fetch(`${(i % 2 ? a : b).url}/x`)),
  );
  await Promise.all(responses.map((r) => r.arrayBuffer()));
  const admitted = responses.filter((r) => r.status === 200);
  const refused = responses.filter((r) => r.status === 429);
  expect(admitted).toHaveLength(LIMIT);
  expect(refused).toHaveLength(40 - LIMIT);
  // Each admitted request saw a distinct remaining count: the counter moved atomically.
  const remaining = admitted.map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((x, y) => x - y);
  expect(remaining).toEqual(Array.from({ length: LIMIT }, (_v, i) => i));
  for (const r of refused) {
    expect(r.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    expect(r.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(r.headers.get('x-tollgate-error-code')).toBe('TG_ERR_RATE_LIMITED');
  }
});

test('a limit with scope local counts in each data plane, not in Redis', async () => {
  const [a, b] = [
    await gatewayWith('local:', { scope: 'local' }),
    await gatewayWith('local:', { scope: 'local' }),
  ];
  const responses = await Promise.all(
    Array.from({ length: 40 }, (_v, i) => fetch(`${(i % 2 ? a : b).url}/x`)),
  );
  await Promise.all(responses.map((r) => r.arrayBuffer()));
  expect(responses.filter((r) => r.status === 200)).toHaveLength(2 * LIMIT);
  const client = new Redis(redis.url);
  try {
    expect(await client.keys('local:*')).toEqual([]);
  } finally {
    client.disconnect();
  }
});

test('counters are stored with a TTL that ends when they are full again', async () => {
  const gateway = await gatewayWith('ttl:');
  expect((await fetch(`${gateway.url}/x`)).status).toBe(200);
  const client = new Redis(redis.url);
  try {
    const keys = await client.keys('ttl:*');
    expect(keys).toHaveLength(1);
    const ttl = await client.pttl(keys[0]!);
    // One request of a 10 per hour limit: 6 minutes (plus a second of margin).
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(361_000);
  } finally {
    client.disconnect();
  }
});

test('several limits in one call are charged all or nothing in Redis', async () => {
  const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'aon:' });
  stores.push(store);
  const both = [
    { key: 'wide', limit: 10, windowMs: 60_000 },
    { key: 'narrow', limit: 1, windowMs: 60_000 },
  ];
  expect((await store.acquire(both)).every((r) => r.allowed)).toBe(true);
  expect((await store.acquire(both)).map((r) => r.allowed)).toEqual([true, false]);
  expect((await store.acquire([both[0]!]))[0]!.remaining).toBe(8);
});

test('a token limit admits while under the limit and refuses once charged past it', async () => {
  const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: 'tok:' });
  stores.push(store);
  const check = async () => (await store.acquire([{ key: 't', limit: 100, windowMs: 60_000, cost: 0 }]))[0]!;
  expect(await check()).toMatchObject({ allowed: true, remaining: 100 });
  await store.charge([{ key: 't', limit: 100, windowMs: 60_000, cost: 150 }]);
  const refused = await check();
  expect(refused.allowed).toBe(false);
  expect(refused.retryAfterMs).toBeGreaterThan(30_000);
});

describe('when Redis is unreachable', () => {
  let dead: StartedRedis;
  beforeAll(async () => {
    dead = await startRedis();
    await dead.stop();
  });

  async function deadGateway(failureMode: FailureMode, extra: Record<string, string> = {}): Promise<Gateway> {
    const store = new RedisRateLimitStore({ url: dead.url, failureMode, commandTimeoutMs: 100 });
    stores.push(store);
    const gateway = await startGateway(manifests(upstream, extra), { rateLimits: store });
    gateways.push(gateway);
    return gateway;
  }

  test('fail-open admits requests', async () => {
    const gateway = await deadGateway('open');
    const statuses = await Promise.all(
      Array.from({ length: LIMIT + 5 }, async () => {
        const r = await fetch(`${gateway.url}/x`);
        await r.arrayBuffer();
        return r.status;
      }),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  test('fail-closed refuses with 503 TG_ERR_RATE_LIMIT_UNAVAILABLE in the caller format', async () => {
    const gateway = await deadGateway('closed');
    const r = await fetch(`${gateway.url}/x`);
    expect(r.status).toBe(503);
    expect(r.headers.get('x-tollgate-error-code')).toBe('TG_ERR_RATE_LIMIT_UNAVAILABLE');
    const body = (await r.json()) as { error: { code: string } };
    expect(body.error.code).toBe('TG_ERR_RATE_LIMIT_UNAVAILABLE');
  });

  test('a limit whose policy says failureMode closed refuses even when the store default is open', async () => {
    const gateway = await deadGateway('open', { failureMode: 'closed' });
    const r = await fetch(`${gateway.url}/x`);
    await r.arrayBuffer();
    expect(r.status).toBe(503);
    expect(r.headers.get('x-tollgate-error-code')).toBe('TG_ERR_RATE_LIMIT_UNAVAILABLE');
  });
});
