// Journey 4, "Ship a canary", followed with nothing but docs/traffic.md ("Canary releases"): under
// steady load, the documented Route's weights go 100/0 → 90/10 (the manifest as written) → 0/100
// with kubectl apply against a real API server, and no request fails during any change. The
// per-backend series the dashboard charts (requests by status class, latency) show the canary on
// its own. The two Services' pods are processes in network namespaces (the API server refuses
// loopback endpoints).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { type DocObject, docsObjects, find, toYaml } from '../src/journeys/docs.ts';
import { startLoad } from '../src/load.ts';
import { type NetnsUpstream, serviceYaml, startNetnsUpstream } from '../src/netns-upstream.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 90_000;
const HOST = 'canary.shop.example.com';

let journey: JourneyCluster;
let stable: NetnsUpstream;
let canary: NetnsUpstream;
let route: DocObject;

/** The documented Route with other weights (the doc's own are 90/10). */
function withWeights(stableWeight: number, canaryWeight: number): string {
  const copy = structuredClone(route);
  const refs = (copy.spec!.rules as Array<{ backendRefs: Array<{ name: string; weight: number }> }>)[0]!
    .backendRefs;
  refs[0]!.weight = stableWeight;
  refs[1]!.weight = canaryWeight;
  return toYaml([copy]);
}

async function get(pathname: string): Promise<{ status: number; upstream?: string }> {
  const response = await request(`${journey.stack.gatewayUrl}${pathname}`, { headers: { host: HOST } });
  await response.body.dump();
  const upstream = response.headers['x-upstream'];
  return { status: response.statusCode, upstream: typeof upstream === 'string' ? upstream : undefined };
}

/** Steady load from a few concurrent clients; records where each answer came from and any failure. */
function steadyLoad(clients: number) {
  const seen = {
    ok: 0,
    byUpstream: new Map<string, number>(),
    failures: [] as string[],
    last: [] as string[],
  };
  const load = startLoad(clients, async (i, n) => {
    try {
      const result = await get(`/orders/${i}-${n}`);
      if (result.status !== 200) seen.failures.push(`status ${result.status}`);
      else {
        seen.ok++;
        const name = result.upstream ?? '?';
        seen.byUpstream.set(name, (seen.byUpstream.get(name) ?? 0) + 1);
        seen.last.push(name);
        if (seen.last.length > 50) seen.last.shift();
      }
    } catch (error) {
      seen.failures.push(String(error));
    }
  });
  return {
    seen,
    stop: async () => {
      await load.stop();
      return seen;
    },
  };
}

/** Where `count` sequential requests go. */
async function split(count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const { upstream } = await get(`/orders/split-${i}`);
    counts[upstream ?? '?'] = (counts[upstream ?? '?'] ?? 0) + 1;
  }
  return counts;
}

beforeAll(async () => {
  [stable, canary] = await Promise.all([startNetnsUpstream('orders'), startNetnsUpstream('orders-canary')]);
  journey = await startJourneyCluster(['default']);
  await journey.apply(`${serviceYaml('orders', stable)}---${serviceYaml('orders-canary', canary)}`);
  route = find(docsObjects('traffic.md', 'Canary releases'), 'Route', 'orders-canary');
}, SLOW);

afterAll(async () => {
  await journey?.stop();
  await Promise.all([stable?.close(), canary?.close()]);
}, TEST);

test(
  'weights move 100/0 → 90/10 → 0/100 under steady load, and no request fails during any change',
  async () => {
    await journey.apply(withWeights(100, 0));
    await waitFor(async () => (await get('/orders/warmup')).status === 200, {
      what: 'the route to serve',
      timeoutMs: 20_000,
    });
    expect(await split(50)).toEqual({ orders: 50 });

    const load = steadyLoad(4);
    try {
      // The manifest as documented: 90/10.
      await journey.apply(toYaml([route]));
      await waitFor(() => (load.seen.byUpstream.get('orders-canary') ?? 0) >= 20, {
        what: 'the canary to take its share',
        timeoutMs: 20_000,
      });
      await journey.waitForCondition(
        'route',
        'default',
        'orders-canary',
        'Programmed',
        (c) => c.status === 'True',
      );

      // The canary has won.
      await journey.apply(withWeights(0, 100));
      await waitFor(
        () => load.seen.last.length === 50 && load.seen.last.every((u) => u === 'orders-canary'),
        {
          what: 'every request on the canary',
          timeoutMs: 20_000,
        },
      );
    } finally {
      const seen = await load.stop();
      process.stdout.write(
        `canary journey: ${seen.ok} requests under load, by upstream ${JSON.stringify(Object.fromEntries(seen.byUpstream))}\n`,
      );
      expect(seen.failures).toEqual([]);
    }
    expect(load.seen.ok).toBeGreaterThan(0);
    expect(await split(50)).toEqual({ 'orders-canary': 50 });
  },
  TEST,
);

test(
  'at 90/10 the canary gets about a tenth of the requests, and the dashboard series show each backend',
  async () => {
    await journey.apply(toYaml([route]));
    await waitFor(async () => (await split(20)).orders !== undefined, {
      what: '90/10 again',
      timeoutMs: 20_000,
    });
    const counts = await split(200);
    // Smooth weighted round robin: 1 in 10, give or take the start of the cycle.
    expect(counts['orders-canary']).toBeGreaterThanOrEqual(15);
    expect(counts['orders-canary']).toBeLessThanOrEqual(25);
    expect(counts.orders! + counts['orders-canary']!).toBe(200);

    const metrics = await journey.metrics();
    for (const name of ['orders', 'orders-canary']) {
      expect(metrics).toMatch(
        new RegExp(
          `^tollgate_backend_requests_total\\{backend="service/default/${name}:8080",status_class="2xx"\\} [1-9]`,
          'm',
        ),
      );
      expect(metrics).toMatch(
        new RegExp(
          `^tollgate_backend_duration_seconds_count\\{backend="service/default/${name}:8080"\\} [1-9]`,
          'm',
        ),
      );
    }
    expect(metrics).not.toMatch(/^tollgate_backend_requests_total\{[^}]*status_class="5xx"\} [1-9]/m);
    // The shipped dashboard charts exactly these series by backend.
    const dashboard = readFileSync(
      path.resolve(import.meta.dirname, '../../charts/tollgate/dashboards/tollgate.json'),
      'utf8',
    );
    expect(dashboard).toContain('sum by (backend, status_class) (rate(tollgate_backend_requests_total');
    expect(dashboard).toContain('sum by (le, backend) (rate(tollgate_backend_duration_seconds_bucket');
  },
  TEST,
);
