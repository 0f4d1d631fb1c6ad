// One conformance table for every endpoint load balancer: what each must do (pick only given
// hosts, spread load, skip unavailable hosts, fall back to all in panic), then what sets each
// apart (stickiness of the hashing ones under membership change, load and latency awareness).
import type { OutlierDetectionIR } from '@tollgate/snapshot';
import {
  AvailabilityBalancer,
  BALANCERS,
  type BalancerFactory,
  EndpointState,
  type PickContext,
  WeightedPicker,
} from '../../src/upstream/index.ts';

interface Host {
  readonly state: EndpointState;
}

const hosts = (n: number): Host[] =>
  Array.from({ length: n }, (_, i) => ({ state: new EndpointState(`10.0.0.${i + 1}:8080`) }));

/** The endpoint balancers, and the smooth weighted round robin that splits a rule's backends. */
const FACTORIES: Record<string, BalancerFactory> = {
  ...BALANCERS,
  SmoothWeightedRoundRobin: (hosts) => {
    const picker = new WeightedPicker(hosts.map((item) => ({ item, weight: 1 })));
    return { pick: () => picker.pick() };
  },
};
const ALL = Object.keys(FACTORIES);
const HASHING = ['RingHash', 'Maglev'] as const;

/** A context per request: hashing balancers get a fresh key each time, like distinct users. */
const request = (i: number): PickContext => ({ hashKey: `user-${i}` });

function counts(pick: (i: number) => Host | undefined, n: number): Map<Host | undefined, number> {
  const out = new Map<Host | undefined, number>();
  for (let i = 0; i < n; i++) {
    const host = pick(i);
    out.set(host, (out.get(host) ?? 0) + 1);
  }
  return out;
}

const OUTLIER: OutlierDetectionIR = {
  consecutiveErrors: 1,
  baseEjectionMs: 60_000,
  maxEjectionMs: 60_000,
  maxEjectionPercent: 100,
};

describe.each(ALL)('%s', (type) => {
  const factory = FACTORIES[type]!;

  test('has nothing to pick without hosts and always picks the only host', () => {
    expect(factory<Host>([]).pick(request(0))).toBeUndefined();
    const [only] = hosts(1);
    for (let i = 0; i < 10; i++) expect(factory([only!]).pick(request(i))).toBe(only);
  });

  test('spreads 3,000 requests over three hosts, each getting between a quarter and 42%', () => {
    const three = hosts(3);
    const balancer = factory(three);
    const seen = counts((i) => balancer.pick(request(i)), 3000);
    expect([...seen.keys()].every((h) => h !== undefined && three.includes(h))).toBe(true);
    for (const host of three) {
      expect(seen.get(host) ?? 0).toBeGreaterThan(750);
      expect(seen.get(host) ?? 0).toBeLessThan(1260);
    }
  });

  test('never picks an ejected host, and picks it again once its circuit half-opens', () => {
    const three = hosts(3);
    let version = 0;
    const balancer = new AvailabilityBalancer(three, factory, 0, () => version);
    const ejected = three[1]!;
    ejected.state.eject(OUTLIER, () => {});
    version++;
    const seen = counts((i) => balancer.pick(request(i)), 600);
    expect(seen.get(ejected)).toBeUndefined();
    expect(seen.size).toBe(2);
    ejected.state.circuit = 'half-open';
    version++;
    expect(counts((i) => balancer.pick(request(i)), 600).get(ejected)).toBeGreaterThan(0);
    ejected.state.stop();
  });

  test('never picks a host failing its active health checks', () => {
    const three = hosts(3);
    let version = 0;
    const balancer = new AvailabilityBalancer(three, factory, 0, () => version);
    three[0]!.state.activeHealthy = false;
    version++;
    expect(counts((i) => balancer.pick(request(i)), 600).get(three[0])).toBeUndefined();
  });

  test('below the panic threshold sends traffic to every host again', () => {
    const four = hosts(4);
    let version = 0;
    const balancer = new AvailabilityBalancer(four, factory, 50, () => version);
    for (const host of four.slice(0, 3)) host.state.activeHealthy = false;
    version++;
    const seen = counts((i) => balancer.pick(request(i)), 2000);
    expect(balancer.panic).toBe(true);
    expect(seen.size).toBe(4);
  });

  test('with every host out and no panic threshold, has nothing to pick', () => {
    const two = hosts(2);
    let version = 0;
    const balancer = new AvailabilityBalancer(two, factory, 0, () => version);
    for (const host of two) host.state.activeHealthy = false;
    version++;
    expect(balancer.pick(request(0))).toBeUndefined();
  });
});

