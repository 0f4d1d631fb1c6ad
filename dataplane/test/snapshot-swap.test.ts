// Snapshot swaps: atomic under load, pools reused for unchanged endpoints and closed for removed
// ones once their requests finish, invalid snapshots rejected without touching the active one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { TollgateError } from '../src/index.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from './helpers.ts';

let blue: TestUpstream;
let green: TestUpstream;
let gateway: RunningDataplane;
/** Remote ports of the connections each upstream has seen, and the ones that closed. */
const sockets = { opened: new Map<string, Set<number>>(), closed: new Map<string, Set<number>>() };

function record(map: Map<string, Set<number>>, name: string, port: number): void {
  const ports = map.get(name) ?? new Set<number>();
  ports.add(port);
  map.set(name, ports);
}

beforeAll(async () => {
  const handler = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    const port = req.socket.remotePort ?? 0;
    record(sockets.opened, name, port);
    req.socket.once('close', () => record(sockets.closed, name, port));
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => {
      res.writeHead(200, { 'x-upstream': name, 'x-client-port': String(port) });
      res.end(name);
    }, delay);
  };
  blue = await startUpstream('blue', handler('blue'));
  green = await startUpstream('green', handler('green'));
});

beforeEach(async () => {
  gateway = await startDataplane();
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  await Promise.all([blue?.close(), green?.close()]);
});

const routeTo = (clusterId: string, label = clusterId) =>
  snapshotOf({ '*': [entry(`route-${label}`, { backends: [[clusterId, 1]] })] }, [
    cluster('blue', [blue.port]),
    cluster('green', [green.port]),
  ]);

async function get(path: string) {
  const response = await request(`${gateway.url}${path}`);
  await response.body.dump();
  return {
    status: response.statusCode,
    upstream: response.headers['x-upstream'],
    port: Number(response.headers['x-client-port']),
  };
}

test('two snapshots alternating under a request loop lose no request', async () => {
  const toBlue = routeTo('blue');
  const toGreen = routeTo('green');
  gateway.dataplane.applySnapshot(toBlue);
  let running = true;
  const seen = { ok: 0, failures: [] as string[], upstreams: new Set<unknown>() };
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      try {
        const result = await get('/x');
        if (result.status === 200) {
          seen.ok++;
          seen.upstreams.add(result.upstream);
        } else seen.failures.push(String(result.status));
      } catch (error) {
        seen.failures.push(String(error));
      }
    }
  });
  let swaps = 0;
  while (swaps < 60) {
    const target = swaps % 2 === 0 ? toGreen : toBlue;
    gateway.dataplane.applySnapshot(target);
    swaps++;
    const before = seen.ok;
    await waitFor(() => seen.ok > before + 3 || seen.failures.length > 0, { what: 'traffic between swaps' });
  }
  running = false;
  await Promise.all(loops);
  expect(seen.failures).toEqual([]);
  expect(seen.ok).toBeGreaterThan(200);
  expect(seen.upstreams).toEqual(new Set(['blue', 'green']));
});

test('a request keeps the snapshot it started with', async () => {
  gateway.dataplane.applySnapshot(routeTo('blue'));
  const slow = get('/slow?delay=300');
  await waitFor(() => gateway.dataplane.inflight === 1);
  gateway.dataplane.applySnapshot(routeTo('green'));
  expect((await get('/now')).upstream).toBe('green');
  expect((await slow).upstream).toBe('blue');
});

test('a swap keeps the pools (and warm connections) of endpoints that are still there', async () => {
  gateway.dataplane.applySnapshot(routeTo('blue', 'v1'));
  const first = await get('/a');
  gateway.dataplane.applySnapshot(routeTo('blue', 'v2'));
  gateway.dataplane.applySnapshot(routeTo('blue', 'v3'));
  const second = await get('/b');
  expect(first.upstream).toBe('blue');
  expect(second.upstream).toBe('blue');
  // Same upstream connection: the pool, and its keep-alive socket, survived both swaps.
  expect(second.port).toBe(first.port);
  expect(gateway.dataplane.poolStats().created).toBe(2); // blue and green, once each
});

