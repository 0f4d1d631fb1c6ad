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
