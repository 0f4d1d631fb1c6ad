// Forwarding through a real Dataplane to real upstreams: what reaches the upstream, what comes
// back, header modifiers, rewrites, redirects and direct responses.
import { request as httpRequest } from 'node:http';
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let blue: TestUpstream;
let hops: TestUpstream;
let gateway: RunningDataplane;

interface Echo {
  upstream: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

beforeAll(async () => {
  blue = await startUpstream('blue');
  // An upstream that answers with connection-scoped headers a proxy must not pass on.
  hops = await startUpstream('hops', (_req, res) => {
    res.writeHead(200, {
      connection: 'x-resp-hop',
      'x-resp-hop': 'secret',
      'proxy-thing': 'x',
      'x-end-to-end': 'kept',
      'content-type': 'text/plain',
    });
    res.end('ok');
  });
  gateway = await startDataplane();
  gateway.dataplane.applySnapshot(
    snapshotOf(
      {
        '*': [
          entry('gone', {
            path: ['Exact', '/gone'],
            action: {
              kind: 'direct-response',
              status: 500,
              code: 'TG_ERR_BACKEND_NOT_FOUND',
              message: 'backend Service "x" does not exist',
            },
          }),
          entry('redirect-https', {
            path: ['PathPrefix', '/redirect-https'],
            action: { kind: 'redirect', scheme: 'https', statusCode: 301 },
          }),
          entry('redirect-host', {
            path: ['PathPrefix', '/redirect-host'],
            action: {
              kind: 'redirect',
              hostname: 'other.test',
              port: 8443,
              path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/moved' },
              statusCode: 302,
            },
          }),
          entry('redirect-full', {
            path: ['PathPrefix', '/redirect-full'],
            action: {
              kind: 'redirect',
              path: { type: 'ReplaceFullPath', replaceFullPath: '/elsewhere' },
              statusCode: 308,
            },
          }),
          entry('prefix-rewrite', {
            path: ['PathPrefix', '/old/api'],
            urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } },
            backends: [['blue', 1]],
          }),
          entry('strip-prefix', {
            path: ['PathPrefix', '/strip'],
            urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
            backends: [['blue', 1]],
          }),
          entry('full-rewrite', {
            path: ['PathPrefix', '/full'],
            urlRewrite: {
              path: { type: 'ReplaceFullPath', replaceFullPath: '/replaced' },
              hostname: 'rewritten.internal',
            },
            backends: [['blue', 1]],
          }),
          entry('modifiers', {
            path: ['PathPrefix', '/mod'],
            requestHeaders: {
              set: [{ name: 'X-Set', value: 'from-gateway' }],
              add: [{ name: 'x-add', value: 'b' }],
              remove: ['x-remove'],
            },
            responseHeaders: {
              set: [{ name: 'x-resp-set', value: '1' }],
              add: [{ name: 'x-upstream', value: 'extra' }],
              remove: ['content-type'],
            },
            backends: [['blue', 1]],
          }),
          entry('authority', { path: ['PathPrefix', '/authority'], backends: [['static', 1]] }),
          entry('hops', { path: ['PathPrefix', '/hops'], backends: [['hops', 1]] }),
          entry('echo', { backends: [['blue', 1]] }),
        ],
      },
      [
        cluster('blue', [blue.port]),
        cluster('static', [blue.port], { authority: 'static.example.com' }),
        cluster('hops', [hops.port]),
      ],
    ),
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([blue?.close(), hops?.close()]);
});

async function echo(
  path: string,
  options: Parameters<typeof request>[1] = {},
): Promise<{ status: number; headers: Record<string, unknown>; echo: Echo }> {
  const response = await request(`${gateway.url}${path}`, options);
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, echo: JSON.parse(text) as Echo };
}

