// The HTTPS listener: TLS termination with certificates chosen by SNI from the active snapshot,
// ALPN "h2" and "http/1.1" on one port (node:http2 with allowHTTP1). HTTP/2 requests reach the
// same proxy handlers as HTTP/1.1 ones through the http2 compatibility API; upstreams stay
// HTTP/1.1. Certificates rotate by swapping the set the SNI callback reads: new handshakes see
// the new certificate, open connections and streams are not touched.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { TlsIR } from '@tollgate/snapshot';
import { CertificateSet } from './certificates.ts';
import { type ConnectionLimit, limitConnectionsPerIP } from './connection-limit.ts';
import { adaptHttp2Request } from './http2-request.ts';
import { Http2Sessions } from './sessions.ts';

export interface SecureListenerOptions {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Idle time before a client connection is closed. */
  keepAliveMs: number;
  maxConnectionsPerIP?: number;
  onConnectionRefused?(address: string): void;
}

export class SecureListener {
  readonly #server: Http2SecureServer;
  readonly #sessions: Http2Sessions;
  readonly #sockets = new Set<Socket>();
  readonly limit: ConnectionLimit | undefined;
  #certificates = new CertificateSet(undefined);

  constructor(options: SecureListenerOptions) {
    this.#server = createSecureServer({
      allowHTTP1: true,
      // Every handshake asks for the current set: rotation is a field assignment.
      SNICallback: (servername, callback) => {
        const chosen = this.#certificates.select(servername);
        if (chosen) callback(null, chosen.context);
        else callback(new Error('no certificate configured for this listener'));
      },
    });
    // Idle connections close after keepAliveMs. HTTP/1.1: node:http's keep-alive timer, which only
    // runs between requests. HTTP/2: see sessions.ts.
    const keepAliveMs = options.keepAliveMs;
    (this.#server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = keepAliveMs;
    this.#server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      if (req.httpVersionMajor === 2) adaptHttp2Request(req);
      options.request(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      options.upgrade(req, socket, head),
    );
    this.#sessions = new Http2Sessions(this.#server, keepAliveMs);
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // Handshakes that fail (bad client, no certificate) are the client's problem, not ours.
    this.#server.on('tlsClientError', () => {});
    this.limit =
      options.maxConnectionsPerIP !== undefined
        ? limitConnectionsPerIP(this.#server, options.maxConnectionsPerIP, options.onConnectionRefused)
        : undefined;
  }

  /** Compiles a snapshot's certificates; throws when one does not load (the snapshot is rejected). */
  compile(tls: TlsIR | undefined): CertificateSet {
    return new CertificateSet(tls, this.#certificates);
  }

  /** Makes `certificates` the ones new handshakes get. */
  install(certificates: CertificateSet): void {
    this.#certificates = certificates;
    // Clients that send no SNI name get the server's own context: keep it the default certificate.
    const fallback = certificates.default;
    if (fallback) this.#server.setSecureContext({ cert: fallback.certPem, key: fallback.keyPem });
  }

  get certificates(): CertificateSet {
    return this.#certificates;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting; HTTP/2 sessions get a GOAWAY and finish their open streams. */
  stopAccepting(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
    this.#sessions.close();
    return closed;
  }

  /** Cuts every connection still open (the drain deadline passed, or nothing is in flight). */
  closeAll(): void {
    this.#sessions.destroy();
    for (const socket of this.#sockets) socket.destroy();
  }
}
