// Graceful drain: readiness fails, no new connections, in-flight requests finish (or are cut at
// the deadline), keep-alive connections are told to close.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@tollgate/testkit';
import { Agent, Client, request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from './helpers.ts';

let upstream: Server;
let upstreamPort: number;
let gateway: RunningDataplane;

beforeAll(async () => {
  // /slow answers after `delay` ms; /endless streams forever.
  upstream = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/stream') {
      // A finite stream: `chunks` events 20 ms apart.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let left = Number(url.searchParams.get('chunks') ?? 10);
      const timer = setInterval(() => {
        res.write('data: tick\n\n');
        if (--left === 0) {
          clearInterval(timer);
          res.end();
        }
      }, 20);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/endless') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: tick\n\n'), 20);
      res.on('close', () => clearInterval(timer));
      return;
    }
    setTimeout(
      () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('done');
      },
      Number(url.searchParams.get('delay') ?? 0),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
});

beforeEach(async () => {
  gateway = await startDataplane();
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [entry('r', { backends: [['u', 1]] })] }, [cluster('u', [upstreamPort])]),
  );
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

test('drain lets an in-flight request finish, refuses new connections, then resolves', async () => {
  const slow = request(`${gateway.url}/slow?delay=400`);
  await waitFor(() => gateway.dataplane.inflight === 1, { what: 'the slow request in flight' });
  const drained = gateway.dataplane.drain(10_000);
  expect(gateway.dataplane.ready).toBe(false);
  expect((await request(`${gateway.adminUrl}/readyz`)).statusCode).toBe(503);
  await expect(request(`${gateway.url}/new`)).rejects.toThrow(/ECONNREFUSED/);
  const response = await slow;
  expect(response.statusCode).toBe(200);
  expect(response.headers.connection).toBe('close');
  expect(await response.body.text()).toBe('done');
  await drained;
  expect(gateway.dataplane.inflight).toBe(0);
});

test('an idle keep-alive connection is closed when draining starts', async () => {
  const client = new Client(gateway.url);
  let disconnected = false;
  client.on('disconnect', () => {
    disconnected = true;
  });
  try {
    const response = await client.request({ path: '/slow', method: 'GET' });
    await response.body.text();
    expect(disconnected).toBe(false);
    await gateway.dataplane.drain(5_000);
    await waitFor(() => disconnected, { what: 'the idle connection to be closed' });
  } finally {
    await client.destroy();
  }
});

test('a response still pending when draining starts tells the client to close the connection', async () => {
  const client = new Client(gateway.url, { pipelining: 1 });
  try {
    const first = client.request({ path: '/slow?delay=300', method: 'GET' });
    await waitFor(() => gateway.dataplane.inflight === 1);
    const drained = gateway.dataplane.drain(5_000);
    const firstResponse = await first;
    expect(firstResponse.headers.connection).toBe('close');
    await firstResponse.body.text();
    await drained;
  } finally {
    await client.destroy();
  }
});

test('drain cuts a stream still running at the deadline', async () => {
  const response = await request(`${gateway.url}/endless`);
  expect(response.statusCode).toBe(200);
  const outcome = response.body.text().then(
    () => 'completed',
    (error: Error) => error,
  );
  await waitFor(() => gateway.dataplane.inflight === 1);
  await gateway.dataplane.drain(300);
  expect(await outcome).toBeInstanceOf(Error);
  await waitFor(() => gateway.accessLogs().some((l) => l.errorCode === 'TG_ERR_DRAIN_DEADLINE'));
  expect(gateway.accessLogs().at(-1)).toMatchObject({
    route: 'r',
    status: 200,
    errorCode: 'TG_ERR_DRAIN_DEADLINE',
  });
});

test('drain under steady load: every request and stream already started completes, new connections are refused', async () => {
  const agent = new Agent({ connections: 16 });
  let draining = false;
  const failed: string[] = [];
  let completed = 0;
  let refused = 0;
  // 16 workers in a request loop on keep-alive connections; a worker leaves (as it would for
  // another gateway) once an answer says `connection: close` or a new connection is refused. A
  // refused connection never reached the gateway; any other failure is a dropped request.
  const worker = async (): Promise<void> => {
    for (;;) {
      try {
        const response = await request(`${gateway.url}/slow?delay=${20 + Math.floor(Math.random() * 60)}`, {
          dispatcher: agent,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200 || text !== 'done') throw new Error(`${response.statusCode} ${text}`);
        completed++;
        if (response.headers.connection === 'close') return;
      } catch (error) {
        if (draining && (error as { code?: string }).code === 'ECONNREFUSED') refused++;
        else failed.push((error as Error).message);
        return;
      }
    }
  };
  const stream = async (): Promise<string> => {
    const response = await request(`${gateway.url}/stream?chunks=25`, { dispatcher: agent });
    return response.body.text();
  };
  const workers = Array.from({ length: 16 }, worker);
  const streams = Array.from({ length: 4 }, stream);
  await waitFor(() => completed >= 50, { what: 'steady load' });
  draining = true;
  await gateway.dataplane.drain(10_000);
  await Promise.all(workers);
  const bodies = await Promise.all(streams);
  expect(failed).toEqual([]);
  expect(completed + refused).toBeGreaterThanOrEqual(50);
  for (const body of bodies) expect(body.match(/data: tick/g)).toHaveLength(25);
  expect(gateway.accessLogs().filter((l) => l.errorCode !== undefined)).toEqual([]);
  await expect(request(`${gateway.url}/new`)).rejects.toThrow(/ECONNREFUSED/);
  await agent.close();
});
