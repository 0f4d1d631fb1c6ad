// The HTTPS listener against real clients: SNI selection (exact, wildcard, default), ALPN h2 and
// http/1.1 on one port, HTTP/2 streamed responses, certificate rotation under load without a
// failed handshake, and snapshots with a broken certificate rejected.

import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import type { Snapshot } from '@tollgate/snapshot';
import type { Dataplane } from '../../src/index.ts';
import { cluster, entry, snapshotOf, startTlsDataplane } from '../helpers.ts';
import { makeCertificate, type TestCertificate, tlsOf } from './certs.ts';

let upstream: Server;
let dataplane: Dataplane;
let tlsPort: number;
let shop: TestCertificate;
let wildcard: TestCertificate;
let fallback: TestCertificate;

beforeAll(async () => {
  shop = makeCertificate('shop', ['shop.example.com']);
  wildcard = makeCertificate('wildcard', ['*.api.example.com']);
  fallback = makeCertificate('fallback', ['gateway.example.com']);
  upstream = createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const timer = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 10);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ url: req.url, host: req.headers.host, proto: req.headers['x-forwarded-proto'] }),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  ({ dataplane, tlsPort } = await startTlsDataplane());
  dataplane.applySnapshot(withCertificates({ shop, wildcard, fallback }));
});

afterAll(async () => {
  await dataplane?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

function withCertificates(certs: {
  shop: TestCertificate;
  wildcard: TestCertificate;
  fallback: TestCertificate;
}): Snapshot {
  const port = (upstream.address() as AddressInfo).port;
  return snapshotOf({ '*': [entry('web', { backends: [['up', 1]] })] }, [cluster('up', [port])], {
    tls: tlsOf(
      {
        'secret/t/shop': certs.shop,
        'secret/t/wildcard': certs.wildcard,
        'secret/t/fallback': certs.fallback,
      },
      { 'shop.example.com': 'secret/t/shop', '*.api.example.com': 'secret/t/wildcard' },
      'secret/t/fallback',
    ),
  });
}

/** The certificate the listener presents for an SNI name (undefined: no SNI sent). */
function presented(servername: string | undefined): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port: tlsPort, rejectUnauthorized: false, ...(servername ? { servername } : {}) },
      () => {
        resolve(socket.getPeerCertificate());
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

test('presents the certificate of the SNI name: exact, wildcard, else the default', async () => {
  expect((await presented('shop.example.com')).subject.CN).toBe('shop');
  expect((await presented('v1.api.example.com')).subject.CN).toBe('wildcard');
  expect((await presented('SHOP.example.com')).subject.CN).toBe('shop');
  expect((await presented('api.example.com')).subject.CN).toBe('fallback');
  expect((await presented('other.test')).subject.CN).toBe('fallback');
  expect((await presented(undefined)).subject.CN).toBe('fallback');
});

test('serves HTTP/1.1 over TLS to a client that does not offer h2, with x-forwarded-proto https', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: tlsPort,
        path: '/h1',
        servername: 'shop.example.com',
        ca: shop.certPem,
        headers: { host: 'shop.example.com' },
        agent: new Agent({ keepAlive: false }),
      },
      (res) => {
        expect(res.httpVersion).toBe('1.1');
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    req.end();
  });
  expect(JSON.parse(body)).toEqual({ url: '/h1', host: 'shop.example.com', proto: 'https' });
});

test('serves HTTP/2 (ALPN h2) to an HTTP/2 client, including a streamed response', async () => {
  const session = h2connect(`https://127.0.0.1:${tlsPort}`, {
    servername: 'shop.example.com',
    ca: shop.certPem,
  });
  try {
    const get = (path: string) =>
      new Promise<{ status: number; chunks: string[] }>((resolve, reject) => {
        const stream = session.request({ ':path': path });
        const chunks: string[] = [];
        let status = 0;
        stream.on('response', (headers) => {
          status = Number(headers[':status']);
        });
        stream.on('data', (c: Buffer) => chunks.push(c.toString()));
        stream.on('end', () => resolve({ status, chunks }));
        stream.on('error', reject);
      });
    const plain = await get('/h2?x=1');
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.chunks.join(''))).toEqual({
      url: '/h2?x=1',
      host: `shop.example.com:${tlsPort}`,
      proto: 'https',
    });
    const streamed = await get('/stream');
    expect(streamed.status).toBe(200);
    expect(streamed.chunks.join('')).toBe('data: 0\n\ndata: 1\n\ndata: 2\n\n');
    expect(session.alpnProtocol).toBe('h2');
  } finally {
    session.close();
  }
});

test('rotating a certificate under steady load fails no handshake; new handshakes get the new certificate', async () => {
  const rotated = makeCertificate('shop-rotated', ['shop.example.com']);
  let failures = 0;
  let handshakes = 0;
  let stop = false;
  const seen = new Set<string>();
  // An HTTP/2 session opened before the rotation keeps working after it.
  const session = h2connect(`https://127.0.0.1:${tlsPort}`, {
    servername: 'shop.example.com',
    rejectUnauthorized: false,
  });
  const load = async () => {
    while (!stop) {
      try {
        seen.add(String((await presented('shop.example.com')).subject.CN));
        handshakes++;
      } catch {
        failures++;
      }
    }
  };
  const workers = [load(), load(), load(), load()];
  await new Promise((resolve) => setTimeout(resolve, 200));
  dataplane.applySnapshot(withCertificates({ shop: rotated, wildcard, fallback }));
  await new Promise((resolve) => setTimeout(resolve, 200));
  stop = true;
  await Promise.all(workers);
  expect(failures).toBe(0);
  expect(handshakes).toBeGreaterThan(10);
  expect(seen).toEqual(new Set(['shop', 'shop-rotated']));
  expect((await presented('shop.example.com')).subject.CN).toBe('shop-rotated');
  const status = await new Promise<number>((resolve, reject) => {
    const stream = session.request({ ':path': '/after-rotation' });
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', reject);
    stream.resume();
  });
  expect(status).toBe(200);
  session.close();
});

test('exports the expiry of every served certificate as a metric', async () => {
  const text = await dataplane.metrics.registry.metrics();
  const expiry = text.match(
    /tollgate_tls_certificate_expiry_timestamp_seconds\{certificate="secret\/t\/fallback"\} (\d+)/,
  );
  // The test certificates are valid for two days.
  expect(Number(expiry?.[1]) * 1000).toBeGreaterThan(Date.now() + 86_400_000);
});

test('the config dump shows certificates but never their private keys', async () => {
  const { redactSnapshot } = await import('../../src/admin/config-dump.ts');
  const dumped = JSON.stringify(redactSnapshot(withCertificates({ shop, wildcard, fallback })));
  expect(dumped).toContain('BEGIN CERTIFICATE');
  expect(dumped).not.toContain('PRIVATE KEY');
});

test('rejects a snapshot whose certificate does not load and keeps serving the previous one', () => {
  const broken = withCertificates({ shop: { certPem: 'garbage', keyPem: 'garbage' }, wildcard, fallback });
  expect(() => dataplane.applySnapshot(broken)).toThrow(/certificate secret\/t\/shop does not load/);
});
