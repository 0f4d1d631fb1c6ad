// The config stream's apply path as the data plane process wires it: payloads decoded and
// validated on a worker thread, compiled in slices, swapped in at once; a rejected snapshot is
// NACKed and changes nothing.
import { gzipSync } from 'node:zlib';
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { ConfigClient } from '../../src/config/index.ts';
import { Generation } from '../../src/index.ts';
import type { MatchInput } from '../../src/router/index.ts';
import { PoolRegistry } from '../../src/upstream/index.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';
import { captureLogger } from './helpers.ts';
import { StubController } from './stub-controller.ts';

let blue: TestUpstream;
let green: TestUpstream;
let gateway: RunningDataplane | undefined;
let client: ConfigClient | undefined;
let controller: StubController | undefined;

beforeAll(async () => {
  blue = await startUpstream('blue', (_req, res) => res.writeHead(200, { 'x-upstream': 'blue' }).end());
  green = await startUpstream('green', (_req, res) => res.writeHead(200, { 'x-upstream': 'green' }).end());
});

afterEach(async () => {
  await client?.stop();
  controller?.kill();
  await gateway?.close();
  client = undefined;
  controller = undefined;
  gateway = undefined;
});

afterAll(async () => {
  await Promise.all([blue?.close(), green?.close()]);
});

const routeTo = (clusterId: string, routes = 1) =>
  snapshotOf(
    {
      '*': Array.from({ length: routes }, (_, i) =>
        entry(`r-${clusterId}-${i}`, {
          path: ['PathPrefix', i === routes - 1 ? '/' : `/p${i}`],
          backends: [[clusterId, 1]],
        }),
      ),
    },
    [cluster('blue', [blue.port]), cluster('green', [green.port])],
  );

async function upstreamOf(url: string): Promise<unknown> {
  const response = await request(`${url}/anything`);
  await response.body.dump();
  return response.headers['x-upstream'];
}

async function connect() {
  gateway = await startDataplane();
  const running = gateway;
  controller = new StubController();
  const port = await controller.listen(0);
  client = new ConfigClient({
    address: `127.0.0.1:${port}`,
    node: { id: 'dp-1', buildVersion: 'test' },
    logger: captureLogger().logger,
    onSnapshot: (snapshot) => running.dataplane.applySnapshotSliced(snapshot, { validated: true }),
    backoff: { initialMs: 20, maxMs: 200 },
  });
  client.start();
  const stream = await controller.nextStream();
  await stream.nextRequest();
  return { gateway: running, stream };
}

test('a snapshot the decoder worker rejects is NACKed with the validation message and the old generation keeps serving', async () => {
  const { gateway: running, stream } = await connect();
  const good = routeTo('blue');
  stream.send(good);
  expect((await stream.nextRequest()).versionInfo).toBe(good.version);
  expect(await upstreamOf(running.url)).toBe('blue');

  const next = routeTo('green');
  const broken = { ...next, clusters: [{ id: 'green', kind: 'carrier-pigeon' }] };
  stream.send(next, { snapshot: gzipSync(JSON.stringify(broken)) });
  const nack = await stream.nextRequest();
  expect(nack.versionInfo).toBe(good.version);
  expect(nack.errorDetail?.message).toMatch(/^snapshot failed validation/);
  expect(nack.errorDetail?.message).toContain('clusters[0].kind');

  expect(running.dataplane.version).toBe(good.version);
  expect(await upstreamOf(running.url)).toBe('blue');
});

test('a snapshot that fails to compile midway through its slices is NACKed and changes nothing', async () => {
  const { gateway: running, stream } = await connect();
  const good = routeTo('blue');
  stream.send(good);
  await stream.nextRequest();

  // Past the first slices: the failing entry is compiled after the event loop has run in between.
  const bad = routeTo('green', 1200);
  bad.virtualHosts[0]!.routes[1000] = entry('bad-regex', { path: ['RegularExpression', '/(x'] });
  stream.send(bad);
  const nack = await stream.nextRequest();
  expect(nack.versionInfo).toBe(good.version);
  expect(nack.errorDetail?.message).toContain('bad-regex');
  expect(running.dataplane.version).toBe(good.version);
  expect(await upstreamOf(running.url)).toBe('blue');

  const fine = routeTo('green', 1200);
  stream.send(fine);
  expect((await stream.nextRequest()).versionInfo).toBe(fine.version);
  await waitFor(() => running.dataplane.version === fine.version, { what: 'the new version' });
  expect(await upstreamOf(running.url)).toBe('green');
});

test('compiling a generation in slices lets the event loop run in between and builds the same router', async () => {
  const pools = new PoolRegistry();
  const snapshot = routeTo('blue', 2000);
  const options = { pools, routeMetrics: () => ({ record: () => {} }) as never };
  let turns = 0;
  const ticking = setInterval(() => turns++, 0);
  const sliced = await Generation.compile(snapshot, options);
  clearInterval(ticking);
  const inline = new Generation(snapshot, options);
  expect(turns).toBeGreaterThan(0);
  expect(sliced.router.entryCount).toBe(inline.router.entryCount);
  const probe: MatchInput = { host: 'x', path: '/p1234/a', method: 'GET', headers: {} };
  expect(sliced.router.match(probe)?.entry.ir.id).toBe(inline.router.match(probe)?.entry.ir.id);
  sliced.retire();
  inline.retire();
  await pools.closeAll(true);
});
