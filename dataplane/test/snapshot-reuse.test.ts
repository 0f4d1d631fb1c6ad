// Snapshots from the config stream: the decoder hands unchanged entries and sections back as the
// objects it decoded before, and the data plane keeps what it compiled from them. None of that may
// be visible: changed routes take effect, unchanged ones keep working, removed ones 404, a route
// whose cluster changed uses the new endpoints, and pools close exactly when nothing uses them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  encodeSnapshot,
  type RouteEntryIR,
  SNAPSHOT_ENCODING,
  type Snapshot,
  SnapshotDecoder,
} from '@tollgate/snapshot';
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { Generation, TollgateError } from '../src/index.ts';
import type { RouteMetrics } from '../src/observability/index.ts';
import { PoolRegistry } from '../src/upstream/index.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from './helpers.ts';

let blue: TestUpstream;
let green: TestUpstream;
let gateway: RunningDataplane;
let decoder: SnapshotDecoder;

beforeAll(async () => {
  const handler = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => {
      res.writeHead(200, { 'x-upstream': name });
      res.end(name);
    }, delay);
  };
  blue = await startUpstream('blue', handler('blue'));
  green = await startUpstream('green', handler('green'));
});

beforeEach(async () => {
  gateway = await startDataplane();
  decoder = new SnapshotDecoder();
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  await Promise.all([blue?.close(), green?.close()]);
});

/** What the config client does with a payload: decode it against the previous one, then apply it. */
async function push(snapshot: Snapshot): Promise<Snapshot> {
  const decoded = await decoder.decode(encodeSnapshot(snapshot), SNAPSHOT_ENCODING);
  await gateway.dataplane.applyDecodedSnapshot(decoded);
  return decoded;
}

async function get(path: string): Promise<{ status: number; upstream: unknown }> {
  const response = await request(`${gateway.url}${path}`);
  await response.body.dump();
  return { status: response.statusCode, upstream: response.headers['x-upstream'] };
}

const to = (id: string, prefix: string, clusterId: string): RouteEntryIR =>
  entry(id, { path: ['PathPrefix', prefix], backends: [[clusterId, 1]] });

const routesTo = (n: number, clusterId: string): RouteEntryIR[] =>
  Array.from({ length: n }, (_, i) => to(`r-${i}`, `/r-${i}`, clusterId));

/** The per-route series: request counts and durations, request and response bytes. */
async function routeSeries(): Promise<string[]> {
  return (await (await fetch(`${gateway.adminUrl}/metrics`)).text())
    .split('\n')
    .filter((line) => line.startsWith('tollgate_request') || line.startsWith('tollgate_response_bytes'));
}

const clusters = () => [cluster('blue', [blue.port]), cluster('green', [green.port])];

test('a changed route takes effect, an unchanged one keeps working, a removed one 404s, an added one serves', async () => {
  const filler = Array.from({ length: 50 }, (_, i) => to(`filler-${i}`, `/filler-${i}`, 'blue'));
  await push(
    snapshotOf(
      { '*': [to('a', '/a', 'blue'), to('b', '/b', 'blue'), to('d', '/d', 'blue'), ...filler] },
      clusters(),
    ),
  );
  expect(await get('/a')).toEqual({ status: 200, upstream: 'blue' });
  expect(await get('/b')).toEqual({ status: 200, upstream: 'blue' });
  expect(await get('/d')).toEqual({ status: 200, upstream: 'blue' });
  expect((await routeSeries()).filter((line) => line.includes('route="d"'))).toEqual(
    expect.arrayContaining([expect.stringMatching(/^tollgate_response_bytes_total\{route="d"\} [1-9]/)]),
  );

  await push(
    snapshotOf(
      { '*': [to('a', '/a', 'blue'), to('b', '/b', 'green'), to('c', '/c', 'green'), ...filler] },
      clusters(),
    ),
  );
  expect(await get('/a')).toEqual({ status: 200, upstream: 'blue' });
  expect(await get('/b')).toEqual({ status: 200, upstream: 'green' });
  expect(await get('/c')).toEqual({ status: 200, upstream: 'green' });
  expect((await get('/d')).status).toBe(404);
  expect(await get('/filler-49')).toEqual({ status: 200, upstream: 'blue' });

  // The request series of the removed route are forgotten; the unchanged one's are kept.
  const metrics = await routeSeries();
  expect(metrics.filter((line) => line.includes('route="d"'))).toEqual([]);
  expect(metrics.filter((line) => line.includes('route="a"')).length).toBeGreaterThan(0);
});

