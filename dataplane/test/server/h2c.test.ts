// h2c with prior knowledge on the plaintext listener (opt-in): an HTTP/2 client and an HTTP/1.1
// client on the same port, the HTTP/2 one receiving a streamed response.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { Dataplane } from '../../src/index.ts';
import { cluster, entry, memoryLogger, snapshotOf } from '../helpers.ts';

let upstream: Server;
let dataplane: Dataplane;
let port: number;

beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    await new Promise((resolve) => req.on('end', resolve));
    res.write(`${req.method} ${req.url} ${body ? `[${body}] ` : ''}`);
    setTimeout(() => res.end(`via ${req.headers['x-forwarded-proto']}`), 20);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  dataplane = new Dataplane({
    logger: memoryLogger().logger,
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    h2c: true,
  });
  port = (await dataplane.start()).port;
  dataplane.applySnapshot(
    snapshotOf({ '*': [entry('web', { backends: [['up', 1]] })] }, [
      cluster('up', [(upstream.address() as AddressInfo).port]),
    ]),
  );
});

afterAll(async () => {
  await dataplane?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

test('an HTTP/2 client with prior knowledge and an HTTP/1.1 client share the plaintext port', async () => {
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2c?q=1', ':method': 'POST' });
      let status = 0;
      let body = '';
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
      });
      stream.on('data', (c: Buffer) => {
        body += c.toString();
      });
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
      stream.end('payload');
    });
    expect(h2).toEqual({ status: 200, body: 'POST /h2c?q=1 [payload] via http' });
  } finally {
    session.close();
  }
  const h1 = await request(`http://127.0.0.1:${port}/h1`);
  expect(await h1.body.text()).toBe('GET /h1 via http');
});