/** node:http, for headers undici refuses to send (Connection tokens, Keep-Alive, Upgrade). */
function rawRequest(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gateway.url}${path}`, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('forwards method, path, query and body, and returns the upstream answer', async () => {
  const {
    status,
    headers,
    echo: seen,
  } = await echo('/orders/7?expand=items&x=1', {
    method: 'POST',
    body: '{"qty":2}',
    headers: { 'content-type': 'application/json' },
  });
  expect(status).toBe(200);
  expect(headers['x-upstream']).toBe('blue');
  expect(seen).toMatchObject({ method: 'POST', url: '/orders/7?expand=items&x=1', body: '{"qty":2}' });
  expect(seen.headers['content-type']).toBe('application/json');
});

test('adds forwarding headers, appends to x-forwarded-for and keeps the client Host', async () => {
  const { echo: seen } = await echo('/fwd', {
    headers: {
      host: 'shop.example.com:8080',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
    },
  });
  expect(seen.headers.host).toBe('shop.example.com:8080');
  expect(seen.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  expect(seen.headers['x-forwarded-proto']).toBe('http');
  expect(seen.headers['x-forwarded-host']).toBe('shop.example.com:8080');
});

test("keeps the client's x-request-id, makes one when absent, and returns it", async () => {
  const kept = await echo('/id', { headers: { 'x-request-id': 'client-chosen-id' } });
  expect(kept.echo.headers['x-request-id']).toBe('client-chosen-id');
  expect(kept.headers['x-request-id']).toBe('client-chosen-id');
  const made = await echo('/id');
  expect(made.echo.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(made.headers['x-request-id']).toBe(made.echo.headers['x-request-id']);
});

test('strips hop-by-hop request headers, including those the Connection header names', async () => {
  const { status, body } = await rawRequest('/hop', {
    connection: 'keep-alive, x-conn-listed',
    'x-conn-listed': 'secret',
    'keep-alive': 'timeout=5',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic eDp5',
    'proxy-connection': 'keep-alive',
    'x-end-to-end': 'kept',
  });
  expect(status).toBe(200);
  const seen = (JSON.parse(body) as Echo).headers;
  for (const name of [
    'x-conn-listed',
    'keep-alive',
    'te',
    'upgrade',
    'proxy-authorization',
    'proxy-connection',
  ]) {
    expect(seen).not.toHaveProperty(name);
  }
  expect(seen['x-end-to-end']).toBe('kept');
});

test('declines an h2c upgrade offer and serves the request over HTTP/1.1', async () => {
  const { status, body } = await rawRequest('/h2c', {
    connection: 'Upgrade, HTTP2-Settings',
    upgrade: 'h2c',
    'http2-settings': 'AAMAAABkAAQCAAAAAAIAAAAA',
  });
  expect(status).toBe(200);
  const seen = JSON.parse(body) as Echo;
  expect(seen.url).toBe('/h2c');
  expect(seen.headers).not.toHaveProperty('upgrade');
  expect(seen.headers).not.toHaveProperty('http2-settings');
});

test('strips hop-by-hop response headers, including those the Connection header names', async () => {
  const { status, headers, body } = await rawRequest('/hops', {});
  expect(status).toBe(200);
  expect(body).toBe('ok');
  expect(headers).not.toHaveProperty('x-resp-hop');
  expect(headers).not.toHaveProperty('proxy-thing');
  expect(headers['x-end-to-end']).toBe('kept');
});

test('applies request header modifiers (set, add, remove)', async () => {
  const { echo: seen } = await echo('/mod/x', {
    headers: { 'x-set': 'from-client', 'x-add': 'a', 'x-remove': 'gone', 'x-other': 'stays' },
  });
  expect(seen.headers['x-set']).toBe('from-gateway');
  expect(seen.headers['x-add']).toBe('a,b');
  expect(seen.headers).not.toHaveProperty('x-remove');
  expect(seen.headers['x-other']).toBe('stays');
});

test('applies response header modifiers (set, add, remove)', async () => {
  const response = await request(`${gateway.url}/mod/x`);
  await response.body.dump();
  expect(response.headers['x-resp-set']).toBe('1');
  expect(response.headers['x-upstream']).toBe('blue,extra');
  expect(response.headers).not.toHaveProperty('content-type');
});

test.each([
  ['/old/api/users?page=2', '/new/users?page=2'],
  ['/old/api', '/new'],
  ['/old/api/', '/new/'],
  ['/strip/users', '/users'],
  ['/strip', '/'],
])('ReplacePrefixMatch rewrites %s to %s', async (path, expected) => {
  expect((await echo(path)).echo.url).toBe(expected);
});

test('ReplaceFullPath replaces the whole path, keeps the query, and the hostname rewrite sets Host', async () => {
  const { echo: seen } = await echo('/full/any/thing?q=1');
  expect(seen.url).toBe('/replaced?q=1');
  expect(seen.headers.host).toBe('rewritten.internal');
  expect(seen.headers['x-forwarded-host']).toBe(new URL(gateway.url).host);
});

test("sends the cluster's authority as Host for static URL backends", async () => {
  expect((await echo('/authority')).echo.headers.host).toBe('static.example.com');
});

test.each([
  ['/redirect-https/a?x=1', 'shop.test', 301, 'https://shop.test/redirect-https/a?x=1'],
  ['/redirect-https/a', 'shop.test:8080', 301, 'https://shop.test/redirect-https/a'],
  ['/redirect-host/a/b?y=2', 'shop.test:8080', 302, 'http://other.test:8443/moved/a/b?y=2'],
  ['/redirect-full/a', 'shop.test:8080', 308, 'http://shop.test:8080/elsewhere'],
  ['/redirect-full/a', 'shop.test', 308, 'http://shop.test/elsewhere'],
])('redirects %s (Host %s) with %i to %s', async (path, host, status, location) => {
  const response = await request(`${gateway.url}${path}`, { headers: { host } });
  await response.body.dump();
  expect(response.statusCode).toBe(status);
  expect(response.headers.location).toBe(location);
});

test('answers a direct response with its status, code and message', async () => {
  const response = await request(`${gateway.url}/gone`);
  expect(response.statusCode).toBe(500);
  expect(response.headers['x-tollgate-error-code']).toBe('TG_ERR_BACKEND_NOT_FOUND');
  expect(await response.body.json()).toEqual({
    error: { code: 'TG_ERR_BACKEND_NOT_FOUND', message: 'backend Service "x" does not exist' },
  });
});

test('writes one access-log line per request with route, cluster and upstream', async () => {
  const { status } = await echo('/logged/path?secret=1', {
    method: 'PUT',
    body: 'abc',
    headers: { 'x-request-id': 'log-me' },
  });
  expect(status).toBe(200);
  // Written when the response closes on the server, which can trail the client by a moment.
  await waitFor(() => gateway.accessLogs().some((l) => l.requestId === 'log-me'));
  const lines = gateway.accessLogs().filter((l) => l.requestId === 'log-me');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({
    msg: 'request',
    method: 'PUT',
    path: '/logged/path',
    status: 200,
    route: 'echo',
    cluster: 'blue',
    upstream: `127.0.0.1:${blue.port}`,
    bytesIn: 3,
    requestId: 'log-me',
  });
  expect(lines[0]!.bytesOut).toBeGreaterThan(0);
  expect(typeof lines[0]!.durationMs).toBe('number');
  expect(typeof lines[0]!.upstreamMs).toBe('number');
});