test('a route that leaves the configuration takes its request series with it; the others keep theirs', async () => {
  const scrape = async () => (await (await fetch(`${gateway.adminUrl}/metrics`)).text()).split('\n');
  const series = (lines: string[], route: string) =>
    lines.filter((l) => l.startsWith('tollgate_request') && l.includes(`route="${route}"`));
  const both = snapshotOf(
    {
      '*': [
        entry('route-old', { path: ['PathPrefix', '/old'], backends: [['blue', 1]] }),
        entry('route-kept', { path: ['PathPrefix', '/kept'], backends: [['blue', 1]] }),
      ],
    },
    [cluster('blue', [blue.port])],
  );
  gateway.dataplane.applySnapshot(both);
  await get('/old');
  await get('/kept');
  const before = await scrape();
  expect(series(before, 'route-old').length).toBeGreaterThan(0);
  expect(series(before, 'route-kept').length).toBeGreaterThan(0);

  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [entry('route-kept', { path: ['PathPrefix', '/kept'], backends: [['blue', 1]] })] }, [
      cluster('blue', [blue.port]),
    ]),
  );
  const after = await scrape();
  expect(series(after, 'route-old')).toEqual([]);
  expect(series(after, 'route-kept')).toEqual(series(before, 'route-kept'));
});

test('the pool of a removed endpoint closes after its in-flight request finishes', async () => {
  const both = snapshotOf({ '*': [entry('r', { backends: [['green', 1]] })] }, [
    cluster('blue', [blue.port]),
    cluster('green', [green.port]),
  ]);
  const blueOnly = snapshotOf({ '*': [entry('r', { backends: [['blue', 1]] })] }, [
    cluster('blue', [blue.port]),
  ]);
  gateway.dataplane.applySnapshot(both);
  const slow = get('/slow?delay=300');
  await waitFor(() => gateway.dataplane.inflight === 1);
  const greenPorts = new Set(sockets.opened.get('green'));
  gateway.dataplane.applySnapshot(blueOnly);
  const result = await slow;
  expect(result).toMatchObject({ status: 200, upstream: 'green' });
  await waitFor(() => sockets.closed.get('green')?.has(result.port), {
    what: "green's connection to be closed",
  });
  expect(greenPorts.has(result.port)).toBe(true);
  expect(gateway.dataplane.poolStats().open).toEqual([`http://127.0.0.1:${blue.port}`]);
});

test.each([
  ['fails schema validation', { version: 'bad', virtualHosts: 'nope' }, /virtualHosts/],
  [
    'refers to a cluster it does not define',
    snapshotOf({ '*': [entry('orphan', { backends: [['missing', 1]] })] }),
    /orphan.*missing|missing/,
  ],
  [
    'has an invalid regular expression',
    snapshotOf({ '*': [entry('bad-regex', { path: ['RegularExpression', '/(x'] })] }),
    /bad-regex/,
  ],
  [
    'asks for a prefix rewrite on an exact match',
    snapshotOf({
      '*': [
        entry('bad-rewrite', {
          path: ['Exact', '/x'],
          urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/y' } },
        }),
      ],
    }),
    /ReplacePrefixMatch/,
  ],
])('rejects a snapshot that %s and keeps serving the active one', async (_what, bad, message) => {
  gateway.dataplane.applySnapshot(routeTo('blue'));
  const version = gateway.dataplane.version;
  let thrown: unknown;
  try {
    gateway.dataplane.applySnapshot(bad);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TollgateError);
  expect((thrown as TollgateError).code).toBe('TG_ERR_SNAPSHOT_INVALID');
  expect((thrown as Error).message).toMatch(message);
  expect(gateway.dataplane.version).toBe(version);
  expect((await get('/still')).upstream).toBe('blue');
  expect(gateway.dataplane.poolStats().open).toHaveLength(2);
});
