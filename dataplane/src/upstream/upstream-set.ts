// The clusters of one snapshot, bound to the shared pools.
import type { ClusterIR } from '@tollgate/snapshot';
import type { Dispatcher } from 'undici';
import { RoundRobin } from './balancer.ts';
import type { EndpointSpec, PoolRegistry } from './pools.ts';

export interface UpstreamEndpoint {
  /** "host:port", for logs and error messages. */
  readonly address: string;
  readonly pool: Dispatcher;
  readonly zone: string | undefined;
}

export interface UpstreamCluster {
  readonly id: string;
  readonly ir: ClusterIR;
  /** The Host header to send instead of the client's (static URL backends). */
  readonly authority: string | undefined;
  readonly endpointCount: number;
  /** Round robin over the endpoints; undefined when the cluster has none. */
  next(): UpstreamEndpoint | undefined;
}

export class UpstreamSet {
  readonly #clusters = new Map<string, UpstreamCluster>();
  readonly #registry: PoolRegistry;
  readonly #keys: string[] = [];
  #released = false;

  /** Acquires a pool per endpoint; call `release()` when no request can use this set any more. */
  constructor(clusters: readonly ClusterIR[], registry: PoolRegistry) {
    this.#registry = registry;
    try {
      for (const ir of clusters) {
        if (this.#clusters.has(ir.id)) throw new Error(`cluster ${ir.id} is defined twice`);
        const servername = ir.tls && ir.authority ? stripPort(ir.authority) : undefined;
        const endpoints = ir.endpoints.map((ep): UpstreamEndpoint => {
          const spec: EndpointSpec = { host: ep.host, port: ep.port, tls: ir.tls, servername };
          const { key, pool } = registry.acquire(spec);
          this.#keys.push(key);
          return { address: `${ep.host}:${ep.port}`, pool, zone: ep.zone };
        });
        const rr = new RoundRobin(endpoints);
        this.#clusters.set(ir.id, {
          id: ir.id,
          ir,
          authority: ir.authority,
          endpointCount: endpoints.length,
          next: () => rr.pick(),
        });
      }
    } catch (error) {
      this.release();
      throw error;
    }
  }

  get(id: string): UpstreamCluster | undefined {
    return this.#clusters.get(id);
  }

  /** Gives the pools back to the registry, which closes those no other set uses. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    for (const key of this.#keys) this.#registry.release(key);
  }
}

function stripPort(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const colon = authority.lastIndexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}
