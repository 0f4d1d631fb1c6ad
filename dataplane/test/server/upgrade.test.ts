// Websockets through the gateway with the `ws` package on both ends: echo over the plaintext and
// the TLS listener, refusals before the tunnel (no route, IP filter, API key), and the per-IP
// connection limit on the listener.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import type { Snapshot } from '@tollgate/snapshot';
import { waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { WebSocket, WebSocketServer } from 'ws';
import type { Dataplane } from '../../src/index.ts';
import { cluster, entry, snapshotOf, startTlsDataplane } from '../helpers.ts';
import { makeCertificate, tlsOf } from './certs.ts';

let backend: Server;
let wss: WebSocketServer;
let dataplane: Dataplane;
let port: number;
let tlsPort: number;
const certificate = makeCertificate('ws', ['ws.example.com']);

beforeAll(async () => {
  backend = createServer((_req, res) => res.end('plain'));
  wss = new WebSocketServer({ server: backend });
  wss.on('connection', (socket, req) => {
    socket.send(`hello ${req.url} via ${String(req.headers['x-forwarded-for'] ?? '')}`);
    socket.on('message', (data) => socket.send(`echo ${data.toString()}`));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  ({ dataplane, port, tlsPort } = await startTlsDataplane({ maxConnectionsPerIP: 5 }));
  dataplane.applySnapshot(snapshot());
});

afterAll(async () => {
  await dataplane?.close();
  for (const client of wss?.clients ?? []) client.terminate();
  wss?.close();
  backend?.closeAllConnections();
  await new Promise((resolve) => backend?.close(resolve));
});

function snapshot(): Snapshot {
  const backendPort = (backend.address() as AddressInfo).port;
  return snapshotOf(
    {
      '*': [
        entry('ws', { path: ['PathPrefix', '/ws'], backends: [['ws', 1]] }),
        {
          ...entry('locked', { path: ['PathPrefix', '/locked'], backends: [['ws', 1]] }),
          edge: { ipFilter: { from: 'p', allow: ['10.0.0.0/8'] } },
        },
      ],
    },
    [cluster('ws', [backendPort])],
    { tls: tlsOf({ 'secret/t/ws': certificate }, { 'ws.example.com': 'secret/t/ws' }) },
  );
}

/** Opens a websocket, sends `message`, returns the greeting and the echo. */
function echo(
  url: string,
  message: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    const received: string[] = [];
    socket.on('message', (data) => {
      received.push(data.toString());
      if (received.length === 1) socket.send(message);
      if (received.length === 2) {
        socket.close();
        resolve(received);
      }
    });
    socket.on('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.on('error', reject);
  });
}

test('a websocket echo works through the plaintext listener', async () => {
  const [greeting, reply] = await echo(`ws://127.0.0.1:${port}/ws/chat?room=1`, 'ping');
  expect(greeting).toBe('hello /ws/chat?room=1 via 127.0.0.1');
  expect(reply).toBe('echo ping');
});

test('a websocket echo works through the TLS listener (wss)', async () => {
  // SNI ws.example.com picks the certificate; the chain is verified against it.
  const options = { servername: 'ws.example.com', ca: certificate.certPem };
  const [, reply] = await echo(`wss://127.0.0.1:${tlsPort}/ws`, 'secure', options);
  expect(reply).toBe('echo secure');
});

test('many messages in both directions keep their order', async () => {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const received: string[] = [];
  socket.on('message', (data) => received.push(data.toString()));
  await new Promise((resolve) => socket.once('open', resolve));
  for (let i = 0; i < 100; i++) socket.send(String(i));
  await waitFor(() => received.length === 101, { what: '100 echoes', timeoutMs: 5000 });
  expect(received.slice(1)).toEqual(Array.from({ length: 100 }, (_, i) => `echo ${i}`));
  socket.close();
});

test('refuses an upgrade with no route (404) or outside the IP filter (403) before any tunnel', async () => {
  dataplane.applySnapshot(
    snapshotOf({ '*': [entry('ws', { path: ['Exact', '/only'], backends: [['ws', 1]] })] }, [
      cluster('ws', [(backend.address() as AddressInfo).port]),
    ]),
  );
  await expect(echo(`ws://127.0.0.1:${port}/ws`, 'x')).rejects.toThrow('refused with 404');
  dataplane.applySnapshot(snapshot());
  await expect(echo(`ws://127.0.0.1:${port}/locked`, 'x')).rejects.toThrow('refused with 403');
});

test('closes connections beyond the per-IP limit at accept, and accepts again once some close', async () => {
  const sockets: Socket[] = [];
  const closed: boolean[] = [];
  for (let i = 0; i < 7; i++) {
    const socket = new Socket();
    const index = i;
    closed[index] = false;
    socket.on('close', () => {
      closed[index] = true;
    });
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.connect(port, '127.0.0.1', resolve));
    sockets.push(socket);
  }
  await waitFor(() => closed.filter(Boolean).length === 2, {
    what: 'two refused connections',
    timeoutMs: 5000,
  });
  expect(closed.slice(0, 5)).toEqual([false, false, false, false, false]);
  for (const socket of sockets) socket.destroy();
  expect(await dataplane.metrics.registry.metrics()).toMatch(
    /tollgate_connections_refused_total\{listener="http"\} 2/,
  );
  await waitFor(async () => (await request(`http://127.0.0.1:${port}/ws`)).statusCode === 200, {
    what: 'a new connection served',
    timeoutMs: 5000,
  });
});
