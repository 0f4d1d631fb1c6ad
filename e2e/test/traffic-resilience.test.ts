// Upstream resilience end to end: the real controller and data-plane processes, three upstream
// processes behind one Service. Under steady load one upstream is killed: it is ejected, retries
// hide the failure, no client sees an error; restarted, it rejoins once its health checks pass.
// Then SIGTERM under load: every request in flight completes before the data plane exits.
import { freePort, type StartedProcess, startProcess, waitFor } from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import { startLoad } from '../src/load.ts';

const SLOW = 90_000;

// A tiny upstream: answers its name; /slow after 400 ms; /healthz 200.
const UPSTREAM = `
const http = require('node:http');
const [port, name] = process.argv.slice(1);
http.createServer((req, res) => {
  const answer = () => { res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name }); res.end(name); };
  if (req.url.startsWith('/slow')) setTimeout(answer, 400); else answer();
}).listen(Number(port), '127.0.0.1', () => console.log('listening on ' + port));
`;

interface Upstream {
  name: string;
  port: number;
  process: StartedProcess | undefined;
}

async function startUpstreamProcess(upstream: Upstream): Promise<void> {
  upstream.process = startProcess(process.execPath, ['-e', UPSTREAM, String(upstream.port), upstream.name], {
    name: upstream.name,
  });
  await upstream.process.waitForOutput(/listening on/);
}

function manifests(upstreams: Upstream[]): string {
  const slices = upstreams
    .map(
      (u) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: shop-${u.name}
  namespace: e2e
  labels: { kubernetes.io/service-name: shop }
addressType: IPv4
ports: [{ name: http, port: ${u.port} }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`,
    )
    .join('');
  return `apiVersion: v1
kind: Service
metadata: { name: shop, namespace: e2e }
spec:
  ports: [{ name: http, port: 80, targetPort: 8080 }]
${slices}---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: shop, namespace: e2e }
spec:
  rules:
    - backendRefs: [{ name: shop, port: 80 }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: shop-resilience, namespace: e2e }
spec:
  targetRefs: [{ kind: Route, name: shop }]
  retries:
    attempts: 2
    retryOn: [connect-failure, reset, gateway-error]
    backoff: { base: 5ms, max: 20ms }
  healthCheck:
    active: { path: /healthz, interval: 200ms, timeout: 500ms, healthyThreshold: 2, unhealthyThreshold: 2 }
  circuitBreaker: { consecutiveErrors: 2, baseEjectionTime: 1s, maxEjectionPercent: 50 }
`;
}

interface EndpointView {
  address: string;
  available: boolean;
  activeHealthy: boolean;
  circuit: string;
}

async function endpoints(stack: StandaloneStack): Promise<EndpointView[]> {
  const view = (await (await request(`${stack.dataplaneAdminUrl}/upstreams`)).body.json()) as {
    clusters: Array<{ id: string; endpoints: EndpointView[] }>;
  };
  return view.clusters.find((c) => c.id === 'service/e2e/shop:80')?.endpoints ?? [];
}

/** `concurrency` loops of GET until stopped; every answer that is not a 200 is a client-visible error. */
function steadyLoad(stack: StandaloneStack, agent: Agent, concurrency = 6) {
  const seen = { ok: 0, errors: [] as string[], byUpstream: new Map<string, number>() };
  const load = startLoad(concurrency, async () => {
    try {
      const response = await request(`${stack.gatewayUrl}/x`, { dispatcher: agent });
      const body = await response.body.text();
      if (response.statusCode !== 200) seen.errors.push(`${response.statusCode} ${body}`);
      else {
        seen.ok++;
        seen.byUpstream.set(body, (seen.byUpstream.get(body) ?? 0) + 1);
      }
    } catch (error) {
      seen.errors.push((error as Error).message);
    }
  });
  return { seen, stop: load.stop };
}

let stack: StandaloneStack | undefined;
const upstreams: Upstream[] = [];
const agent = new Agent({ connections: 16 });

beforeAll(async () => {
  for (const name of ['one', 'two', 'three']) {
    const upstream: Upstream = { name, port: await freePort(), process: undefined };
    await startUpstreamProcess(upstream);
    upstreams.push(upstream);
  }
  stack = await startStandaloneStack({ 'shop.yaml': manifests(upstreams) });
  await waitFor(async () => (await endpoints(stack!)).length === 3, {
    what: 'the three endpoints in the snapshot',
  });
}, SLOW);

afterAll(async () => {
  await agent.close();
  await stack?.stop();
  await Promise.all(upstreams.map((u) => u.process?.stop('SIGKILL', 0)));
}, SLOW);

test(
  'an upstream killed under steady load is ejected and retries hide it; restarted, it rejoins after its health checks pass',
  async () => {
    const load = steadyLoad(stack!, agent);
    try {
      await waitFor(() => load.seen.ok > 100, { what: 'steady load' });
      const victim = upstreams[1]!;
      await victim.process!.stop('SIGKILL', 0);
      await waitFor(
        async () =>
          (await endpoints(stack!)).some((e) => e.address.endsWith(`:${victim.port}`) && !e.available),
        { what: 'the killed upstream out of rotation' },
      );
      const okAfterEjection = load.seen.ok;
      await waitFor(() => load.seen.ok > okAfterEjection + 200, { what: 'more load with one upstream gone' });
      expect(load.seen.errors).toEqual([]);

      const servedBefore = load.seen.byUpstream.get(victim.name) ?? 0;
      await startUpstreamProcess(victim);
      await waitFor(async () => (await endpoints(stack!)).every((e) => e.available && e.activeHealthy), {
        what: 'the restarted upstream healthy again',
        timeoutMs: 20_000,
      });
      await waitFor(() => (load.seen.byUpstream.get(victim.name) ?? 0) > servedBefore + 20, {
        what: 'traffic back on the restarted upstream',
        timeoutMs: 20_000,
      });
    } finally {
      await load.stop();
    }
    expect(load.seen.errors).toEqual([]);
    expect([...load.seen.byUpstream.keys()].sort()).toEqual(['one', 'three', 'two']);
  },
  SLOW,
);

test(
  'SIGTERM under load: every request in flight completes, then the data plane exits cleanly',
  async () => {
    const inFlight = Array.from({ length: 12 }, () =>
      request(`${stack!.gatewayUrl}/slow`, { dispatcher: agent }).then(async (r) => ({
        status: r.statusCode,
        body: await r.body.text(),
      })),
    );
    await waitFor(
      async () => {
        const metrics = await (await request(`${stack!.dataplaneAdminUrl}/metrics`)).body.text();
        return /^tollgate_inflight_requests 12$/m.test(metrics);
      },
      { what: 'twelve requests in flight' },
    );
    const exit = stack!.dataplane.stop('SIGTERM', 15_000);
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
    expect(await exit).toBe(0);
    expect(stack!.dataplane.output()).toMatch(/"cutRequests":0/);
  },
  SLOW,
);
