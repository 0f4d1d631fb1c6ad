// Compression through a real data plane: brotli/gzip chosen from Accept-Encoding and the policy,
// skipped for small, already-encoded and non-compressible responses; event streams keep streaming.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import type { CompressionIR } from '@tollgate/snapshot';
import { waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

const BIG_JSON = JSON.stringify({
  items: Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })),
});
let upstream: Server;
let gateway: RunningDataplane;
let releaseStream: (() => void) | undefined;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    switch (req.url) {
      case '/json':
        res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
        return res.end(BIG_JSON);
      case '/small':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
        return res.end('small');
      case '/png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(Buffer.alloc(4096, 1));
      case '/encoded':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        return res.end(gzipSync('already'));
      case '/no-transform':
        res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-transform' });
        return res.end('t'.repeat(4096));
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        releaseStream = () => res.end('data: last\n\n');
        return;
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gateway = await startDataplane();
});

afterAll(async () => {
  releaseStream?.();
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

function apply(compression: CompressionIR): void {
  const port = (upstream.address() as AddressInfo).port;
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [{ ...entry('c', { backends: [['up', 1]] }), edge: { compression } }] }, [
      cluster('up', [port]),
    ]),
  );
}

const defaults: CompressionIR = { from: 'p', algorithms: ['br', 'gzip'], minBytes: 1024 };

test('compresses with brotli when the client accepts it, with Vary and a weakened ETag', async () => {
  apply(defaults);
  const res = await request(`${gateway.url}/json`, { headers: { 'accept-encoding': 'gzip, br' } });
  expect(res.headers['content-encoding']).toBe('br');
  expect(res.headers['content-length']).toBeUndefined();
  expect(res.headers.vary).toBe('Accept-Encoding');
  expect(res.headers.etag).toBe('W/"v1"');
  const body = Buffer.from(await res.body.arrayBuffer());
  expect(body.length).toBeLessThan(BIG_JSON.length);
  expect(brotliDecompressSync(body).toString()).toBe(BIG_JSON);
});

test("follows the client's q-values, and the policy's algorithm list", async () => {
  apply(defaults);
  const gz = await request(`${gateway.url}/json`, { headers: { 'accept-encoding': 'br;q=0.5, gzip' } });
  expect(gz.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(Buffer.from(await gz.body.arrayBuffer())).toString()).toBe(BIG_JSON);
  apply({ ...defaults, algorithms: ['gzip'] });
  const onlyGzip = await request(`${gateway.url}/json`, { headers: { 'accept-encoding': 'br' } });
  expect(onlyGzip.headers['content-encoding']).toBeUndefined();
  expect(await onlyGzip.body.text()).toBe(BIG_JSON);
});

test('sends the body as it is without Accept-Encoding, for small bodies and for non-compressible types', async () => {
  apply(defaults);
  const plain = await request(`${gateway.url}/json`);
  expect(plain.headers['content-encoding']).toBeUndefined();
  expect(plain.headers.vary).toBe('Accept-Encoding');
  expect(await plain.body.text()).toBe(BIG_JSON);
  const small = await request(`${gateway.url}/small`, { headers: { 'accept-encoding': 'gzip' } });
  expect(small.headers['content-encoding']).toBeUndefined();
  expect(await small.body.text()).toBe('small');
  const png = await request(`${gateway.url}/png`, { headers: { 'accept-encoding': 'gzip' } });
  expect(png.headers['content-encoding']).toBeUndefined();
  expect((await png.body.arrayBuffer()).byteLength).toBe(4096);
});

test('never re-encodes an encoded body, nor one marked no-transform', async () => {
  apply(defaults);
  const encoded = await request(`${gateway.url}/encoded`, { headers: { 'accept-encoding': 'br' } });
  expect(encoded.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(Buffer.from(await encoded.body.arrayBuffer())).toString()).toBe('already');
  const kept = await request(`${gateway.url}/no-transform`, { headers: { 'accept-encoding': 'br' } });
  expect(kept.headers['content-encoding']).toBeUndefined();
  expect(await kept.body.text()).toBe('t'.repeat(4096));
});

test('only compresses the listed content types when the policy lists them', async () => {
  apply({ ...defaults, contentTypes: ['text/*'] });
  const json = await request(`${gateway.url}/json`, { headers: { 'accept-encoding': 'gzip' } });
  expect(json.headers['content-encoding']).toBeUndefined();
  await json.body.dump();
});

test('flushes each event of a compressed event stream as it arrives', async () => {
  apply({ ...defaults, minBytes: 0 });
  const res = await request(`${gateway.url}/events`, { headers: { 'accept-encoding': 'gzip' } });
  expect(res.headers['content-encoding']).toBe('gzip');
  const gunzip = createGunzip();
  let text = '';
  gunzip.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  res.body.pipe(gunzip);
  // The upstream has not finished: the first event must come through on its own.
  await waitFor(() => text.includes('data: first'), { what: 'the first event', timeoutMs: 5000 });
  expect(text).not.toContain('last');
  releaseStream?.();
  await new Promise((resolve) => gunzip.on('end', resolve));
  expect(text).toBe('data: first\n\ndata: last\n\n');
});