test('an unchanged route whose cluster changed uses the new endpoints', async () => {
  const route = to('r', '/', 'svc');
  await push(snapshotOf({ '*': [route] }, [cluster('svc', [blue.port])]));
  expect(await get('/x')).toEqual({ status: 200, upstream: 'blue' });
  await push(snapshotOf({ '*': [route] }, [cluster('svc', [green.port])]));
  expect(await get('/x')).toEqual({ status: 200, upstream: 'green' });
  // The pool of the endpoint no generation uses any more is closed.
  await waitFor(() => !gateway.dataplane.poolStats().open.some((key) => key.includes(`:${blue.port}`)), {
    what: "blue's pool to close",
  });
});

test('a snapshot that fails to compile is rejected and leaves the running one, pools included', async () => {
  const good = snapshotOf({ '*': [to('a', '/a', 'blue'), to('b', '/b', 'green')] }, clusters());
  await push(good);
  const broken = snapshotOf(
    { '*': [to('a', '/a', 'blue'), to('b', '/b', 'green'), to('bad', '/bad', 'nowhere')] },
    clusters(),
  );
  await expect(push(broken)).rejects.toThrow(TollgateError);
  await expect(push(broken)).rejects.toThrow(/cluster nowhere/);
  expect(gateway.dataplane.version).toBe(good.version);
  expect(gateway.dataplane.poolStats().open).toHaveLength(2);
  expect(await get('/a')).toEqual({ status: 200, upstream: 'blue' });
  expect(await get('/b')).toEqual({ status: 200, upstream: 'green' });
  // The next good snapshot still reuses correctly.
  await push(snapshotOf({ '*': [to('a', '/a', 'green'), to('b', '/b', 'green')] }, clusters()));
  expect(await get('/a')).toEqual({ status: 200, upstream: 'green' });
  expect(gateway.dataplane.poolStats().open).toHaveLength(2);
});

test('requests during swaps of decoded snapshots are all answered', async () => {
  const filler = Array.from({ length: 200 }, (_, i) => to(`filler-${i}`, `/filler-${i}`, 'blue'));
  const snapshots = [0, 1].map((n) =>
    snapshotOf({ '*': [to('x', '/x', n === 0 ? 'blue' : 'green'), ...filler] }, clusters()),
  );
  await push(snapshots[0]!);
  let running = true;
  const failures: string[] = [];
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const [x, filled] = await Promise.all([get('/x?delay=2'), get('/filler-7')]);
      if (x.status !== 200) failures.push(`/x ${x.status}`);
      if (filled.status !== 200 || filled.upstream !== 'blue') failures.push(`/filler-7 ${filled.status}`);
    }
  });
  for (let i = 1; i <= 20; i++) {
    await push(snapshots[i % 2]!);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  running = false;
  await Promise.all(loops);
  expect(failures).toEqual([]);
});

test('metrics of routes removed from a large configuration are forgotten, also when the next snapshot is rejected', async () => {
  const filler = Array.from({ length: 3000 }, (_, i) => to(`filler-${i}`, `/filler-${i}`, 'blue'));
  const scrape = async () => (await routeSeries()).filter((line) => line.includes('route="gone"'));
  await push(snapshotOf({ '*': [to('gone', '/gone', 'blue'), ...filler] }, clusters()));
  expect((await get('/gone')).status).toBe(200);
  expect((await scrape()).length).toBeGreaterThan(0);
  await push(snapshotOf({ '*': filler }, clusters()));
  // Rejected at once: the unfinished pass for the snapshot above resumes for it.
  await expect(
    push(snapshotOf({ '*': [to('bad', '/bad', 'nowhere'), ...filler] }, clusters())),
  ).rejects.toThrow(TollgateError);
  await waitFor(async () => (await scrape()).length === 0, { what: 'the series of the removed route to go' });
  expect((await get('/filler-2999')).status).toBe(200);
});

