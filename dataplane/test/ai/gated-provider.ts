// A provider in front of a mock that answers only when the test says so (or after a fixed delay):
// how tests make a provider busy or slow without racing the clock.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockProvider } from '@tollgate/testkit';

export interface GatedProvider {
  readonly baseURL: string;
  /** Requests received so far (held or answered). */
  received: number;
  /** Answers every held request, and the next ones at once. */
  open(): void;
  close(): Promise<void>;
}

/** `delayMs` undefined ⇒ requests are held until open(); a number ⇒ each waits that long. */
export async function startGatedProvider(target: MockProvider, delayMs?: number): Promise<GatedProvider> {
  const origin = new URL(target.baseURL).origin;
  const basePath = new URL(target.baseURL).pathname;
  let opened = false;
  const held: Array<() => void> = [];
  const gate = (): Promise<void> => {
    if (delayMs !== undefined) return new Promise((r) => setTimeout(r, delayMs));
    if (opened) return Promise.resolve();
    return new Promise((r) => held.push(r));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      provider.received++;
      await gate();
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection')
          headers[k] = v;
      try {
        const upstream = await fetch(`${origin}${req.url}`, {
          method: req.method ?? 'POST',
          headers,
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await upstream.arrayBuffer());
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
          'content-length': body.length,
        });
        res.end(body);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const provider: GatedProvider = {
    baseURL: `http://127.0.0.1:${port}${basePath}`,
    received: 0,
    open() {
      opened = true;
      for (const release of held.splice(0)) release();
    },
    async close() {
      provider.open();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return provider;
}
