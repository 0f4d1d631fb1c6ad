// The access log: trace ids without tracing, sampling of successes, per-route opt-out.
import { createLogger } from '@tollgate/telemetry';
import { startUpstream, type TestUpstream } from '@tollgate/testkit';
import { AccessLog, type AccessRecord } from '../../src/observability/index.ts';
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

test('each line is the JSON pino writes for the record, byte for byte apart from the time', () => {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'dataplane',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const reference = logger.child({ log: 'access' }, { redact: { paths: [] } });
  const records: AccessRecord[] = [
    {
      method: 'GET',
      host: '',
      path: '/',
      status: 404,
      route: undefined,
      cluster: undefined,
      upstream: undefined,
      bytesIn: 0,
      bytesOut: 93,
      durationMs: 0.125,
      upstreamMs: undefined,
      requestId: '6865ee4d-0e60-42e8-86bc-ef500d1e22c6',
      errorCode: 'TG_ERR_ROUTE_NOT_FOUND',
    },
    {
      method: 'POST',
      host: 'api.example.com:8443',
      path: '/a "quoted" \\ path/\u0001\u001f/é/😀/\u007f',
      status: 200,
      route: 'team-a/chat/0/1',
      cluster: 'url/http://127.0.0.1:8080',
      upstream: '127.0.0.1:8080',
      bytesIn: 1234,
      bytesOut: 5678,
      durationMs: 12.345,
      upstreamMs: 11.5,
      requestId: 'client-id-with-"quotes"',
      errorCode: undefined,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      attempts: 2,
      consumer: 'team-a/app',
      team: 'platform',
      ai: {
        api: 'openai',
        operation: 'chat',
        stream: true,
        requestModel: 'gpt-4o',
        provider: 'ai/openai',
        providerType: 'openai',
        model: 'gpt-4o-2024-08-06',
        attempts: 1,
        inputTokens: 24,
        outputTokens: 50,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
        estimated: false,
        costMicros: 1500,
        currency: 'USD',
        ttftMs: 80.5,
        error: 'upstream said "no"\n',
      },
      guardrail: { stage: 'request', rule: 'pii', action: 'mask' },
    },
  ];
  const log = new AccessLog(logger);
  for (const record of records) {
    log.write(record);
    reference.info(record, 'request');
  }
  const untimed = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"…"');
  expect(lines).toHaveLength(2 * records.length);
  for (let i = 0; i < records.length; i++) {
    expect(untimed(lines[2 * i]!)).toBe(untimed(lines[2 * i + 1]!));
    expect(JSON.parse(lines[2 * i]!)).toMatchObject({ level: 'info', component: 'dataplane', log: 'access' });
  }
});

test('no line is written when the logger level is above info', () => {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'dataplane',
    level: 'warn',
    destination: { write: (line: string) => void lines.push(line) },
  });
  new AccessLog(logger).write({
    method: 'GET',
    host: 'h',
    path: '/',
    status: 500,
    route: undefined,
    cluster: undefined,
    upstream: undefined,
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 1,
    upstreamMs: undefined,
    requestId: 'r',
    errorCode: 'TG_ERR_INTERNAL',
  });
  expect(lines).toEqual([]);
});
