// The HTTP side every mock provider shares: request recording, scripted faults, clean shutdown.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MockFault, RecordedRequest } from './types.ts';

export interface MockExchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: Record<string, unknown> | undefined;
  /** The body as received (for bodies that are not JSON, such as OAuth token forms). */
  text: string;
  /** A `stream-error` fault applies to this request. */
  streamError: string | undefined;
  /** A `stream-cut` fault applies: events to send before cutting the connection. */
  cutAfter: number | undefined;
}

export interface MockServerHooks {
  /** The provider's error body for a status fault (the mock writes status and headers). */
  errorBody(status: number, message: string): string;
  handle(exchange: MockExchange): Promise<void> | void;
  /** Requests scripted faults never apply to (an OAuth token endpoint beside the model API). */
  faultFree?(url: URL): boolean;
}

export interface MockServer {
  port: number;
  requests: RecordedRequest[];
  enqueue(...faults: MockFault[]): void;
  close(): Promise<void>;
}

export async function startMockServer(port: number, hooks: MockServerHooks): Promise<MockServer> {
  const requests: RecordedRequest[] = [];
  const faults: MockFault[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Record<string, unknown> | undefined;
      try {
        const parsed = text ? (JSON.parse(text) as unknown) : undefined;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          body = parsed as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers }, body });
      const url = new URL(req.url ?? '/', 'http://mock');
      const fault = req.method === 'POST' && !hooks.faultFree?.(url) ? faults.shift() : undefined;
      if (fault?.kind === 'hang') return;
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        const payload =
          fault.body !== undefined
            ? JSON.stringify(fault.body)
            : hooks.errorBody(fault.status, fault.message ?? `mock error ${fault.status}`);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
        res.writeHead(fault.status, headers);
        res.end(payload);
        return;
      }
      const streamError = fault?.kind === 'stream-error' ? (fault.message ?? 'Overloaded') : undefined;
      const cutAfter = fault?.kind === 'stream-cut' ? fault.afterEvents : undefined;
      Promise.resolve(hooks.handle({ req, res, url, body, text, streamError, cutAfter })).catch(
        (error: Error) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
          res.end(hooks.errorBody(500, error.message));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    enqueue: (...more) => faults.push(...more),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
