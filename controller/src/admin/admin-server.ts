// The controller's admin port: health, readiness (only once the first snapshot exists),
// Prometheus metrics, and the status of every object (what `tollgate status` prints; in
// Kubernetes mode the same conditions also land in each object's status).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ControllerStatus } from '../controller.ts';

export interface AdminServerOptions {
  status: () => ControllerStatus;
  registry: Registry;
}

export class ControllerAdminServer {
  readonly #server: Server;

  constructor({ status, registry }: AdminServerOptions) {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://admin');
      const json = (code: number, body: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(body, null, 2)}\n`);
      };
      switch (url.pathname) {
        case '/healthz':
          return json(200, { status: 'ok' });
        case '/readyz': {
          const { ready, version } = status();
          return json(ready ? 200 : 503, { ready, version: version ?? null });
        }
        case '/status':
          return json(200, status());
        case '/metrics':
          registry.metrics().then(
            (text) => {
              res.writeHead(200, { 'content-type': registry.contentType });
              res.end(text);
            },
            (error: Error) => json(500, { error: error.message }),
          );
          return;
        default:
          return json(404, {
            error: { code: 'TG_ERR_NOT_FOUND', message: `no admin endpoint ${url.pathname}` },
          });
      }
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
