// Journey 3, "Expose a service", followed with nothing but docs/traffic.md ("Routes to
// Services"): the documented Route applied with kubectl to a real API server sends
// shop.example.com/orders to the Service orders:8080; `kubectl get routes` prints ACCEPTED and
// PROGRAMMED True with the age; a typo in the Service name reads ResolvedRefs=False with a message
// naming the Service, and nothing else breaks. The Service's pod is a process in a network
// namespace (the API server refuses loopback endpoints).
import { waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { type DocObject, docsObjects, find, toYaml } from '../src/journeys/docs.ts';
import { type NetnsUpstream, serviceYaml, startNetnsUpstream } from '../src/netns-upstream.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;

let journey: JourneyCluster;
let orders: NetnsUpstream;
let route: DocObject;

async function get(host: string, pathname: string) {
  const response = await request(`${journey.stack.gatewayUrl}${pathname}`, { headers: { host } });
  const body = await response.body.text();
  const header = (name: string) => {
    const value = response.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return {
    status: response.statusCode,
    upstream: header('x-upstream'),
    code: header('x-tollgate-error-code'),
    body,
  };
}

beforeAll(async () => {
  orders = await startNetnsUpstream('orders');
  journey = await startJourneyCluster(['default']);
  await journey.apply(serviceYaml('orders', orders));
  route = find(docsObjects('traffic.md', 'Routes to Services'), 'Route', 'orders');
}, SLOW);

afterAll(async () => {
  await journey?.stop();
  await orders?.close();
}, TEST);

test(
  'the documented Route sends shop.example.com/orders to the Service, and `kubectl get routes` shows it Accepted and Programmed',
  async () => {
    await journey.apply(toYaml([route]));
    const served = await waitForStatus('shop.example.com', '/orders/42', 200);
    expect(served.upstream).toBe('orders');
    // Only the Route's host and path.
    expect((await get('other.example.com', '/orders/42')).status).toBe(404);
    expect((await get('shop.example.com', '/cart')).status).toBe(404);

    await journey.waitForCondition('route', 'default', 'orders', 'Programmed', (c) => c.status === 'True');
    const rows = await journey.table(['routes']);
    expect(rows).toEqual([
      {
        NAME: 'orders',
        HOSTNAMES: '["shop.example.com"]',
        ACCEPTED: 'True',
        PROGRAMMED: 'True',
        AGE: expect.stringMatching(/^\d+s$/),
      },
    ]);
  },
  TEST,
);

test(
  'a typo in the Service name reads ResolvedRefs=False naming the Service, and the other routes keep serving',
  async () => {
    // A second team's Route, with the Service name mistyped.
    const typo = structuredClone(route);
    typo.metadata.name = 'payments';
    const rule = (
      typo.spec!.rules as Array<{
        matches: Array<{ path: { value: string } }>;
        backendRefs: Array<{ name: string }>;
      }>
    )[0]!;
    rule.matches[0]!.path.value = '/payments';
    rule.backendRefs[0]!.name = 'paymnets';
    await journey.apply(toYaml([typo]));

    const resolved = await journey.waitForCondition(
      'route',
      'default',
      'payments',
      'ResolvedRefs',
      (c) => c.status === 'False',
    );
    expect(resolved.reason).toBe('BackendNotFound');
    expect(resolved.message).toBe(
      'spec.rules[0].backendRefs[0]: Service "paymnets" not found in namespace "default"; create it or fix the name',
    );
    const printed = await journey.cluster.kubectlOk([
      'get',
      'route',
      'payments',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="ResolvedRefs")].message}',
    ]);
    expect(printed).toContain('Service "paymnets" not found');
    const described = await journey.cluster.kubectlOk(['describe', 'route', 'payments']);
    expect(described).toMatch(/Reason:\s+BackendNotFound/);
    expect(described).toContain('Service "paymnets" not found in namespace "default"');

    const payments = await waitForStatus('shop.example.com', '/payments/1', 500);
    expect(payments.code).toBe('TG_ERR_BACKEND_NOT_RESOLVED');
    const ordersRoute = await get('shop.example.com', '/orders/43');
    expect(ordersRoute.status).toBe(200);
    expect(ordersRoute.upstream).toBe('orders');
    const rows = await journey.table(['routes']);
    expect(rows.find((r) => r.NAME === 'orders')).toMatchObject({ ACCEPTED: 'True', PROGRAMMED: 'True' });

    // Fixing the name is one more apply.
    rule.backendRefs[0]!.name = 'orders';
    await journey.apply(toYaml([typo]));
    await journey.waitForCondition(
      'route',
      'default',
      'payments',
      'ResolvedRefs',
      (c) => c.status === 'True',
    );
    expect((await waitForStatus('shop.example.com', '/payments/2', 200)).upstream).toBe('orders');
  },
  TEST,
);

async function waitForStatus(host: string, pathname: string, status: number) {
  return waitFor(
    async () => {
      const result = await get(host, pathname);
      return result.status === status ? result : undefined;
    },
    { what: `${host}${pathname} to answer ${status}`, timeoutMs: 20_000 },
  );
}
