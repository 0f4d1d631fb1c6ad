// The clusters of one snapshot, bound to the shared pools and to the per-process cluster states
// (health, circuits, limits), each with its endpoint load balancer compiled once.
import type { IncomingHttpHeaders } from 'node:http';
import type { ClusterIR, LoadBalancerIR } from '@tollgate/snapshot';
import type { Dispatcher } from 'undici';
import type { ClusterState } from './cluster-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import type { ProbeTarget } from './health-checker.ts';
import { AvailabilityBalancer, BALANCERS, type PickContext } from './load-balancers.ts';
import { type EndpointSpec, endpointOrigin, type PoolRegistry } from './pools.ts';

export interface UpstreamEndpoint {
  /** "host:port", for logs and error messages. */
  readonly address: string;
  readonly pool: Dispatcher;
  readonly zone: string | undefined;
  readonly state: EndpointState;
}

/** What a consistent-hash key may come from. */
export interface HashSource {
  headers: IncomingHttpHeaders;
  query: string | undefined;
  clientIP: string | undefined;
}

export interface UpstreamCluster {
  readonly id: string;
  readonly ir: ClusterIR;
  /** The Host header to send instead of the client's (static URL backends). */
  readonly authority: string | undefined;
  readonly endpointCount: number;
  readonly state: ClusterState;
  /** The connect timeout of the cluster's pools (its Policy's, or the data plane's default). */
  readonly connectTimeoutMs: number;
  /** The next endpoint by the cluster's balancer, ignoring any hash key. */
  next(): UpstreamEndpoint | undefined;
  /** Whether `pick` reads a hash key (consistent hashing); otherwise `next()` is the same. */
  readonly hashes: boolean;
  /** The endpoint for a request (consistent hashing reads its key from `source`). */
  pick(source: HashSource): UpstreamEndpoint | undefined;
}

const DEFAULT_BALANCER: LoadBalancerIR = { type: 'RoundRobin', panicThresholdPercent: 50 };
const NO_KEY: PickContext = {};

export class UpstreamSet {
  readonly #clusters = new Map<string, UpstreamCluster>();
  readonly #registry: PoolRegistry;
  readonly #keys: string[] = [];
  readonly #stateIds: string[] = [];
  /** Settings to hand to the shared cluster states once the snapshot is known to be good. */
  readonly #pending: Array<() => void> = [];
  /** Holders of this set (generations that share it because their clusters are the same). */
  #holders = 1;
  #released = false;

  /**
   * Acquires a pool per endpoint; every holder (the creator, and each `retain()`) calls `release()`
   * once when no request of its own can use this set any more.
   */
  constructor(clusters: readonly ClusterIR[], registry: PoolRegistry) {
    this.#registry = registry;
    try {
      for (const ir of clusters) {
        if (this.#clusters.has(ir.id)) throw new Error(`cluster ${ir.id} is defined twice`);
        this.#clusters.set(ir.id, this.#compile(ir));
      }
    } catch (error) {
      this.release();
      throw error;
    }
  }

  #compile(ir: ClusterIR): UpstreamCluster {
    const registry = this.#registry;
    const state = registry.clusters.acquire(ir.id);
    this.#stateIds.push(ir.id);
    const servername = ir.tls && ir.authority ? stripPort(ir.authority) : undefined;
    const resilience = ir.resilience;
    const probeTargets: ProbeTarget[] = [];
    const endpoints = ir.endpoints.map((ep): UpstreamEndpoint => {
      const spec: EndpointSpec = {
        host: ep.host,
        port: ep.port,
        tls: ir.tls,
        servername,
        connectTimeoutMs: resilience?.connectTimeoutMs,
        connections: resilience?.limits?.maxConnections,
      };
      const { key, pool } = registry.acquire(spec);
      this.#keys.push(key);
      const address = `${ep.host}:${ep.port}`;
      const endpointState = state.endpoint(address);
      probeTargets.push({ state: endpointState, origin: endpointOrigin(spec), servername });
      return { address, pool, zone: ep.zone, state: endpointState };
    });
    this.#pending.push(() => state.configure(ir, probeTargets));
    const lb = resilience?.loadBalancer ?? DEFAULT_BALANCER;
    const balancer = new AvailabilityBalancer(
      endpoints,
      BALANCERS[lb.type],
      lb.panicThresholdPercent,
      () => state.version,
    );
    const hashKey = compileHashKey(lb);
    return {
      id: ir.id,
      ir,
      authority: ir.authority,
      endpointCount: endpoints.length,
      state,
      connectTimeoutMs: resilience?.connectTimeoutMs ?? registry.connectTimeoutMs,
      next: () => balancer.pick(NO_KEY),
      hashes: hashKey !== undefined,
      pick: hashKey ? (source) => balancer.pick({ hashKey: hashKey(source) }) : () => balancer.pick(NO_KEY),
    };
  }

  /**
   * Applies this snapshot's health checks, outlier detection and limits to the shared cluster
   * states. Called once the whole snapshot compiled: a rejected snapshot changes nothing.
   */
  activate(): void {
    for (const apply of this.#pending.splice(0)) apply();
  }

  get(id: string): UpstreamCluster | undefined {
    return this.#clusters.get(id);
  }

  /** One more holder: a generation whose clusters are the very ones this set was built from. */
  retain(): this {
    if (this.#released) throw new Error('cannot retain an upstream set that was released');
    this.#holders++;
    return this;
  }

  /**
   * A holder is done with the set; once the last one is, the pools go back to the registry, which
   * closes those no other set uses. Does nothing once the set is released.
   */
  release(): void {
    if (this.#released) return;
    if (--this.#holders > 0) return;
    this.#released = true;
    for (const key of this.#keys) this.#registry.release(key);
    for (const id of this.#stateIds) this.#registry.clusters.release(id);
  }
}

function compileHashKey(lb: LoadBalancerIR): ((source: HashSource) => string | undefined) | undefined {
  if ((lb.type !== 'RingHash' && lb.type !== 'Maglev') || !lb.hashOn) return undefined;
  const { source, name = '' } = lb.hashOn;
  switch (source) {
    case 'header':
      return ({ headers }) => {
        const value = headers[name];
        return Array.isArray(value) ? value.join(',') : value;
      };
    case 'cookie':
      return ({ headers }) => cookieValue(headers.cookie, name);
    case 'query':
      return ({ query }) =>
        query === undefined ? undefined : (new URLSearchParams(query).get(name) ?? undefined);
    case 'clientIP':
      return ({ clientIP }) => clientIP;
  }
}

/** The value of one cookie in a Cookie header, without parsing the others. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function stripPort(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(1, authority.indexOf(']'));
  const colon = authority.lastIndexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}
