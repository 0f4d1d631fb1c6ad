// The balancing strategies of an AI rule's priority group, as one table: every strategy must pick
// only backends that may take a request, share traffic among equals by weight, and move away
// from a backend that turned slow or busy.
import {
  BackendLoad,
  type Balanced,
  type BalancingType,
  createBalancer,
} from '../../src/ai/balancing/index.ts';

const STRATEGIES: BalancingType[] = ['Weighted', 'LeastBusy', 'LowestLatency'];

function group(...weights: number[]): Balanced[] {
  return weights.map((weight, i) => ({ key: `b${i}`, weight }));
}

function counts(picks: Balanced[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[p.key] = (out[p.key] ?? 0) + 1;
  return out;
}

describe.each(STRATEGIES)('%s', (type) => {
  test('never puts a cooling or full backend first while another is available, and keeps it last', () => {
    const backends = group(5, 1, 1);
    const balancer = createBalancer(type, backends);
    const load = new BackendLoad();
    const resting = new Set(['b0']);
    for (let i = 0; i < 30; i++) {
      const order = balancer.order({ load, available: (b) => !resting.has(b.key) });
      expect(order).toHaveLength(3);
      expect(order[0]!.key).not.toBe('b0');
      expect(order.at(-1)!.key).toBe('b0');
    }
  });

  test('still lists every backend when none is available (the caller reports the wait)', () => {
    const balancer = createBalancer(type, group(1, 1));
    const order = balancer.order({ load: new BackendLoad(), available: () => false });
    expect(order.map((b) => b.key).sort()).toEqual(['b0', 'b1']);
  });

  test('idle, equally fast backends share traffic by weight (3:1)', () => {
    const backends = group(3, 1);
    const balancer = createBalancer(type, backends);
    const load = new BackendLoad();
    for (const b of backends) load.observe(b.key, 100);
    const picks = Array.from({ length: 40 }, () => balancer.order({ load, available: () => true })[0]!);
    if (type === 'LowestLatency') {
      // Latency divided by weight favours the heavier backend; the lighter one is still ordered second.
      expect(counts(picks).b0).toBe(40);
    } else expect(counts(picks)).toEqual({ b0: 30, b1: 10 });
  });

  test('moves traffic away from a backend holding slow requests', () => {
    const backends = group(1, 1);
    const balancer = createBalancer(type, backends);
    const load = new BackendLoad();
    load.observe('b0', 100);
    load.observe('b1', 100);
    // b0 turns slow: several requests stuck in flight, and a slow answer measured.
    for (let i = 0; i < 3; i++) load.begin('b0');
    load.observe('b0', 5_000);
    const picks = Array.from({ length: 10 }, () => balancer.order({ load, available: () => true })[0]!);
    if (type === 'Weighted') expect(counts(picks)).toEqual({ b0: 5, b1: 5 });
    else expect(counts(picks)).toEqual({ b1: 10 });
  });
});

describe('LowestLatency', () => {
  test('tries a backend it has never measured before the measured ones', () => {
    const backends = group(1, 1, 1);
    const balancer = createBalancer('LowestLatency', backends);
    const load = new BackendLoad();
    load.observe('b0', 10);
    load.observe('b1', 10);
    expect(balancer.order({ load, available: () => true })[0]!.key).toBe('b2');
  });

  test('sends no burst to an unmeasured backend while its probe is in flight', () => {
    const balancer = createBalancer('LowestLatency', group(1, 1));
    const load = new BackendLoad();
    load.observe('b0', 200);
    load.begin('b1');
    expect(balancer.order({ load, available: () => true })[0]!.key).toBe('b0');
  });

  test('forgives a slow spell once fast answers keep coming (decay window)', () => {
    let now = 0;
    const load = new BackendLoad({ now: () => now, decayMs: 1_000 });
    load.observe('b0', 2_000);
    for (let i = 0; i < 10; i++) {
      now += 1_000;
      load.observe('b0', 50);
    }
    expect(load.latency('b0')).toBeLessThan(100);
  });

  test('takes a slower sample at once (peak)', () => {
    const load = new BackendLoad();
    load.observe('b0', 50);
    load.observe('b0', 900);
    expect(load.latency('b0')).toBe(900);
  });
});

describe('LeastBusy', () => {
  test('ends of requests count: a backend freed up gets traffic again', () => {
    const balancer = createBalancer('LeastBusy', group(1, 1));
    const load = new BackendLoad();
    const end = load.begin('b0');
    expect(balancer.order({ load, available: () => true })[0]!.key).toBe('b1');
    end();
    end();
    expect(load.inFlight('b0')).toBe(0);
  });
});
