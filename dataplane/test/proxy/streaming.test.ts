// Bodies stream through in both directions, with backpressure, and a client that leaves aborts
// the upstream request.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

const MiB = 1024 * 1024;

/** Deterministic bytes: chunk i is filled with (i % 251). */
function chunkAt(i: number, size = 64 * 1024): Buffer {
  return Buffer.alloc(size, i % 251);
}

function expectedDigest(chunks: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < chunks; i++) hash.update(chunkAt(i));
  return hash.digest('hex');
}

interface StreamingUpstream {
  port: number;
  /** Download state: bytes written so far and whether the last write hit backpressure. */
  download: { written: number; blocked: boolean; closedEarly: boolean };
  slowRequestClosed: boolean;
  close(): Promise<void>;
}

async function startStreamingUpstream(): Promise<StreamingUpstream> {
  const state: StreamingUpstream = {
    port: 0,
    download: { written: 0, blocked: false, closedEarly: false },
    slowRequestClosed: false,
    close: async () => {},
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/upload') {
      // Hashes the body as it arrives and reports what it saw.
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            bytes,
            sha256: hash.digest('hex'),
            chunked: req.headers['transfer-encoding'] === 'chunked',
          }),
        );
      });
      return;
    }
    if (url.pathname === '/download') {
      // Writes `chunks` chunks, honouring backpressure, and records how far it got.
      const chunks = Number(url.searchParams.get('chunks'));
      const download = { written: 0, blocked: false, closedEarly: false };
      state.download = download;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let i = 0;
      const pump = (): void => {
        while (i < chunks) {
          const chunk = chunkAt(i++);
          download.written += chunk.length;
          if (!res.write(chunk)) {
            download.blocked = true;
            res.once('drain', () => {
              download.blocked = false;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      res.on('close', () => {
        if (!res.writableFinished) download.closedEarly = true;
      });
      pump();
      return;
    }
    if (url.pathname === '/slow') {
      state.slowRequestClosed = false;
      res.on('close', () => {
        state.slowRequestClosed = true;
      });
      return; // never answers
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

let upstream: StreamingUpstream;
let gateway: RunningDataplane;

beforeAll(async () => {
  upstream = await startStreamingUpstream();
  gateway = await startDataplane();
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [entry('stream', { backends: [['s', 1]] })] }, [cluster('s', [upstream.port])]),
  );
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

test('streams a large chunked upload to the upstream byte for byte', async () => {
  const chunks = 512; // 32 MiB
  const body = Readable.from(
    (function* () {
      for (let i = 0; i < chunks; i++) yield chunkAt(i);
    })(),
  );
  const response = await request(`${gateway.url}/upload`, { method: 'POST', body });
  expect(response.statusCode).toBe(200);
  expect(await response.body.json()).toEqual({
    bytes: chunks * 64 * 1024,
    sha256: expectedDigest(chunks),
    chunked: true,
  });
});

test('streams a large download to the client byte for byte', async () => {
  const chunks = 512;
  const response = await request(`${gateway.url}/download?chunks=${chunks}`);
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of response.body) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  expect(bytes).toBe(chunks * 64 * 1024);
  expect(hash.digest('hex')).toBe(expectedDigest(chunks));
});

test('a client that stops reading holds the upstream back instead of the gateway buffering the body', async () => {
  const chunks = 2048; // 128 MiB on offer
  const response = await request(`${gateway.url}/download?chunks=${chunks}`, { highWaterMark: 64 * 1024 });
  // Read nothing: the upstream must end up blocked on backpressure long before it has written it all.
  await waitFor(() => upstream.download.blocked && upstream.download.written > MiB, {
    what: 'upstream to hit backpressure',
  });
  await sleep(300);
  expect(upstream.download.blocked).toBe(true);
  expect(upstream.download.written).toBeLessThan(48 * MiB);
  // Reading resumes the flow to the end.
  let bytes = 0;
  for await (const chunk of response.body) bytes += (chunk as Buffer).length;
  expect(bytes).toBe(chunks * 64 * 1024);
});

test('a client that goes away mid-download aborts the upstream response', async () => {
  const controller = new AbortController();
  const response = await request(`${gateway.url}/download?chunks=4096`, { signal: controller.signal });
  await waitFor(() => upstream.download.blocked, { what: 'download in progress' });
  controller.abort();
  await response.body.dump().catch(() => {});
  await waitFor(() => upstream.download.closedEarly, { what: 'upstream response to be aborted' });
});

test('a client that goes away before the answer aborts the upstream request and is logged as 499', async () => {
  const controller = new AbortController();
  const pending = request(`${gateway.url}/slow`, {
    signal: controller.signal,
    headers: { 'x-request-id': 'gone-early' },
  });
  await waitFor(() => gateway.dataplane.inflight === 1, { what: 'request in flight' });
  await sleep(50);
  controller.abort();
  await expect(pending).rejects.toThrow();
  await waitFor(() => upstream.slowRequestClosed, { what: 'upstream request to be aborted' });
  const line = await waitFor(() => gateway.accessLogs().find((l) => l.requestId === 'gone-early'));
  expect(line).toMatchObject({ status: 499, errorCode: 'TG_ERR_CLIENT_CLOSED', route: 'stream' });
});