describe.each(HASHING)('%s consistent hashing', (type) => {
  const factory = BALANCERS[type];

  test('sends every request with the same key to the same host', () => {
    const balancer = factory(hosts(5));
    for (let user = 0; user < 200; user++) {
      const first = balancer.pick({ hashKey: `user-${user}` });
      for (let again = 0; again < 3; again++) expect(balancer.pick({ hashKey: `user-${user}` })).toBe(first);
    }
  });

  test('keeps keys where they were when a host leaves: only that host’s keys move', () => {
    const five = hosts(5);
    const before = factory(five);
    const leaving = five[2]!;
    const after = factory(five.filter((h) => h !== leaving));
    let stayed = 0;
    let elsewhere = 0;
    for (let user = 0; user < 5000; user++) {
      const key = { hashKey: `user-${user}` };
      const was = before.pick(key);
      if (was === leaving) continue;
      elsewhere++;
      if (after.pick(key) === was) stayed++;
    }
    // A ring moves none of them; Maglev a few percent at most.
    expect(stayed / elsewhere).toBeGreaterThan(type === 'RingHash' ? 0.999 : 0.9);
  });

  test('keeps keys where they were when a host joins, apart from the share the new host takes', () => {
    const five = hosts(5);
    const before = factory(five.slice(0, 4));
    const after = factory(five);
    let moved = 0;
    for (let user = 0; user < 5000; user++) {
      const key = { hashKey: `user-${user}` };
      const now = after.pick(key);
      if (now !== five[4] && now !== before.pick(key)) moved++;
    }
    expect(moved / 5000).toBeLessThan(type === 'RingHash' ? 0.001 : 0.08);
  });
});

test('least request (two choices) never sends to the busiest of three hosts', () => {
  const three = hosts(3);
  three[0]!.state.inFlight = 50;
  three[1]!.state.inFlight = 1;
  const balancer = BALANCERS.LeastRequest(three);
  expect(counts(() => balancer.pick({}), 1000).get(three[0])).toBeUndefined();
});

test('peak EWMA avoids a host whose latency spiked and tries an unmeasured host first', () => {
  const three = hosts(3);
  three[0]!.state.recordLatency(500);
  three[1]!.state.recordLatency(5);
  const balancer = BALANCERS.PeakEWMA(three);
  const seen = counts(() => balancer.pick({}), 1000);
  expect(seen.get(three[0])).toBeUndefined();
  // The unmeasured host costs nothing: it wins every pair it is in.
  expect(seen.get(three[2])).toBeGreaterThan(seen.get(three[1]) ?? 0);
});

test('peak EWMA follows a latency spike at once and forgets it gradually', () => {
  const state = new EndpointState('10.0.0.1:80');
  state.recordLatency(10, 0);
  state.recordLatency(400, 1);
  expect(state.latencyMs).toBe(400);
  state.recordLatency(10, 10_001);
  expect(state.latencyMs).toBeLessThan(400);
  expect(state.latencyMs).toBeGreaterThan(10);
});

test('round robin visits the hosts in turn', () => {
  const three = hosts(3);
  const balancer = BALANCERS.RoundRobin(three);
  const picks = Array.from({ length: 6 }, () => balancer.pick({}));
  expect(new Set(picks.slice(0, 3)).size).toBe(3);
  expect(picks.slice(3)).toEqual(picks.slice(0, 3));
});
