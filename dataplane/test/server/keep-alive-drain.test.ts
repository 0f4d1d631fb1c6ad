// Drain and keep-alive: a client that sends its next request on an open connection just as the
// drain starts gets an answer (with `connection: close`), not a reset. Raw sockets make the timing
// exact: the second request is written right after drain() is called, on the same connection.
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { waitFor } from '@tollgate/testkit';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let upstream: Server;
let gateway: RunningDataplane;

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
});

beforeEach(async () => {
  gateway = await startDataplane();
  const { port } = upstream.address() as AddressInfo;
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [entry('r', { backends: [['u', 1]] })] }, [cluster('u', [port])]),
  );
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

/** A raw HTTP/1.1 connection that collects what the gateway writes and whether it closed. */
async function rawConnection(): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  const { port } = new URL(gateway.url);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let data = '';
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    data += chunk;
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    ended = true;
  });
  return { socket, received: () => data, closed: () => ended };
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nhost: gateway\r\n\r\n`;
const responses = (text: string): string[] => text.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];

test('a request sent on an idle keep-alive connection as the drain starts is answered with connection: close', async () => {
  const connection = await rawConnection();
  connection.socket.write(get('/first'));
  await waitFor(() => /\r\n\r\nok$/.test(connection.received()), { what: 'the first answer' });
  expect(connection.received()).not.toMatch(/^connection: close/im);

  const drained = gateway.dataplane.drain(5_000);
  connection.socket.write(get('/second'));
  await waitFor(() => responses(connection.received()).length === 2 && connection.closed(), {
    what: 'the second answer, then the gateway closing the connection',
  });
  expect(responses(connection.received())).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 200 OK']);
  const second = connection.received().slice(connection.received().lastIndexOf('HTTP/1.1'));
  expect(second).toMatch(/^connection: close\r$/im);
  await drained;
});

test('a keep-alive connection that stays idle through the grace is closed, and the drain ends then', async () => {
  const connection = await rawConnection();
  connection.socket.write(get('/only'));
  await waitFor(() => /\r\n\r\nok$/.test(connection.received()), { what: 'the answer' });
  await gateway.dataplane.drain(10_000);
  await waitFor(() => connection.closed(), { what: 'the idle connection to be closed' });
  expect(responses(connection.received())).toHaveLength(1);
});
