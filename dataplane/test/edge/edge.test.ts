// Edge protections through a real data plane and upstream: IP filter (403), size limits
// (413/431 in the caller's API format), CORS preflights answered by the gateway.
import { Readable } from 'node:stream';
import type { EdgePolicyIR } from '@tollgate/snapshot';
import { startUpstream, type TestUpstream } from '@tollgate/testkit';
import { request } from 'undici';
import { compileIPFilter } from '../../src/policies/edge/index.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let upstream: TestUpstream;
let gateway: RunningDataplane;

function withEdge(edge: EdgePolicyIR) {
  return snapshotOf({ '*': [{ ...entry('edge', { backends: [['up', 1]] }), edge }] }, [
    cluster('up', [upstream.port]),
  ]);
}

beforeAll(async () => {
  upstream = await startUpstream('up');
  gateway = await startDataplane();
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('IP filter', () => {
  test('refuses a client outside the allow list with 403 TG_ERR_IP_FORBIDDEN', async () => {
    gateway.dataplane.applySnapshot(withEdge({ ipFilter: { from: 'p', allow: ['10.0.0.0/8'] } }));
    const res = await request(`${gateway.url}/x`);
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-tollgate-error-code']).toBe('TG_ERR_IP_FORBIDDEN');
    expect(((await res.body.json()) as { error: { message: string } }).error.message).toContain('127.0.0.1');
  });

  test('lets an allowed client through and refuses a denied one even when also allowed', async () => {
    gateway.dataplane.applySnapshot(withEdge({ ipFilter: { from: 'p', allow: ['127.0.0.0/8'] } }));
    expect((await request(`${gateway.url}/x`)).statusCode).toBe(200);
    gateway.dataplane.applySnapshot(
      withEdge({ ipFilter: { from: 'p', allow: ['127.0.0.0/8'], deny: ['127.0.0.1/32'] } }),
    );
    const res = await request(`${gateway.url}/x`);
    await res.body.dump();
    expect(res.statusCode).toBe(403);
  });

  test('matches IPv4 and IPv6 CIDR blocks', () => {
    const allowed = compileIPFilter({
      from: 'p',
      allow: ['192.168.0.0/16', '2001:db8::/32'],
      deny: ['2001:db8:bad::/48'],
    });
    expect(allowed('192.168.4.2')).toBe(true);
    expect(allowed('192.169.0.1')).toBe(false);
    expect(allowed('2001:db8:1::5')).toBe(true);
    expect(allowed('2001:db8:bad::1')).toBe(false);
    expect(allowed('2001:db9::1')).toBe(false);
    expect(allowed(undefined)).toBe(false);
    expect(compileIPFilter({ from: 'p', deny: ['10.0.0.0/8'] })(undefined)).toBe(true);
  });
});

describe('size limits', () => {
  test('answers 413 in the OpenAI error shape on /v1 paths when the declared body is too large', async () => {
    gateway.dataplane.applySnapshot(withEdge({ limits: { from: 'p', maxRequestBodyBytes: 10 } }));
    const seen = upstream.requests.length;
    const res = await request(`${gateway.url}/v1/chat/completions`, { method: 'POST', body: 'x'.repeat(11) });
    expect(res.statusCode).toBe(413);
    const body = (await res.body.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error).toMatchObject({
      code: 'TG_ERR_REQUEST_BODY_TOO_LARGE',
      type: 'invalid_request_error',
    });
    expect(body.error.message).toContain('10 bytes');
    expect(upstream.requests.length).toBe(seen);
  });

  test('answers 413 when a chunked body grows past the limit, and the upstream never gets it whole', async () => {
    gateway.dataplane.applySnapshot(withEdge({ limits: { from: 'p', maxRequestBodyBytes: 1000 } }));
    const chunks = async function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(300, 'a');
    };
    const res = await request(`${gateway.url}/upload`, {
      method: 'POST',
      body: Readable.from(chunks()),
    }).catch((error: Error) => error);
    if (!(res instanceof Error)) {
      expect(res.statusCode).toBe(413);
      await res.body.dump();
    }
    expect(upstream.requests.some((r) => r.url === '/upload' && r.body.length === 3000)).toBe(false);
  });

  test('passes a body within the limit', async () => {
    gateway.dataplane.applySnapshot(withEdge({ limits: { from: 'p', maxRequestBodyBytes: 1000 } }));
    const res = await request(`${gateway.url}/ok`, { method: 'POST', body: 'y'.repeat(1000) });
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { body: string }).body).toHaveLength(1000);
  });

  test('answers 431 for too many header lines or too many header bytes', async () => {
    gateway.dataplane.applySnapshot(
      withEdge({ limits: { from: 'p', maxRequestHeaders: 8, maxRequestHeadersBytes: 512 } }),
    );
    const many: Record<string, string> = {};
    for (let i = 0; i < 10; i++) many[`x-h${i}`] = '1';
    const tooMany = await request(`${gateway.url}/x`, { headers: many });
    expect(tooMany.statusCode).toBe(431);
    expect(((await tooMany.body.json()) as { error: { message: string } }).error.message).toContain(
      'header lines',
    );
    const tooBig = await request(`${gateway.url}/x`, { headers: { 'x-big': 'z'.repeat(600) } });
    expect(tooBig.statusCode).toBe(431);
    expect(tooBig.headers['x-tollgate-error-code']).toBe('TG_ERR_REQUEST_HEADERS_TOO_LARGE');
    await tooBig.body.dump();
    expect((await request(`${gateway.url}/x`)).statusCode).toBe(200);
  });
});

