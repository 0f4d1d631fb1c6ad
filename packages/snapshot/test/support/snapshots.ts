// Snapshots for protocol tests: small ones whose version depends on a tag, and large ones
// whose compressed payload is far above gRPC's default 4 MiB message limit.
import { randomBytes } from 'node:crypto';
import type { RouteEntryIR, Snapshot } from '../../src/ir.ts';
import { emptySnapshotContent, sealSnapshot } from '../../src/version.ts';

function route(id: string, extraHeaderValue?: string): RouteEntryIR {
  return {
    id,
    route: { namespace: 'default', name: id.split('/')[1] ?? 'route', rule: 0 },
    match: {
      path: { type: 'PathPrefix', value: `/${id}` },
      headers: extraHeaderValue ? [{ type: 'Exact', name: 'x-tag', value: extraHeaderValue }] : [],
      queryParams: [],
    },
    action: { kind: 'forward', backends: [{ clusterId: 'url/http://127.0.0.1:9', weight: 1 }] },
    timeouts: {},
  };
}

/** A valid snapshot with one route; different tags give different versions. */
export function sampleSnapshot(tag: string): Snapshot {
  return sealSnapshot({
    ...emptySnapshotContent(),
    virtualHosts: [{ hostname: `${tag}.example.com`, routes: [route(`default/${tag}/0/0`)] }],
    clusters: [
      { id: 'url/http://127.0.0.1:9', kind: 'url', tls: false, endpoints: [{ host: '127.0.0.1', port: 9 }] },
    ],
  });
}

/**
 * `routeCount` routes, each carrying random bytes so gzip cannot shrink the payload below the
 * old 4 MiB limit (10,000 routes ⇒ about 5 MiB compressed).
 */
export function largeSnapshot(routeCount: number): Snapshot {
  const routes = Array.from({ length: routeCount }, (_, i) =>
    route(`default/big/${i}/0`, randomBytes(512).toString('base64')),
  );
  return sealSnapshot({
    ...emptySnapshotContent(),
    virtualHosts: [{ hostname: 'big.example.com', routes }],
    clusters: [
      { id: 'url/http://127.0.0.1:9', kind: 'url', tls: false, endpoints: [{ host: '127.0.0.1', port: 9 }] },
    ],
  });
}
