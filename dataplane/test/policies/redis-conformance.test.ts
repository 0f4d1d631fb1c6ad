// One behaviour table, both RateLimitStore implementations: the in-process store and the Redis
// one must decide alike (cases that do not depend on the passing of time).
import { type StartedRedis, startRedis } from '@tollgate/testkit';
import { LocalRateLimitStore, type RateLimitStore } from '../../src/policies/index.ts';
import { RedisRateLimitStore } from '../../src/policies/redis.ts';

let redis: StartedRedis;
const opened: RedisRateLimitStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await redis?.stop();
});

const stores: Array<[string, () => RateLimitStore]> = [
  ['local', () => new LocalRateLimitStore()],
  [
    'redis',
    () => {
      const store = new RedisRateLimitStore({ url: redis.url, keyPrefix: `conf${++prefixes}:` });
      opened.push(store);
      return store;
    },
  ],
];

describe.each(stores)('%s store', (_name, create) => {
  test('allows a burst of the limit with falling remaining counts, then refuses', async () => {
    const store = create();
    const take = async () => (await store.acquire([{ key: 'k', limit: 3, windowMs: 60_000 }]))[0]!;
    const results = [await take(), await take(), await take(), await take()];
    expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(results[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(results[3]!.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  test('charges several limits all or nothing', async () => {
    const store = create();
    const both = [
      { key: 'wide', limit: 10, windowMs: 60_000 },
      { key: 'narrow', limit: 1, windowMs: 60_000 },
    ];
    expect((await store.acquire(both)).map((r) => r.allowed)).toEqual([true, true]);
    expect((await store.acquire(both)).map((r) => r.allowed)).toEqual([true, false]);
    expect((await store.acquire([both[0]!]))[0]!.remaining).toBe(8);
  });

  test('a token check does not charge; a charge past the limit refuses the next check', async () => {
    const store = create();
    const check = async () =>
      (await store.acquire([{ key: 't', limit: 100, windowMs: 60_000, cost: 0 }]))[0]!;
    expect(await check()).toMatchObject({ allowed: true, remaining: 100 });
    expect(await check()).toMatchObject({ allowed: true, remaining: 100 });
    await store.charge([{ key: 't', limit: 100, windowMs: 60_000, cost: 150 }]);
    expect((await check()).allowed).toBe(false);
  });

  test('a request refused by its shared limit leaves its local-scoped limit uncharged', async () => {
    const store = create();
    const pair = [
      { key: 'mine', limit: 2, windowMs: 60_000, scope: 'local' as const },
      { key: 'shared', limit: 1, windowMs: 60_000 },
    ];
    expect((await store.acquire(pair)).map((r) => r.allowed)).toEqual([true, true]);
    expect((await store.acquire(pair)).map((r) => r.allowed)).toEqual([true, false]);
    // The refused request's local charge was undone: one of the two is still there.
    expect((await store.acquire([pair[0]!]))[0]!.allowed).toBe(true);
  });
});
