// The access log: trace ids without tracing, sampling of successes, per-route opt-out.
import { startUpstream, type TestUpstream } from '@tollgate/testkit';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let upstream: TestUpstream;
beforeAll(async () => {
  upstream = await startUpstream('echo');
});
afterAll(async () => {
  await upstream?.close();
});

function snapshot() {
  return snapshotOf(
    {
      '*': [
        entry('web/health/0/0', { path: ['Exact', '/healthz'], backends: [['c1', 1]] }),
        entry('web/shop/0/0', { backends: [['c1', 1]] }),
      ],
    },
    [cluster('c1', [upstream.port])],
  );
}

async function get(gateway: RunningDataplane, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}${path}`, { headers });
  await response.text();
  return response.status;
}

test('with tracing off the client’s traceparent passes through untouched and its trace id is logged', async () => {
  const gateway = await startDataplane();
  try {
    gateway.dataplane.applySnapshot(snapshot());
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await get(gateway, '/a', { traceparent });
    expect(upstream.requests.at(-1)!.headers.traceparent).toBe(traceparent);
    const line = gateway.accessLogs().at(-1)!;
    expect(line).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      route: 'web/shop/0/0',
      attempts: 1,
      status: 200,
    });
  } finally {
    await gateway.close();
  }
});

test('an excluded Route writes no line; others still do', async () => {
  const gateway = await startDataplane({ accessLog: { excludeRoutes: ['web/health'] } });
  try {
    gateway.dataplane.applySnapshot(snapshot());
    await get(gateway, '/healthz');
    await get(gateway, '/shop');
    expect(gateway.accessLogs().map((l) => l.route)).toEqual(['web/shop/0/0']);
  } finally {
    await gateway.close();
  }
});

test('sampling drops successes but keeps every failure', async () => {
  const gateway = await startDataplane({ accessLog: { sampleRatio: 0.5, random: () => 0.9 } });
  try {
    gateway.dataplane.applySnapshot(
      snapshotOf(
        {
          '*': [
            entry('web/broken/0/0', { path: ['Exact', '/broken'], backends: [['dead', 1]] }),
            entry('web/shop/0/0', { backends: [['c1', 1]] }),
          ],
        },
        // Port 1 on loopback: nothing listens there, so the upstream connect fails (502).
        [cluster('c1', [upstream.port]), cluster('dead', [1])],
      ),
    );
    expect(await get(gateway, '/shop')).toBe(200);
    expect(await get(gateway, '/shop')).toBe(200);
    expect(await get(gateway, '/broken')).toBe(502);
    expect(gateway.accessLogs().map((l) => [l.route, l.status])).toEqual([['web/broken/0/0', 502]]);
  } finally {
    await gateway.close();
  }
});

test('no secret reaches the line: credentials in headers and the query string are not logged', async () => {
  const gateway = await startDataplane();
  try {
    gateway.dataplane.applySnapshot(snapshot());
    await get(gateway, '/shop/orders?api_key=sk-query-secret&email=someone%40example.com', {
      authorization: 'Bearer sk-header-secret',
      'x-api-key': 'sk-other-secret',
      cookie: 'session=cookie-secret',
    });
    const line = JSON.stringify(gateway.accessLogs().at(-1));
    expect(line).toContain('"path":"/shop/orders"');
    for (const secret of [
      'sk-query-secret',
      'someone',
      'sk-header-secret',
      'sk-other-secret',
      'cookie-secret',
    ])
      expect(line).not.toContain(secret);
  } finally {
    await gateway.close();
  }
});
