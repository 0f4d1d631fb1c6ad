// Draining with websocket tunnels open: they count as open streams — the drain waits for them up
// to its deadline, then cuts them, and the listener closes instead of waiting forever.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Dataplane } from '../../src/index.ts';
import { cluster, entry, memoryLogger, snapshotOf } from '../helpers.ts';

let backend: Server;
let wss: WebSocketServer;

beforeAll(async () => {
  backend = createServer();
  wss = new WebSocketServer({ server: backend });
  wss.on('connection', (socket) => socket.on('message', (data) => socket.send(data.toString())));
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  wss?.close();
  backend?.closeAllConnections();
  await new Promise((resolve) => backend?.close(resolve));
});

async function gatewayWithSocket(): Promise<{
  dataplane: Dataplane;
  socket: WebSocket;
  closed: Promise<void>;
}> {
  const dataplane = new Dataplane({
    logger: memoryLogger().logger,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
  });
  const { port } = await dataplane.start();
  dataplane.applySnapshot(
    snapshotOf({ '*': [entry('ws', { backends: [['ws', 1]] })] }, [
      cluster('ws', [(backend.address() as AddressInfo).port]),
    ]),
  );
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { dataplane, socket, closed };
}

test('a drain waits for an open websocket until its deadline, then cuts it and finishes', async () => {
  const { dataplane, socket, closed } = await gatewayWithSocket();
  try {
    let drained = false;
    const draining = dataplane.drain(500).then(() => {
      drained = true;
    });
    // Still usable during the drain.
    socket.send('during');
    await new Promise((resolve) => socket.once('message', resolve));
    expect(drained).toBe(false);
    await draining;
    await closed;
  } finally {
    await dataplane.close();
  }
});

test('a drain finishes as soon as the last websocket closes', async () => {
  const { dataplane, socket, closed } = await gatewayWithSocket();
  try {
    const draining = dataplane.drain(30_000);
    socket.close();
    await closed;
    await draining;
  } finally {
    await dataplane.close();
  }
});
