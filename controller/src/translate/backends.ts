// backendRefs (and mirror targets) to clusters: a Service through its EndpointSlices, a static
// URL, or an AIProvider that made it into the snapshot. Failures come back as a reason and a
// message naming the missing object; the caller prefixes the field path.
import type { BackendRef, EndpointSlice, Service } from '@tollgate/api';
import type { ClusterIR, EndpointIR } from '@tollgate/snapshot';
import type { UsableProvider } from './ai-providers.ts';
import type { ObjectIndex } from './objects.ts';
import { compareStrings } from './order.ts';
import type { Reports } from './report.ts';
import { parseUpstreamURL } from './upstream-url.ts';

export type BackendResolution =
  | { ok: true; cluster: ClusterIR }
  | { ok: false; reason: 'BackendNotFound' | 'InvalidBackend'; message: string };

export interface BackendContext {
  index: ObjectIndex;
  reports: Reports;
  providers: ReadonlyMap<string, UsableProvider>;
}

/** Clusters met while compiling, by id; the snapshot keeps the ones its entries reference. */
export class ClusterRegistry {
  readonly #byId = new Map<string, ClusterIR>();

  add(cluster: ClusterIR): void {
    // Equal ids always describe equal clusters (the id names everything they are built from).
    if (!this.#byId.has(cluster.id)) this.#byId.set(cluster.id, cluster);
  }

  /** The clusters with these ids, sorted by id. */
  select(ids: Iterable<string>): ClusterIR[] {
    return [...new Set(ids)]
      .sort(compareStrings)
      .map((id) => this.#byId.get(id))
      .filter((cluster): cluster is ClusterIR => cluster !== undefined);
  }
}

/** `ref` must have passed the backendRef shape check (exactly one of name and url, port for Services). */
export function resolveBackend(
  ref: BackendRef,
  namespace: string,
  context: BackendContext,
): BackendResolution {
  if (ref.url !== undefined) return resolveURL(ref.url);
  if (ref.kind === 'AIProvider') return resolveAIProvider(ref.name!, namespace, context);
  return resolveService(ref.name!, ref.port!, namespace, context.index);
}

function resolveURL(text: string): BackendResolution {
  const parsed = parseUpstreamURL(text);
  if (!parsed.ok) return { ok: false, reason: 'InvalidBackend', message: `url ${parsed.problem}` };
  const { url } = parsed;
  return {
    ok: true,
    cluster: {
      id: `url/${url.origin}`,
      kind: 'url',
      tls: url.scheme === 'https',
      authority: url.authority,
      endpoints: [{ host: url.host, port: url.port }],
    },
  };
}

function resolveAIProvider(name: string, namespace: string, context: BackendContext): BackendResolution {
  const usable = context.providers.get(`${namespace}/${name}`);
  if (usable) return { ok: true, cluster: usable.cluster };
  const entry = context.index.get('AIProvider', namespace, name);
  if (!entry) {
    return {
      ok: false,
      reason: 'BackendNotFound',
      message: `AIProvider "${name}" not found in namespace "${namespace}"; create it or fix the name`,
    };
  }
  const why = context.reports.for({ ...entry.identity, kind: 'AIProvider' }).rejection;
  return {
    ok: false,
    reason: 'BackendNotFound',
    message: `AIProvider "${name}" in namespace "${namespace}" is not in the snapshot (its Accepted condition is False, reason ${why?.reason ?? 'Invalid'}); fix the AIProvider`,
  };
}

function resolveService(
  name: string,
  port: number,
  namespace: string,
  index: ObjectIndex,
): BackendResolution {
  const entry = index.get('Service', namespace, name);
  if (!entry) {
    return {
      ok: false,
      reason: 'BackendNotFound',
      message: `Service "${name}" not found in namespace "${namespace}"; create it or fix the name`,
    };
  }
  if (!entry.object) {
    return {
      ok: false,
      reason: 'InvalidBackend',
      message: `Service "${name}" in namespace "${namespace}" is not a valid Service (${entry.invalid}); fix its manifest`,
    };
  }
  const service = entry.object as Service;
  const id = `service/${namespace}/${name}:${port}`;
  if (service.spec.type === 'ExternalName') {
    const external = service.spec.externalName;
    if (!external) {
      return {
        ok: false,
        reason: 'InvalidBackend',
        message: `Service "${name}" in namespace "${namespace}" is of type ExternalName but has no spec.externalName; set it`,
      };
    }
    // An ExternalName Service is a DNS alias: its ports are informational, the backendRef's port is used as is.
    return {
      ok: true,
      cluster: { id, kind: 'service', tls: false, endpoints: [{ host: external.replace(/\.$/, ''), port }] },
    };
  }
  const servicePort = service.spec.ports?.find((p) => p.port === port);
  if (!servicePort) {
    const ports = (service.spec.ports ?? []).map((p) => p.port);
    const has = ports.length > 0 ? `it has ${ports.join(', ')}` : 'it has none';
    return {
      ok: false,
      reason: 'InvalidBackend',
      message: `Service "${name}" in namespace "${namespace}" has no port ${port} (${has}); use one of its ports`,
    };
  }
  return {
    ok: true,
    cluster: {
      id,
      kind: 'service',
      tls: false,
      endpoints: readyEndpoints(servicePort, index.endpointSlices(namespace, name)),
    },
  };
}

type ServicePort = NonNullable<Service['spec']['ports']>[number];

/**
 * Ready addresses of the Service port across its EndpointSlices. Slice ports carry the Service
 * port's name and the resolved target port number; a slice without a matching port serves
 * another port of the Service and is skipped. `ready` unset counts as ready (Kubernetes semantics).
 */
export function readyEndpoints(servicePort: ServicePort, slices: readonly EndpointSlice[]): EndpointIR[] {
  const byAddress = new Map<string, EndpointIR>();
  for (const slice of slices) {
    const port = slicePort(servicePort, slice);
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      if (endpoint.conditions?.ready === false) continue;
      // Addresses of one endpoint are fungible (one pod); the first is the one to use.
      const host = endpoint.addresses[0];
      if (!host) continue;
      const key = `${host}|${port}`;
      if (byAddress.has(key)) continue;
      const out: EndpointIR = { host, port };
      if (endpoint.zone) out.zone = endpoint.zone;
      byAddress.set(key, out);
    }
  }
  return [...byAddress.values()].sort((a, b) => compareStrings(a.host, b.host) || a.port - b.port);
}

function slicePort(servicePort: ServicePort, slice: EndpointSlice): number | undefined {
  const wanted = servicePort.name ?? '';
  const match = slice.ports?.find((p) => (p.name ?? '') === wanted);
  if (!match) return undefined;
  if (typeof match.port === 'number') return match.port;
  // A slice port without a number means "every port": the Service's numeric targetPort applies.
  const target = servicePort.targetPort ?? servicePort.port;
  return typeof target === 'number' ? target : undefined;
}
