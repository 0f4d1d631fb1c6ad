// The data plane's admin port: liveness, readiness (only once a snapshot is active, and not
// while draining), Prometheus metrics and the active configuration.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Snapshot } from '@tollgate/snapshot';
import type { Registry } from 'prom-client';
import { type ConfigDump, redactSnapshot } from './config-dump.ts';

export interface AdminState {
  ready(): boolean;
  draining(): boolean;
  active(): { snapshot: Snapshot; appliedAt: Date } | undefined;
  /** Upstream endpoint health, circuits and load (GET /upstreams). */
  upstreams?(): unknown;
  /** GET /budgets: every budget key of the current periods (spent, reserved, limit, period end). */
  budgets?(): Promise<unknown>;
  /** GET /usage: top consumers, models, providers or routes over a window (see observability/usage.ts). */
  usage?(params: URLSearchParams): { status: number; body: unknown };
  /** GET /ai_providers: health-check state of the AI providers that have a health check. */
  aiProviders?(): unknown[];
}

export class AdminServer {
  readonly #server: Server;

  constructor(state: AdminState, registry: Registry) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const json = (code: number, body: unknown): void => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify(body, null, 2)}\n`);
      };
      switch (path) {
        case '/healthz':
          return json(200, { status: 'ok' });
        case '/readyz': {
          const ready = state.ready();
          const status = ready ? 'ready' : state.draining() ? 'draining' : 'waiting for the first snapshot';
          return json(ready ? 200 : 503, {
            ready,
            status,
            version: state.active()?.snapshot.version ?? null,
          });
        }
        case '/metrics':
          registry.metrics().then(
            (text) => {
              res.writeHead(200, { 'content-type': registry.contentType });
              res.end(text);
            },
            (error: Error) => json(500, { error: { code: 'TG_ERR_INTERNAL', message: error.message } }),
          );
          return;
        case '/usage': {
          if (!state.usage)
            return json(404, { error: { code: 'TG_ERR_NOT_FOUND', message: 'usage is not recorded' } });
          const answer = state.usage(new URL(req.url ?? '/', 'http://admin').searchParams);
          return json(answer.status, answer.body);
        }
        case '/upstreams':
          return json(200, state.upstreams?.() ?? { clusters: [] });
        case '/budgets':
          if (!state.budgets) return json(200, { budgets: [] });
          state.budgets().then(
            (body) => json(200, body),
            (error: Error) =>
              json(503, { error: { code: 'TG_ERR_BUDGET_UNAVAILABLE', message: error.message } }),
          );
          return;
        case '/config_dump': {
          const active = state.active();
          const dump: ConfigDump = {
            version: active?.snapshot.version ?? null,
            appliedAt: active?.appliedAt.toISOString() ?? null,
            snapshot: active ? redactSnapshot(active.snapshot) : null,
          };
          return json(200, dump);
        }
        case '/ai_providers':
          return json(200, { providers: state.aiProviders?.() ?? [] });
        default:
          return json(404, { error: { code: 'TG_ERR_NOT_FOUND', message: `no admin endpoint ${path}` } });
      }
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      // exclusive: in a `--workers` data plane each worker's admin port is its own, not shared.
      this.#server.listen({ port, host, exclusive: true }, () => {
        this.#server.off('error', reject);
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }
}
