// AIProvider limits enforced per pod: concurrency, requests per minute, tokens per minute.
import { ProviderLimits } from '../../src/ai/balancing/index.ts';

describe('provider limits', () => {
  test('maxConcurrentRequests refuses the request over the limit until one ends', () => {
    const limits = new ProviderLimits();
    const settings = { maxConcurrentRequests: 2 };
    const a = limits.admit('p', settings);
    const b = limits.admit('p', settings);
    expect(a.ok && b.ok).toBe(true);
    const c = limits.admit('p', settings);
    expect(c).toMatchObject({ ok: false, reason: 'concurrency' });
    expect(limits.available('p', settings)).toBe(false);
    if (a.ok) a.permit.release();
    if (a.ok) a.permit.release();
    expect(limits.admit('p', settings).ok).toBe(true);
    expect(limits.admit('other', settings).ok).toBe(true);
  });

  test('requestsPerMinute refuses once the minute is spent, with the wait until the next request', () => {
    let now = 0;
    const limits = new ProviderLimits(() => now);
    const settings = { requestsPerMinute: 2 };
    for (let i = 0; i < 2; i++) {
      const admitted = limits.admit('p', settings);
      expect(admitted.ok).toBe(true);
      if (admitted.ok) admitted.permit.release();
    }
    const refused = limits.admit('p', settings);
    expect(refused).toMatchObject({ ok: false, reason: 'requests-per-minute' });
    if (!refused.ok) expect(refused.retryAfterMs).toBe(30_000);
    now += 30_000;
    expect(limits.admit('p', settings).ok).toBe(true);
  });

  test('tokensPerMinute charges usage when a request ends and refuses while the budget is spent', () => {
    let now = 0;
    const limits = new ProviderLimits(() => now);
    const settings = { tokensPerMinute: 1_000 };
    const first = limits.admit('p', settings);
    expect(first.ok).toBe(true);
    if (first.ok) first.permit.release(1_500);
    const refused = limits.admit('p', settings);
    expect(refused).toMatchObject({ ok: false, reason: 'tokens-per-minute' });
    now += 60_000;
    expect(limits.admit('p', settings).ok).toBe(true);
  });

  test('no limits: always admitted', () => {
    const limits = new ProviderLimits();
    for (let i = 0; i < 100; i++) expect(limits.admit('p', undefined).ok).toBe(true);
  });
});
