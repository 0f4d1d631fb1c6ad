// HTTP/2 over cleartext with prior knowledge (h2c, RFC 9113 §3.3) on the plaintext listener: a
// connection that opens with the HTTP/2 preface is handed to an http2 server, anything else to
// node:http exactly as before. The first bytes are read once per connection, not per request.
// The HTTP/1.1 "Upgrade: h2c" dance is not offered (clients fall back to HTTP/1.1, which is
// correct); h2c clients in practice use prior knowledge.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { Socket } from 'node:net';
import { adaptHttp2Request } from './http2-request.ts';
import { Http2Sessions } from './sessions.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export class H2cAcceptor {
  readonly #h2: Http2Server;
  readonly #sessions: Http2Sessions;

  /** Takes over `server`'s connection handling; `request` serves HTTP/2 requests. */
  constructor(
    server: Server,
    request: (req: IncomingMessage, res: ServerResponse) => void,
    timeoutMs: number,
  ) {
    this.#h2 = createServer();
    this.#sessions = new Http2Sessions(this.#h2, timeoutMs);
    this.#h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      adaptHttp2Request(req);
      request(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
    // node:http's own connection listener; it serves everything that is not h2c.
    const http = server.listeners('connection').find((l) => l.name === 'connectionListener') as
      | ((socket: Socket) => void)
      | undefined;
    if (!http) throw new Error('node:http connection listener not found: h2c cannot be enabled');
    server.removeListener('connection', http);
    server.on('connection', (socket: Socket) => {
      if (socket.destroyed) return;
      socket.once('data', (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        const length = Math.min(first.length, PREFACE.length);
        if (first.subarray(0, length).equals(PREFACE.subarray(0, length)))
          this.#h2.emit('connection', socket);
        else http.call(server, socket);
        process.nextTick(() => socket.resume());
      });
    });
  }

  /** Drain: GOAWAY to every session; open streams finish. */
  close(): void {
    this.#sessions.close();
  }

  /** The drain deadline passed: cut what is left. */
  destroy(): void {
    this.#sessions.destroy();
  }
}
