// The HTTP response cache through a real data plane: Cache-Control honoured, Vary variants,
// 304s to revalidating clients, the policy's ttl as default and cap, memory bounded by bytes.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResponseCacheIR } from '@tollgate/snapshot';
import CachePolicy from 'http-cache-semantics';
import { request } from 'undici';
import { ResponseCacheStore } from '../../src/response/index.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let upstream: Server;
let gateway: RunningDataplane;
const hits = new Map<string, number>();
let version = 1;
let conditionalSeen = 0;

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(req.url ?? '', (hits.get(req.url ?? '') ?? 0) + 1);
    const body = `${req.url} v${version} ${String(req.headers['accept-language'] ?? '')}`;
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    if (path === '/public') Object.assign(headers, { 'cache-control': 'max-age=60', etag: `"v${version}"` });
    if (path === '/no-store') headers['cache-control'] = 'no-store';
    if (path === '/private') headers['cache-control'] = 'private, max-age=60';
    if (path === '/vary') Object.assign(headers, { 'cache-control': 'max-age=60', vary: 'Accept-Language' });
    if (path === '/dated') headers['last-modified'] = 'Wed, 01 Jan 2025 00:00:00 GMT';
    if (path === '/long') headers['cache-control'] = 'max-age=86400';
    if (path === '/validated') {
      Object.assign(headers, { 'cache-control': 'max-age=1', etag: '"stable"' });
      if (req.headers['if-none-match'] === '"stable"') {
        conditionalSeen++;
        res.writeHead(304, { etag: '"stable"', 'cache-control': 'max-age=60' });
        return res.end();
      }
    }
    res.writeHead(200, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  gateway = await startDataplane();
  apply({ from: 'p', ttlMs: 60_000, maxEntryBytes: 1024 * 1024, perConsumer: false });
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

function apply(cache: ResponseCacheIR): void {
  const port = (upstream.address() as AddressInfo).port;
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [{ ...entry('c', { backends: [['up', 1]] }), edge: { cache } }] }, [
      cluster('up', [port]),
    ]),
  );
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(`${gateway.url}${path}`, { headers });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

test('serves a fresh response from the cache: the upstream is asked once', async () => {
  const first = await get('/public?a=1');
  const second = await get('/public?a=1');
  expect(first.headers['x-tollgate-cache']).toBe('MISS');
  expect(second.headers['x-tollgate-cache']).toBe('HIT');
  expect(second.body).toBe(first.body);
  expect(second.headers.etag).toBe('"v1"');
  expect(second.headers.age).toBeDefined();
  expect(hits.get('/public?a=1')).toBe(1);
  // Another query string is another resource.
  await get('/public?a=2');
  expect(hits.get('/public?a=2')).toBe(1);
});

test('answers 304 to a client revalidating with If-None-Match or If-Modified-Since', async () => {
  await get('/public?r=1');
  const byTag = await get('/public?r=1', { 'if-none-match': '"v1"' });
  expect(byTag.status).toBe(304);
  expect(byTag.body).toBe('');
  const changed = await get('/public?r=1', { 'if-none-match': '"v0"' });
  expect(changed.status).toBe(200);
  await get('/dated');
  const byDate = await get('/dated', { 'if-modified-since': 'Thu, 02 Jan 2025 00:00:00 GMT' });
  expect(byDate.status).toBe(304);
  expect(hits.get('/public?r=1')).toBe(1);
});

test('never stores no-store or private responses', async () => {
  await get('/no-store');
  await get('/no-store');
  expect(hits.get('/no-store')).toBe(2);
  await get('/private');
  await get('/private');
  expect(hits.get('/private')).toBe(2);
});

test('keeps one variant per value of the Vary headers', async () => {
  const en = await get('/vary', { 'accept-language': 'en' });
  const fr = await get('/vary', { 'accept-language': 'fr' });
  expect(fr.body).toContain('fr');
  expect((await get('/vary', { 'accept-language': 'en' })).body).toBe(en.body);
  expect((await get('/vary', { 'accept-language': 'fr' })).headers['x-tollgate-cache']).toBe('HIT');
  expect(hits.get('/vary')).toBe(2);
});

test('caches a response that states no lifetime for the policy ttl, and honours a client no-cache', async () => {
  await get('/plain');
  expect((await get('/plain')).headers['x-tollgate-cache']).toBe('HIT');
  expect(hits.get('/plain')).toBe(1);
  await get('/plain', { 'cache-control': 'no-cache' });
  expect(hits.get('/plain')).toBe(2);
});

test('does not cache requests carrying credentials unless the response says public', async () => {
  await get('/public?auth=1', { authorization: 'Bearer x' });
  await get('/public?auth=1', { authorization: 'Bearer x' });
  expect(hits.get('/public?auth=1')).toBe(2);
});

test('revalidates a stale entry with the upstream; its 304 renews the entry and the client gets the body', async () => {
  const first = await get('/validated');
  expect(first.headers['x-tollgate-cache']).toBe('MISS');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const revalidated = await get('/validated');
  expect(conditionalSeen).toBe(1);
  expect(revalidated.status).toBe(200);
  expect(revalidated.headers['x-tollgate-cache']).toBe('REVALIDATED');
  expect(revalidated.body).toBe(first.body);
  // The 304's max-age=60 renewed the entry.
  const after = await get('/validated');
  expect(after.headers['x-tollgate-cache']).toBe('HIT');
  expect(hits.get('/validated')).toBe(2);
});

test('counts hits, misses and revalidations, and the bytes it holds, on the metrics port', async () => {
  const text = await gateway.dataplane.metrics.registry.metrics();
  expect(text).toMatch(/tollgate_response_cache_lookups_total\{result="hit"\} [1-9]/);
  expect(text).toMatch(/tollgate_response_cache_lookups_total\{result="miss"\} [1-9]/);
  expect(text).toMatch(/tollgate_response_cache_lookups_total\{result="revalidated"\} 1/);
  expect(text).toMatch(/tollgate_response_cache_bytes [1-9]/);
});

test('evicts the least recently used entries to stay within its byte budget', () => {
  const store = new ResponseCacheStore(1000);
  const policy = new CachePolicy({ method: 'GET', url: '/', headers: {} }, { status: 200, headers: {} });
  const put = (key: string) =>
    store.set(key, { policy, status: 200, body: Buffer.alloc(300), variant: '', bytes: 300 });
  put('a');
  put('b');
  put('c');
  store.get('a');
  put('d');
  expect(store.get('b')).toBeUndefined();
  expect(store.get('a')).toBeDefined();
  expect(store.stats().bytes).toBeLessThanOrEqual(1000);
  store.set('huge', { policy, status: 200, body: Buffer.alloc(2000), variant: '', bytes: 2000 });
  expect(store.get('huge')).toBeUndefined();
});

test('cuts a stated lifetime longer than the ttl down to it: a day-long max-age expires with the ttl', async () => {
  apply({ from: 'p', ttlMs: 1000, maxEntryBytes: 1024 * 1024, perConsumer: false });
  const first = await get('/long');
  version = 2;
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const later = await get('/long');
  expect(later.body).not.toBe(first.body);
  expect(hits.get('/long')).toBe(2);
});
