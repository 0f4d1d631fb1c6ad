// The errors the gateway answers itself: codes, statuses, both body shapes, metrics.
import { request as httpRequest } from 'node:http';
import { freePort, startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let gateway: RunningDataplane;
let hanging: TestUpstream;
let resetting: TestUpstream;
let midStream: TestUpstream;

beforeAll(async () => {
  hanging = await startUpstream('hanging', () => {
    // Never answers.
  });
  resetting = await startUpstream('resetting', (req) => {
    req.socket.destroy();
  });
  midStream = await startUpstream('mid-stream', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('partial');
    setTimeout(() => req.socket.destroy(), 20);
  });
  const deadPort = await freePort();
  gateway = await startDataplane();
  gateway.dataplane.applySnapshot(
    snapshotOf(
      {
        '*': [
          entry('timeout', {
            path: ['PathPrefix', '/timeout'],
            backends: [['hanging', 1]],
            timeouts: { requestMs: 200 },
          }),
          entry('v1-timeout', {
            path: ['PathPrefix', '/v1/timeout'],
            backends: [['hanging', 1]],
            timeouts: { backendRequestMs: 200 },
          }),
          entry('connect', { path: ['PathPrefix', '/connect'], backends: [['dead', 1]] }),
          entry('v1-connect', { path: ['PathPrefix', '/v1/chat'], backends: [['dead', 1]] }),
          entry('reset', { path: ['PathPrefix', '/reset'], backends: [['resetting', 1]] }),
          entry('mid-stream', { path: ['PathPrefix', '/mid-stream'], backends: [['mid-stream', 1]] }),
          entry('empty-cluster', { path: ['PathPrefix', '/empty-cluster'], backends: [['empty', 1]] }),
          entry('no-backends', { path: ['PathPrefix', '/no-backends'], backends: [] }),
          entry('bad-header', {
            path: ['PathPrefix', '/bad-header'],
            backends: [['hanging', 1]],
            requestHeaders: { set: [{ name: 'x-bad', value: 'line\r\nbreak' }], add: [], remove: [] },
          }),
          entry('ws', { path: ['PathPrefix', '/ws'], backends: [['hanging', 1]] }),
        ],
      },
      [
        cluster('hanging', [hanging.port]),
        cluster('dead', [deadPort]),
        cluster('resetting', [resetting.port]),
        cluster('mid-stream', [midStream.port]),
        cluster('empty', []),
      ],
    ),
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([hanging?.close(), resetting?.close(), midStream?.close()]);
});

async function errorOf(path: string, init: Parameters<typeof request>[1] = {}) {
  const response = await request(`${gateway.url}${path}`, init);
  return {
    status: response.statusCode,
    code: response.headers['x-tollgate-error-code'],
    body: (await response.body.json()) as { error: Record<string, unknown> },
  };
}

test.each([
  ['/nowhere', 'TG_ERR_ROUTE_NOT_FOUND', 404, 'gets no route'],
  ['/connect/x', 'TG_ERR_UPSTREAM_CONNECT', 502, 'hits a refused connection'],
  ['/timeout/x', 'TG_ERR_UPSTREAM_TIMEOUT', 504, 'outlives its request timeout'],
  ['/reset/x', 'TG_ERR_UPSTREAM_RESET', 502, 'loses its upstream connection before the answer'],
  ['/empty-cluster', 'TG_ERR_NO_HEALTHY_UPSTREAM', 503, 'has a cluster without endpoints'],
  ['/no-backends', 'TG_ERR_NO_HEALTHY_UPSTREAM', 503, 'has no backend at all'],
  ['/bad-header', 'TG_ERR_INTERNAL', 500, 'cannot be built (a modifier made a header invalid)'],
])('a request to %s answers %s (%i) when it %s', async (path, code, status) => {
  const result = await errorOf(path);
  expect(result.status).toBe(status);
  expect(result.code).toBe(code);
  expect(result.body).toEqual({ error: { code, message: expect.any(String) } });
});

test.each([
  ['/v1/nowhere', 'TG_ERR_ROUTE_NOT_FOUND', 404, 'not_found_error'],
  ['/v1/chat/completions', 'TG_ERR_UPSTREAM_CONNECT', 502, 'server_error'],
  ['/v1/timeout', 'TG_ERR_UPSTREAM_TIMEOUT', 504, 'server_error'],
])('under /v1/, %s answers %s in the OpenAI error shape', async (path, code, status, type) => {
  const result = await errorOf(path, {
    method: 'POST',
    body: '{"model":"x"}',
    headers: { 'content-type': 'application/json' },
  });
  expect(result.status).toBe(status);
  expect(result.code).toBe(code);
  expect(result.body).toEqual({ error: { message: expect.any(String), type, param: null, code } });
});

test('the not-found message names the method, path and host', async () => {
  const result = await errorOf('/nowhere?q=1', { headers: { host: 'Shop.Example.com:8080' } });
  expect(result.body.error.message).toBe('no route matches GET /nowhere on host "shop.example.com"');
});

test('the timeout message names the configured timeout', async () => {
  expect((await errorOf('/timeout/x')).body.error.message).toContain('200 ms');
});

test('an upstream that breaks after the headers went out cuts the client connection', async () => {
  const response = await request(`${gateway.url}/mid-stream`, {
    headers: { 'x-request-id': 'cut-mid-stream' },
  });
  expect(response.statusCode).toBe(200);
  await expect(response.body.text()).rejects.toThrow();
  const line = await waitFor(() => gateway.accessLogs().find((l) => l.requestId === 'cut-mid-stream'));
  expect(line).toMatchObject({ status: 200, errorCode: 'TG_ERR_UPSTREAM_RESET' });
});

test('an upgrade (websocket) request the gateway cannot tunnel gets an error in the JSON format', async () => {
  const { status, code, body } = await new Promise<{ status: number; code: unknown; body: string }>(
    (resolve, reject) => {
      // Websockets are tunnelled (dataplane/test/server/upgrade.test.ts); this route has no backend.
      const req = httpRequest(`${gateway.url}/no-backends/ws`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, code: res.headers['x-tollgate-error-code'], body: text }),
        );
      });
      req.on('upgrade', () => reject(new Error('the gateway accepted the upgrade')));
      req.on('error', reject);
      req.end();
    },
  );
  expect(status).toBe(503);
  expect(code).toBe('TG_ERR_NO_HEALTHY_UPSTREAM');
  expect(JSON.parse(body).error.code).toBe('TG_ERR_NO_HEALTHY_UPSTREAM');
});

test('upstream failures are counted per cluster and code', async () => {
  await errorOf('/connect/y');
  const text = await gateway.dataplane.metrics.registry.metrics();
  expect(text).toMatch(
    /tollgate_upstream_errors_total\{backend="dead",code="TG_ERR_UPSTREAM_CONNECT"\} [1-9]/,
  );
  expect(text).toMatch(
    /tollgate_upstream_errors_total\{backend="hanging",code="TG_ERR_UPSTREAM_TIMEOUT"\} [1-9]/,
  );
});

test('answers 503 TG_ERR_NOT_READY before the first snapshot', async () => {
  const fresh = await startDataplane();
  try {
    const response = await request(`${fresh.url}/anything`);
    expect(response.statusCode).toBe(503);
    expect(response.headers['x-tollgate-error-code']).toBe('TG_ERR_NOT_READY');
    await response.body.dump();
  } finally {
    await fresh.close();
  }
});
