// Idle connections on the TLS listener: closed after the keep-alive time when nothing is in
// flight, kept while a request waits on a slow upstream (HTTP/1.1 and HTTP/2 alike).
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { waitFor } from '@tollgate/testkit';
import type { Dataplane } from '../../src/index.ts';
import { cluster, entry, snapshotOf, startTlsDataplane } from '../helpers.ts';
import { makeCertificate, tlsOf } from './certs.ts';

const KEEP_ALIVE_MS = 300;
let upstream: Server;
let dataplane: Dataplane;
let tlsPort: number;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    // Slower than the keep-alive time, with not a byte before the answer.
    setTimeout(() => res.end(`slow ${req.url}`), req.url === '/slow' ? KEEP_ALIVE_MS * 3 : 0);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  ({ dataplane, tlsPort } = await startTlsDataplane({ clientKeepAliveMs: KEEP_ALIVE_MS }));
  dataplane.applySnapshot(
    snapshotOf(
      { '*': [entry('web', { backends: [['up', 1]] })] },
      [cluster('up', [(upstream.address() as AddressInfo).port])],
      { tls: tlsOf({ 'secret/t/c': makeCertificate('c', ['c.example.com']) }, {}) },
    ),
  );
});

afterAll(async () => {
  await dataplane?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

test('an HTTP/1.1 connection survives a slow answer, then closes once idle', async () => {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: tlsPort,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
  });
  let response = '';
  let closed = false;
  socket.on('data', (c: Buffer) => {
    response += c.toString();
  });
  socket.on('close', () => {
    closed = true;
  });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write('GET /slow HTTP/1.1\r\nhost: c.example.com\r\n\r\n');
  await waitFor(() => response.includes('slow /slow'), { what: 'the slow answer', timeoutMs: 5000 });
  expect(response.startsWith('HTTP/1.1 200')).toBe(true);
  expect(closed).toBe(false);
  await waitFor(() => closed, { what: 'the idle connection closed', timeoutMs: 5000 });
});

test('an HTTP/2 session survives a slow stream, then closes once idle', async () => {
  const session = h2connect(`https://127.0.0.1:${tlsPort}`, { rejectUnauthorized: false });
  let closed = false;
  session.on('close', () => {
    closed = true;
  });
  session.on('error', () => {});
  const body = await new Promise<string>((resolve, reject) => {
    const stream = session.request({ ':path': '/slow' });
    let text = '';
    stream.on('data', (c: Buffer) => {
      text += c.toString();
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
  expect(body).toBe('slow /slow');
  await waitFor(() => closed, { what: 'the idle session closed', timeoutMs: 5000 });
});
