// The in-process GCRA store with a hand-driven clock.
import { LocalRateLimitStore } from '../../src/policies/index.ts';

test('a limit of 3 per second allows a burst of 3, then one more every third of a second', () => {
  let now = 1000;
  const store = new LocalRateLimitStore(() => now);
  const take = () => store.acquire([{ key: 'k', limit: 3, windowMs: 1000 }])[0]!;
  expect([take(), take(), take()].map((r) => [r.allowed, r.remaining])).toEqual([
    [true, 2],
    [true, 1],
    [true, 0],
  ]);
  const refused = take();
  expect(refused.allowed).toBe(false);
  expect(refused.retryAfterMs).toBeCloseTo(1000 / 3);
  now += 334;
  expect(take().allowed).toBe(true);
  expect(take().allowed).toBe(false);
  now += 5000;
  expect(take().remaining).toBe(2);
});

test('several limits are charged all or nothing', () => {
  const store = new LocalRateLimitStore(() => 0);
  const both = [
    { key: 'wide', limit: 10, windowMs: 1000 },
    { key: 'narrow', limit: 1, windowMs: 1000 },
  ];
  expect(store.acquire(both).every((r) => r.allowed)).toBe(true);
  expect(store.acquire(both).map((r) => r.allowed)).toEqual([true, false]);
  // The refused request did not charge the wide limit: 9 remain after one more.
  expect(store.acquire([both[0]!])[0]!.remaining).toBe(8);
});

test('a token limit admits while under the limit and charges the used tokens afterwards', () => {
  let now = 0;
  const store = new LocalRateLimitStore(() => now);
  const check = () => store.acquire([{ key: 't', limit: 100, windowMs: 1000, cost: 0 }])[0]!;
  expect(check()).toMatchObject({ allowed: true, remaining: 100 });
  store.charge([{ key: 't', limit: 100, windowMs: 1000, cost: 150 }]);
  const refused = check();
  expect(refused.allowed).toBe(false);
  // 50 tokens of debt plus one token's worth of time (10 ms per token).
  expect(refused.retryAfterMs).toBeCloseTo(510);
  now += 510;
  expect(check().allowed).toBe(true);
});