describe('CORS', () => {
  const cors: EdgePolicyIR = {
    cors: {
      from: 'p',
      allowOrigins: ['https://app.example.com', 'https://*.example.org'],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['content-type', 'authorization'],
      exposeHeaders: ['x-request-id'],
      maxAgeSeconds: 600,
      allowCredentials: true,
    },
  };

  test('answers an allowed preflight itself with the allowed methods, headers and max-age', async () => {
    gateway.dataplane.applySnapshot(withEdge(cors));
    const seen = upstream.requests.length;
    const res = await request(`${gateway.url}/api`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'Content-Type, Authorization',
      },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
    expect(res.headers).toMatchObject({
      'access-control-allow-origin': 'https://shop.example.org',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type, authorization',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    expect(upstream.requests.length).toBe(seen);
  });

  test('refuses a preflight from an unknown origin, or for a method or header not allowed', async () => {
    gateway.dataplane.applySnapshot(withEdge(cors));
    const preflight = (origin: string, method: string, headers = '') =>
      request(`${gateway.url}/api`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          ...(headers ? { 'access-control-request-headers': headers } : {}),
        },
      });
    for (const res of [
      await preflight('https://evil.example.com', 'GET'),
      await preflight('https://app.example.com', 'DELETE'),
      await preflight('https://app.example.com', 'GET', 'x-secret'),
    ]) {
      expect(res.statusCode).toBe(403);
      expect(res.headers['x-tollgate-error-code']).toBe('TG_ERR_CORS_FORBIDDEN');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      await res.body.dump();
    }
  });

  test('adds the CORS headers to the response of an allowed cross-origin request only', async () => {
    gateway.dataplane.applySnapshot(withEdge(cors));
    const allowed = await request(`${gateway.url}/api`, { headers: { origin: 'https://app.example.com' } });
    await allowed.body.dump();
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers).toMatchObject({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-request-id',
    });
    expect(String(allowed.headers.vary)).toContain('Origin');
    const other = await request(`${gateway.url}/api`, { headers: { origin: 'https://evil.example.com' } });
    await other.body.dump();
    expect(other.statusCode).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test("overrides an upstream's own CORS headers and keeps its Vary", async () => {
    const corsy = await startUpstream('corsy', (_req, res) => {
      res.writeHead(200, { 'access-control-allow-origin': '*', vary: 'Accept-Encoding' });
      res.end('ok');
    });
    try {
      gateway.dataplane.applySnapshot(
        snapshotOf({ '*': [{ ...entry('corsy', { backends: [['corsy', 1]] }), edge: cors }] }, [
          cluster('corsy', [corsy.port]),
        ]),
      );
      const res = await request(`${gateway.url}/x`, { headers: { origin: 'https://app.example.com' } });
      await res.body.dump();
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(res.headers.vary).toBe('Accept-Encoding, Origin');
    } finally {
      await corsy.close();
    }
  });

  test('routes a preflight as the request it announces, so a GET-only rule answers it', async () => {
    gateway.dataplane.applySnapshot(
      snapshotOf({ '*': [{ ...entry('get-only', { method: 'GET', backends: [['up', 1]] }), edge: cors }] }, [
        cluster('up', [upstream.port]),
      ]),
    );
    const res = await request(`${gateway.url}/api`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(204);
  });
});