describe('Generation reuse', () => {
  const routeMetrics = (() => ({})) as unknown as (id: string) => RouteMetrics;

  test('plans of unchanged entries and the upstream set are carried over; pools close when the last holder is done', async () => {
    const pools = new PoolRegistry();
    const local = new SnapshotDecoder();
    const decode = (s: Snapshot) => local.decode(encodeSnapshot(s), SNAPSHOT_ENCODING);
    const entries = [to('a', '/a', 'blue'), to('b', '/b', 'blue'), to('c', '/c', 'blue')];
    const first = new Generation(await decode(snapshotOf({ '*': entries }, clusters())), {
      pools,
      routeMetrics,
    });
    const changed = [entries[0]!, to('b', '/b', 'green'), entries[2]!];
    const second = new Generation(await decode(snapshotOf({ '*': changed }, clusters())), {
      pools,
      routeMetrics,
      previous: first,
    });
    const plans = (g: Generation) => g.router.virtualHosts[0]!.entries.map((e) => e.data);
    expect(plans(second)[0]).toBe(plans(first)[0]);
    expect(plans(second)[1]).not.toBe(plans(first)[1]);
    expect(plans(second)[2]).toBe(plans(first)[2]);
    expect(plans(second)[1]!.pickBackend()?.id).toBe('green');

    // The first generation is retired while a request still holds it: nothing closes.
    const lease = first.lease();
    first.retire();
    first.retire();
    lease.release();
    expect(pools.keys()).toHaveLength(2);

    // A snapshot with other clusters builds its own set; retiring the second gives the shared one back.
    const third = new Generation(
      await decode(snapshotOf({ '*': [to('a', '/a', 'green')] }, [cluster('green', [green.port])])),
      { pools, routeMetrics, previous: second },
    );
    expect(third.router.virtualHosts[0]!.entries[0]!.data.pickBackend()?.id).toBe('green');
    second.retire();
    await waitFor(() => pools.keys().length === 1, { what: "blue's pool to close" });
    third.retire();
    await waitFor(() => pools.keys().length === 0, { what: 'every pool to close' });
    await pools.closeAll(true);
  });

  test('a generation compiled in slices that fails gives back what it took', async () => {
    const pools = new PoolRegistry();
    const good = snapshotOf({ '*': routesTo(500, 'blue') }, clusters());
    const first = await Generation.build(good, { pools, routeMetrics });
    const bad = snapshotOf(
      { '*': [...good.virtualHosts[0]!.routes, to('bad', '/bad', 'nowhere')] },
      clusters(),
    );
    await expect(
      Generation.build({ ...bad, clusters: good.clusters }, { pools, routeMetrics, previous: first }),
    ).rejects.toThrow(/cluster nowhere/);
    await expect(Generation.build(bad, { pools, routeMetrics, previous: first })).rejects.toThrow(
      /cluster nowhere/,
    );
    expect(pools.keys()).toHaveLength(2);
    expect(
      first.router.match({ host: 'x', path: '/r-499', method: 'GET', headers: {} })?.entry.data.pickBackend()
        ?.id,
    ).toBe('blue');
    first.retire();
    await waitFor(() => pools.keys().length === 0, { what: 'every pool to close' });
    await pools.closeAll(true);
  });

  test('a retired generation is never built upon', async () => {
    const pools = new PoolRegistry();
    const local = new SnapshotDecoder();
    const snapshot = await local.decode(
      encodeSnapshot(snapshotOf({ '*': [to('a', '/a', 'blue')] }, clusters())),
      SNAPSHOT_ENCODING,
    );
    const first = new Generation(snapshot, { pools, routeMetrics });
    first.retire();
    await waitFor(() => pools.keys().length === 0, { what: 'pools to close' });
    const second = new Generation(snapshot, { pools, routeMetrics, previous: first });
    expect(pools.keys()).toHaveLength(2);
    expect(second.router.virtualHosts[0]!.entries[0]!.data).not.toBe(
      first.router.virtualHosts[0]!.entries[0]!.data,
    );
    second.retire();
    await pools.closeAll(true);
  });
});
