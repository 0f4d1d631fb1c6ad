// Connection pools, one per upstream endpoint, shared by every snapshot that uses the endpoint.
// A snapshot swap keeps the pools (and their warm keep-alive connections) of endpoints that are
// still there; a pool no live snapshot references is closed once its in-flight requests finish.
import { Pool } from 'undici';
import { ClusterStates } from './cluster-state.ts';

export interface PoolSettings {
  /** Upper bound on connections per endpoint. */
  connections: number;
  /** Idle keep-alive connections are closed after this (the upstream's own keep-alive hint wins when shorter). */
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  connections: 128,
  keepAliveTimeoutMs: 30_000,
  connectTimeoutMs: 5_000,
};

export interface EndpointSpec {
  host: string;
  port: number;
  tls: boolean;
  /** TLS server name, when it differs from the endpoint host (a static URL's authority). */
  servername?: string | undefined;
  /** A cluster's own connect timeout (Policy timeouts.connect); default: the registry's. */
  connectTimeoutMs?: number | undefined;
  /** A cluster's own connection cap (Policy circuitBreaker.maxConnections); default: the registry's. */
  connections?: number | undefined;
}

export function endpointOrigin({ host, port, tls }: EndpointSpec): string {
  const bracketed = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${bracketed}:${port}`;
}

/** Two specs share a pool exactly when their keys are equal. */
export function endpointKey(spec: EndpointSpec): string {
  const origin = endpointOrigin(spec);
  let key = spec.tls && spec.servername ? `${origin}#${spec.servername}` : origin;
  // Clusters with their own pool settings get their own pools.
  if (spec.connectTimeoutMs !== undefined) key += `;connect=${spec.connectTimeoutMs}`;
  if (spec.connections !== undefined) key += `;connections=${spec.connections}`;
  return key;
}

interface PoolEntry {
  pool: Pool;
  refs: number;
}

export class PoolRegistry {
  readonly #settings: PoolSettings;
  readonly #pools = new Map<string, PoolEntry>();
  readonly #closing = new Set<Pool>();
  #created = 0;
  /** Endpoint health, circuits and limits per cluster: they live as long as the pools do. */
  readonly clusters = new ClusterStates();

  constructor(settings: Partial<PoolSettings> = {}) {
    this.#settings = { ...DEFAULT_POOL_SETTINGS, ...settings };
  }

  /** The endpoint's pool (created on first use); each acquire needs one matching release. */
  acquire(spec: EndpointSpec): { key: string; pool: Pool } {
    const key = endpointKey(spec);
    let entry = this.#pools.get(key);
    if (!entry) {
      entry = { pool: this.#createPool(spec), refs: 0 };
      this.#pools.set(key, entry);
      this.#created++;
    }
    entry.refs++;
    return { key, pool: entry.pool };
  }

  release(key: string): void {
    const entry = this.#pools.get(key);
    if (!entry) return;
    entry.refs--;
    if (entry.refs > 0) return;
    this.#pools.delete(key);
    // close() lets queued and in-flight requests finish, then closes the connections.
    const { pool } = entry;
    this.#closing.add(pool);
    pool
      .close()
      .catch(() => {})
      .finally(() => this.#closing.delete(pool));
  }

  /** The connect timeout of pools whose endpoint sets none. */
  get connectTimeoutMs(): number {
    return this.#settings.connectTimeoutMs;
  }

  /** Keys of the pools currently open. */
  keys(): string[] {
    return [...this.#pools.keys()];
  }

  /** Pools created since start: stays flat across swaps that keep the same endpoints. */
  get createdCount(): number {
    return this.#created;
  }

  /**
   * Closes every pool, including those already closing: gracefully, or at once (in-flight
   * requests fail) when `force`.
   */
  async closeAll(force = false): Promise<void> {
    this.clusters.stopAll();
    for (const { pool } of this.#pools.values()) this.#closing.add(pool);
    this.#pools.clear();
    const pools = [...this.#closing];
    await Promise.all(pools.map((pool) => (force ? pool.destroy() : pool.close()).catch(() => {})));
  }

  #createPool(spec: EndpointSpec): Pool {
    const { keepAliveTimeoutMs } = this.#settings;
    const connections = spec.connections ?? this.#settings.connections;
    const connectTimeoutMs = spec.connectTimeoutMs ?? this.#settings.connectTimeoutMs;
    return new Pool(endpointOrigin(spec), {
      connections,
      // One request at a time per connection: HTTP/1.1 pipelining is head-of-line blocking and
      // unsafe for non-idempotent requests.
      pipelining: 1,
      keepAliveTimeout: keepAliveTimeoutMs,
      keepAliveMaxTimeout: keepAliveTimeoutMs,
      connect: {
        timeout: connectTimeoutMs,
        ...(spec.tls && spec.servername ? { servername: spec.servername } : {}),
      },
    });
  }
}
