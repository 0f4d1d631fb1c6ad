// Upstream resilience through a real data plane and real loopback upstreams: retries (conditions,
// idempotency, replayable bodies, budget, per-try timeout), outlier ejection, active health
// checks, concurrency limits (circuit breaking), Policy timeouts, and what the admin port shows.
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ClusterIR, RetryIR, RouteEntryIR } from '@tollgate/snapshot';
import { freePort, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, retriesIR, snapshotOf, startDataplane } from '../helpers.ts';
import { type RestartableServer, startServer } from './servers.ts';

const servers: RestartableServer[] = [];
let gateway: RunningDataplane;

async function server(name: string, handler?: Parameters<typeof startServer>[1]): Promise<RestartableServer> {
  const s = await startServer(name, handler);
  servers.push(s);
  return s;
}

const RETRIES = retriesIR({
  from: 'policy/test/retries',
  retryOn: ['connect-failure', 'reset', 'gateway-error'],
});

function withResilience(e: RouteEntryIR, resilience: RouteEntryIR['resilience']): RouteEntryIR {
  return { ...e, resilience };
}

function apply(entries: RouteEntryIR[], clusters: ClusterIR[]): void {
  gateway.dataplane.applySnapshot(snapshotOf({ '*': entries }, clusters));
}

async function get(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const response = await request(`${gateway.url}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(init.headers ? { headers: init.headers } : {}),
  });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

async function upstreams(): Promise<{
  clusters: Array<{
    id: string;
    endpoints: Array<{ address: string; circuit: string; available: boolean; activeHealthy: boolean }>;
  }>;
}> {
  return (await request(`${gateway.adminUrl}/upstreams`)).body.json() as never;
}

beforeEach(async () => {
  gateway = await startDataplane();
});

afterEach(async () => {
  await gateway?.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

test('retries on connect failure hide a dead endpoint: every request answers 200', async () => {
  const a = await server('a');
  const b = await server('b');
  const dead = await freePort();
  apply(
    [withResilience(entry('r', { backends: [['c', 1]] }), { retries: RETRIES })],
    [cluster('c', [a.port, dead, b.port])],
  );
  const statuses = await Promise.all(Array.from({ length: 60 }, () => get('/x').then((r) => r.status)));
  expect(statuses.every((s) => s === 200)).toBe(true);
  expect(a.hits + b.hits).toBe(60);
});

test('without retries the same dead endpoint shows: some requests answer 502', async () => {
  const a = await server('a');
  const dead = await freePort();
  apply([entry('r', { backends: [['c', 1]] })], [cluster('c', [a.port, dead])]);
  const statuses = await Promise.all(Array.from({ length: 20 }, () => get('/x').then((r) => r.status)));
  expect(statuses.filter((s) => s === 502).length).toBeGreaterThan(0);
});

test('outlier detection ejects an endpoint after consecutive errors; /upstreams and metrics show its open circuit', async () => {
  const a = await server('a');
  const failing = await server('failing', (_req, res) => res.writeHead(500).end('broken'));
  const clusterIR = cluster('c', [a.port, failing.port], {
    resilience: {
      outlierDetection: {
        from: 'policy/test/cb',
        consecutiveErrors: 3,
        baseEjectionMs: 60_000,
        maxEjectionMs: 300_000,
        maxEjectionPercent: 50,
      },
    },
  });
  apply([entry('r', { backends: [['c', 1]] })], [clusterIR]);
  for (let i = 0; i < 10; i++) await get('/x');
  expect(failing.hits).toBe(3);
  const before = a.hits;
  const statuses = await Promise.all(Array.from({ length: 20 }, () => get('/x').then((r) => r.status)));
  expect(statuses.every((s) => s === 200)).toBe(true);
  expect(a.hits - before).toBe(20);
  const view = await upstreams();
  const endpoint = view.clusters[0]!.endpoints.find((e) => e.address === `127.0.0.1:${failing.port}`)!;
  expect(endpoint).toMatchObject({ circuit: 'open', available: false });
  const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
  expect(metrics).toContain(
    `tollgate_upstream_endpoint_healthy{backend="c",endpoint="127.0.0.1:${failing.port}"} 0`,
  );
  expect(metrics).toContain(
    `tollgate_upstream_endpoint_healthy{backend="c",endpoint="127.0.0.1:${a.port}"} 1`,
  );
  expect(metrics).toMatch(/tollgate_upstream_ejections_total\{backend="c",reason="outlier"\} 1/);
  expect(metrics).toMatch(/tollgate_circuit_breaker_state\{backend="c"\} 1/);
});

test('an ejected endpoint half-opens after its ejection time and is ejected again, for longer, by one more failure', async () => {
  const a = await server('a');
  const failing = await server('failing', (_req, res) => res.writeHead(503).end());
  apply(
    [entry('r', { backends: [['c', 1]] })],
    [
      cluster('c', [a.port, failing.port], {
        resilience: {
          outlierDetection: {
            from: 'p',
            consecutiveErrors: 2,
            baseEjectionMs: 200,
            maxEjectionMs: 10_000,
            maxEjectionPercent: 50,
          },
        },
      }),
    ],
  );
  for (let i = 0; i < 4; i++) await get('/x');
  expect(failing.hits).toBe(2);
  await waitFor(
    async () =>
      (await upstreams()).clusters[0]!.endpoints.find((e) => e.address.endsWith(`:${failing.port}`))
        ?.circuit === 'half-open',
    { what: 'the circuit to half-open' },
  );
  for (let i = 0; i < 4; i++) await get('/x');
  // One failure on probation reopens the circuit (no second consecutive error needed).
  expect(failing.hits).toBe(3);
  const view = await upstreams();
  const endpoint = view.clusters[0]!.endpoints.find((e) =>
    e.address.endsWith(`:${failing.port}`),
  ) as unknown as {
    circuit: string;
    ejections: number;
    ejectedForMs: number;
  };
  expect(endpoint.circuit).toBe('open');
  expect(endpoint.ejections).toBe(2);
  expect(endpoint.ejectedForMs).toBeGreaterThan(200);
});

test('a 503 is retried on another endpoint for GET, but not for POST unless retryNonIdempotent', async () => {
  const ok = await server('ok', (_req, res, body) => res.writeHead(200).end(`ok:${body}`));
  const unavailable = await server('unavailable', (_req, res) => res.writeHead(503).end('down'));
  const clusters = [
    cluster('c', [unavailable.port, ok.port], {
      resilience: { loadBalancer: { from: 'p', type: 'RoundRobin', panicThresholdPercent: 0 } },
    }),
  ];
  apply([withResilience(entry('r', { backends: [['c', 1]] }), { retries: RETRIES })], clusters);
  for (let i = 0; i < 6; i++) expect((await get('/x')).status).toBe(200);
  const posts = await Promise.all(
    Array.from({ length: 6 }, () => get('/x', { method: 'POST', body: 'order' })),
  );
  expect(posts.map((p) => p.status).sort()).toContain(503);

  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        retries: { ...RETRIES, retryNonIdempotent: true },
      }),
    ],
    clusters,
  );
  const retried = await Promise.all(
    Array.from({ length: 6 }, () => get('/x', { method: 'POST', body: 'order' })),
  );
  expect(retried.map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 200]);
  // The buffered body was replayed whole to the endpoint that answered.
  expect(retried.every((p) => p.body === 'ok:order')).toBe(true);
  // Counted once in the access log, however many attempts sent it.
  await waitFor(() => gateway.accessLogs().filter((l) => l.method === 'POST').length === 12);
  const lastPosts = gateway
    .accessLogs()
    .filter((l) => l.method === 'POST')
    .slice(-6);
  expect(lastPosts.map((l) => [l.status, l.bytesIn])).toEqual(Array(6).fill([200, 5]));
});

test('a request body larger than bufferBodyLimit streams through and is not retried', async () => {
  const ok = await server('ok');
  const unavailable = await server('unavailable', (_req, res) => res.writeHead(503).end('down'));
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        retries: { ...RETRIES, retryNonIdempotent: true, bufferBodyLimit: 4 },
      }),
    ],
    [cluster('c', [unavailable.port, ok.port])],
  );
  const statuses = await Promise.all(
    Array.from({ length: 6 }, () =>
      get('/x', { method: 'PUT', body: 'more than four bytes' }).then((r) => r.status),
    ),
  );
  expect(statuses).toContain(503);
});

test('a retry budget of 0% with no minimum lets no retry through', async () => {
  const unavailable = await server('unavailable', (_req, res) => res.writeHead(503).end('down'));
  const ok = await server('ok');
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        retries: { ...RETRIES, budgetPercent: 0, minRetryConcurrency: 0 },
      }),
    ],
    [cluster('c', [unavailable.port, ok.port])],
  );
  const statuses = await Promise.all(Array.from({ length: 10 }, () => get('/x').then((r) => r.status)));
  expect(statuses).toContain(503);
  expect(unavailable.hits + ok.hits).toBe(10);
});

test('a per-try timeout moves a slow attempt to another endpoint; retries exhausted answer 504', async () => {
  const slow = await server('slow', (_req, res) => {
    setTimeout(() => res.writeHead(200).end('slow'), 3_000).unref();
  });
  const fast = await server('fast');
  const retries: RetryIR = { ...RETRIES, retryOn: ['timeout'], perTryTimeoutMs: 150, attempts: 1 };
  apply(
    [
      withResilience(entry('only-slow', { path: ['PathPrefix', '/slow'], backends: [['s', 1]] }), {
        retries,
      }),
      withResilience(entry('r', { backends: [['c', 1]] }), { retries }),
    ],
    [cluster('c', [slow.port, fast.port]), cluster('s', [slow.port])],
  );
  const answers = await Promise.all(Array.from({ length: 4 }, () => get('/x')));
  expect(answers.map((a) => a.body)).toEqual(['fast', 'fast', 'fast', 'fast']);
  const exhausted = await get('/slow');
  expect(exhausted.status).toBe(504);
  expect(exhausted.headers['x-tollgate-error-code']).toBe('TG_ERR_UPSTREAM_TIMEOUT');
});

test("a Policy's request timeout answers 504, and its idle timeout cuts a stalled stream", async () => {
  const slow = await server('slow', (req, res) => {
    if (req.url === '/stall') {
      res.writeHead(200);
      res.write('first chunk');
      return; // never ends
    }
    setTimeout(() => res.writeHead(200).end('late'), 3_000).unref();
  });
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        timeouts: { from: 'p', requestMs: 200, idleMs: 200 },
      }),
    ],
    [cluster('c', [slow.port])],
  );
  const late = await get('/late');
  expect(late.status).toBe(504);
  await expect(get('/stall')).rejects.toThrow();
});

test('maxRequests with no pending queue answers a clear 503 at once; with a queue the request waits its turn', async () => {
  let release: (() => void) | undefined;
  const held = await server('held', (req, res) => {
    if (req.url === '/hold') release = () => res.writeHead(200).end('held');
    else res.writeHead(200).end('quick');
  });
  const limited = (maxPendingRequests: number) =>
    cluster('c', [held.port], {
      resilience: { limits: { from: 'policy/test/cb', maxRequests: 1, maxPendingRequests } },
    });
  apply([entry('r', { backends: [['c', 1]] })], [limited(0)]);
  const first = get('/hold');
  await waitFor(() => release !== undefined, { what: 'the first request upstream' });
  const refused = await get('/quick');
  expect(refused.status).toBe(503);
  expect(refused.headers['x-tollgate-error-code']).toBe('TG_ERR_UPSTREAM_OVERFLOW');
  expect(JSON.parse(refused.body).error.message).toMatch(/limit of 1 concurrent requests/);
  release!();
  expect((await first).status).toBe(200);

  release = undefined;
  apply([entry('r', { backends: [['c', 1]] })], [limited(1)]);
  const holding = get('/hold');
  await waitFor(() => release !== undefined, { what: 'the first request upstream' });
  const queued = get('/quick');
  const stateOf = async () =>
    (await (await request(`${gateway.adminUrl}/upstreams`)).body.json()) as {
      clusters: Array<{ pending: number }>;
    };
  await waitFor(async () => (await stateOf()).clusters[0]!.pending === 1, {
    what: 'the second request queued',
  });
  release!();
  expect((await holding).status).toBe(200);
  expect((await queued).body).toBe('quick');
  const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text();
  expect(metrics).toMatch(/tollgate_circuit_breaker_rejections_total\{backend="c"\} 1/);
});

test('active health checks take a failing endpoint out after unhealthyThreshold probes and bring it back after healthyThreshold', async () => {
  let healthy = true;
  const flaky = await server('flaky', (req, res) => {
    if (req.url === '/healthz') res.writeHead(healthy ? 204 : 500).end();
    else res.writeHead(200).end('flaky');
  });
  const steady = await server('steady', (req, res) => {
    if (req.url === '/healthz') res.writeHead(204).end();
    else res.writeHead(200).end('steady');
  });
  apply(
    [entry('r', { backends: [['c', 1]] })],
    [
      cluster('c', [flaky.port, steady.port], {
        resilience: {
          healthCheck: {
            from: 'p',
            path: '/healthz',
            intervalMs: 50,
            timeoutMs: 500,
            jitterMs: 10,
            healthyThreshold: 2,
            unhealthyThreshold: 2,
            expectedStatuses: [204],
          },
        },
      }),
    ],
  );
  const flakyOut = async () =>
    (await upstreams()).clusters[0]!.endpoints.find((e) => e.address.endsWith(`:${flaky.port}`))!
      .activeHealthy;
  healthy = false;
  await waitFor(async () => (await flakyOut()) === false, { what: 'the flaky endpoint marked unhealthy' });
  const before = flaky.hits;
  const bodies = await Promise.all(Array.from({ length: 10 }, () => get('/x').then((r) => r.body)));
  expect(bodies.every((b) => b === 'steady')).toBe(true);
  expect(flaky.hits).toBe(before);
  healthy = true;
  await waitFor(async () => (await flakyOut()) === true, { what: 'the flaky endpoint healthy again' });
  const again = await Promise.all(Array.from({ length: 10 }, () => get('/x').then((r) => r.body)));
  expect(again).toContain('flaky');
});

test('consistent hashing on a header keeps each user on one endpoint', async () => {
  const all = await Promise.all(['a', 'b', 'c'].map((n) => server(n)));
  apply(
    [entry('r', { backends: [['c', 1]] })],
    [
      cluster(
        'c',
        all.map((s) => s.port),
        {
          resilience: {
            loadBalancer: {
              from: 'p',
              type: 'Maglev',
              hashOn: { source: 'header', name: 'x-user' },
              panicThresholdPercent: 50,
            },
          },
        },
      ),
    ],
  );
  const seen = new Set<string>();
  for (let user = 0; user < 20; user++) {
    const answers = new Set<string>();
    for (let i = 0; i < 5; i++) answers.add((await get('/x', { headers: { 'x-user': `u${user}` } })).body);
    expect(answers.size).toBe(1);
    seen.add([...answers][0]!);
  }
  expect(seen.size).toBeGreaterThan(1);
});

test('mirroring stays fire-and-forget with resilience configured: a dead mirror never affects the answer', async () => {
  const main = await server('main');
  const dead = await freePort();
  apply(
    [{ ...withResilience(entry('r', { backends: [['c', 1]] }), { retries: RETRIES }), mirrors: ['m'] }],
    [cluster('c', [main.port]), cluster('m', [dead])],
  );
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => get('/x', { method: 'POST', body: 'b' })),
  );
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
});

test('a 429 is retried after its Retry-After; one asking to wait longer than 10 s goes to the client', async () => {
  let calls = 0;
  const limited = await server('limited', (req, res) => {
    calls++;
    if (req.url === '/long') res.writeHead(429, { 'retry-after': '60' }).end('slow down');
    else if (calls === 1) res.writeHead(429, { 'retry-after': '0' }).end('slow down');
    else res.writeHead(200).end('served');
  });
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        retries: { ...RETRIES, retryOn: ['rate-limited'] },
      }),
    ],
    [cluster('c', [limited.port])],
  );
  expect(await get('/short')).toMatchObject({ status: 200, body: 'served' });
  const long = await get('/long');
  expect(long.status).toBe(429);
  expect(long.headers['retry-after']).toBe('60');
});

test('a request waiting for a concurrency slot is still bound by its request timeout (504)', async () => {
  let release: (() => void) | undefined;
  const held = await server('held', (req, res) => {
    if (req.url === '/hold') release = () => res.writeHead(200).end('held');
    else res.writeHead(200).end('quick');
  });
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        timeouts: { from: 'p', requestMs: 5_000 },
      }),
      withResilience(entry('q', { path: ['PathPrefix', '/queued'], backends: [['c', 1]] }), {
        timeouts: { from: 'p', requestMs: 150 },
      }),
    ].reverse(),
    [
      cluster('c', [held.port], {
        resilience: { limits: { from: 'p', maxRequests: 1, maxPendingRequests: 5 } },
      }),
    ],
  );
  const first = get('/hold');
  await waitFor(() => release !== undefined, { what: 'the first request upstream' });
  const queued = await get('/queued');
  expect(queued.status).toBe(504);
  expect(queued.headers['x-tollgate-error-code']).toBe('TG_ERR_UPSTREAM_TIMEOUT');
  release!();
  expect((await first).status).toBe(200);
  expect((await upstreams()).clusters[0]).toMatchObject({ pending: 0 });
  expect((await get('/after')).body).toBe('quick');
});

test("a Policy's connect timeout gives up on an endpoint whose handshake never completes: 504 TG_ERR_UPSTREAM_CONNECT_TIMEOUT", async () => {
  // A TCP listener that accepts and then says nothing: a TLS handshake with it never completes.
  const sockets: Socket[] = [];
  const silent = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentPort = (silent.address() as AddressInfo).port;
  try {
    apply(
      [entry('r', { backends: [['c', 1]] })],
      [cluster('c', [silentPort], { tls: true, resilience: { connectTimeoutMs: 200 } })],
    );
    const started = Date.now();
    const answer = await get('/x');
    expect(answer.status).toBe(504);
    expect(answer.headers['x-tollgate-error-code']).toBe('TG_ERR_UPSTREAM_CONNECT_TIMEOUT');
    expect(JSON.parse(answer.body).error.message).toBe('could not connect to upstream c within 200 ms');
    expect(Date.now() - started).toBeLessThan(4_000);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
});

test('a rejected snapshot leaves the health settings of the active one in place', async () => {
  const a = await server('a');
  const failing = await server('failing', (_req, res) => res.writeHead(500).end());
  const outlier = {
    outlierDetection: {
      from: 'p',
      consecutiveErrors: 2,
      baseEjectionMs: 60_000,
      maxEjectionMs: 60_000,
      maxEjectionPercent: 50,
    },
  };
  apply(
    [entry('r', { backends: [['c', 1]] })],
    [cluster('c', [a.port, failing.port], { resilience: outlier })],
  );
  // Same cluster without outlier detection, in a snapshot that cannot compile (bad regex).
  const broken = entry('bad', { path: ['RegularExpression', '(['], backends: [['c', 1]] });
  expect(() => apply([broken], [cluster('c', [a.port, failing.port])])).toThrow(
    /TG_ERR_SNAPSHOT_INVALID|rejected/,
  );
  for (let i = 0; i < 6; i++) await get('/x');
  expect(failing.hits).toBe(2);
});

test('health probes use their own connection: an endpoint busy on every pooled connection stays healthy', async () => {
  let release: (() => void) | undefined;
  const busy = await server('busy', (req, res) => {
    if (req.url === '/healthz') res.writeHead(200).end();
    else release = () => res.writeHead(200).end('done');
  });
  apply(
    [entry('r', { backends: [['c', 1]] })],
    [
      cluster('c', [busy.port], {
        resilience: {
          limits: { from: 'p', maxConnections: 1 },
          healthCheck: {
            from: 'p',
            path: '/healthz',
            intervalMs: 30,
            timeoutMs: 100,
            jitterMs: 0,
            healthyThreshold: 1,
            unhealthyThreshold: 2,
            expectedStatuses: [],
          },
        },
      }),
    ],
  );
  const held = get('/slow');
  await waitFor(() => release !== undefined, { what: 'the only pooled connection busy' });
  // Several probe intervals pass while the one traffic connection is taken.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const endpoint = (await upstreams()).clusters[0]!.endpoints[0]!;
  expect(endpoint.activeHealthy).toBe(true);
  release!();
  expect((await held).status).toBe(200);
});

test('a small chunked body is buffered and replayed; a chunked body over the limit streams through whole, unretried', async () => {
  const ok = await server('ok', (_req, res, body) => res.writeHead(200).end(`ok:${body.length}`));
  const unavailable = await server('unavailable', (_req, res) => res.writeHead(503).end('down'));
  apply(
    [
      withResilience(entry('r', { backends: [['c', 1]] }), {
        retries: { ...RETRIES, retryNonIdempotent: true, bufferBodyLimit: 1024 },
      }),
    ],
    [cluster('c', [unavailable.port, ok.port])],
  );
  const chunked = async (bytes: number) => {
    const body = Readable.from([Buffer.alloc(bytes / 2, 'a'), Buffer.alloc(bytes / 2, 'b')]);
    const response = await request(`${gateway.url}/x`, { method: 'POST', body });
    return { status: response.statusCode, body: await response.body.text() };
  };
  const small = await Promise.all(Array.from({ length: 4 }, () => chunked(512)));
  expect(small).toEqual(Array(4).fill({ status: 200, body: 'ok:512' }));
  const large = await Promise.all(Array.from({ length: 4 }, () => chunked(200_000)));
  expect(large.map((r) => r.status).sort()).toEqual([200, 200, 503, 503]);
  expect(large.filter((r) => r.status === 200).every((r) => r.body === 'ok:200000')).toBe(true);
});
