// Weighted traffic split and request mirroring.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let blue: TestUpstream;
let green: TestUpstream;
let shadow: TestUpstream;
let silentShadow: TestUpstream;
let stuck: { port: number; close(): Promise<void> };
let gateway: RunningDataplane;

/** An upstream that accepts a request and never reads its body. */
async function startStuckUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req) => req.pause());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  blue = await startUpstream('blue');
  green = await startUpstream('green');
  shadow = await startUpstream('shadow', (_req, res) => {
    res.writeHead(500).end('the mirror fails, nobody should notice');
  });
  silentShadow = await startUpstream('silent-shadow', () => {
    // Never answers.
  });
  stuck = await startStuckUpstream();
  const deadPort = await freePort();
  gateway = await startDataplane();
  gateway.dataplane.applySnapshot(
    snapshotOf(
      {
        '*': [
          entry('split', {
            path: ['PathPrefix', '/split'],
            backends: [
              ['blue', 3],
              ['green', 1],
            ],
          }),
          entry('mirrored', {
            path: ['PathPrefix', '/mirrored'],
            backends: [['blue', 1]],
            mirrors: ['shadow'],
          }),
          entry('mirror-dead', {
            path: ['PathPrefix', '/mirror-dead'],
            backends: [['blue', 1]],
            mirrors: ['dead', 'empty'],
          }),
          entry('mirror-stuck', {
            path: ['PathPrefix', '/mirror-stuck'],
            backends: [['blue', 1]],
            mirrors: ['stuck'],
          }),
          entry('mirror-silent', {
            path: ['PathPrefix', '/mirror-silent'],
            backends: [['blue', 1]],
            mirrors: ['silent'],
          }),
        ],
      },
      [
        cluster('blue', [blue.port]),
        cluster('green', [green.port]),
        cluster('shadow', [shadow.port]),
        cluster('silent', [silentShadow.port]),
        cluster('stuck', [stuck.port]),
        cluster('dead', [deadPort]),
        cluster('empty', []),
      ],
    ),
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([blue, green, shadow, silentShadow, stuck].map((u) => u?.close()));
});

async function get(path: string, init: Parameters<typeof request>[1] = {}) {
  const response = await request(`${gateway.url}${path}`, init);
  return {
    status: response.statusCode,
    upstream: response.headers['x-upstream'],
    body: await response.body.text(),
  };
}

test('a 3:1 weighted split sends about three quarters of the requests to the heavier backend', async () => {
  const total = 400;
  const counts: Record<string, number> = { blue: 0, green: 0 };
  for (let i = 0; i < total; i++) {
    const { status, upstream } = await get(`/split/${i}`);
    expect(status).toBe(200);
    counts[upstream as string]!++;
  }
  // Expected 300/100; the bound would also hold for a weighted random choice (±5 standard deviations).
  expect(counts.blue).toBeGreaterThanOrEqual(300 - 45);
  expect(counts.blue).toBeLessThanOrEqual(300 + 45);
  expect(counts.blue! + counts.green!).toBe(total);
});

test('a mirrored request reaches the mirror with its body while the client gets the main answer', async () => {
  const { status, upstream, body } = await get('/mirrored/orders?x=1', {
    method: 'POST',
    body: 'mirror-me',
    headers: { 'x-request-id': 'mirrored-1' },
  });
  expect(status).toBe(200);
  expect(upstream).toBe('blue');
  expect(JSON.parse(body).body).toBe('mirror-me');
  const copy = await waitFor(() => shadow.requests.find((r) => r.headers['x-request-id'] === 'mirrored-1'), {
    what: 'the mirrored copy',
  });
  expect(copy).toMatchObject({ method: 'POST', url: '/mirrored/orders?x=1', body: 'mirror-me' });
});

test('a mirror that cannot be reached changes nothing for the client and is counted', async () => {
  for (let i = 0; i < 3; i++) {
    const { status, upstream } = await get('/mirror-dead', { method: 'POST', body: 'x' });
    expect(status).toBe(200);
    expect(upstream).toBe('blue');
  }
  await waitFor(
    async () => {
      const text = await gateway.dataplane.metrics.registry.metrics();
      return (
        /tollgate_mirror_errors_total\{backend="dead",code="TG_ERR_UPSTREAM_CONNECT"\} 3/.test(text) &&
        /tollgate_mirror_errors_total\{backend="empty",code="TG_ERR_NO_HEALTHY_UPSTREAM"\} 3/.test(text)
      );
    },
    { what: 'mirror errors to be counted' },
  );
});

test('a mirror that never answers does not hold the response back', async () => {
  const { status, upstream } = await get('/mirror-silent', { method: 'POST', body: 'y' });
  expect(status).toBe(200);
  expect(upstream).toBe('blue');
  // The mirror did get its copy, and is still sitting on it.
  await waitFor(() => silentShadow.requests.length > 0, { what: 'the silent mirror to receive its copy' });
});

test('a mirror that does not read the body is dropped instead of slowing the upload', async () => {
  const size = 16 * 1024 * 1024;
  const response = await request(`${gateway.url}/mirror-stuck`, {
    method: 'PUT',
    body: Buffer.alloc(size, 7),
  });
  expect(response.statusCode).toBe(200);
  expect((JSON.parse(await response.body.text()) as { body: string }).body).toHaveLength(size);
  await waitFor(
    async () =>
      /tollgate_mirror_errors_total\{backend="stuck",code="TG_ERR_MIRROR_BACKLOG"\} 1/.test(
        await gateway.dataplane.metrics.registry.metrics(),
      ),
    { what: 'the stuck mirror to be dropped' },
  );
});
