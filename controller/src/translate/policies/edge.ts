// Edge sections of each route entry's effective policy: CORS, IP filter, size limits, compression
// and the response cache. They follow the same precedence as the other sections (effective.ts):
// per section, the Policy attached most specifically wins (Route rule > Route > AIProvider >
// Namespace), then the oldest, then by name. Consumer attachments do not apply: these steps run
// before the caller is known.
import type { EdgePolicyIR, RouteEntryIR, VirtualHostIR } from '@tollgate/snapshot';
import { durationToMs } from '../durations.ts';
import type { ObjectIndex } from '../objects.ts';
import { compareSeniority } from '../order.ts';
import type { PolicyIR } from './attachment.ts';
import { specificity } from './effective.ts';

const EDGE_SECTIONS = ['cors', 'ipFilter', 'limits', 'compression', 'cache'] as const;

/** Sets `edge` on every entry an edge section applies to. Mutates the entries in place. */
export function attachEdgePolicies(hosts: VirtualHostIR[], policies: PolicyIR[], index: ObjectIndex): void {
  const relevant = policies.filter((p) => EDGE_SECTIONS.some((section) => p.spec[section] !== undefined));
  if (relevant.length === 0) return;
  const seniority = new Map(
    [...relevant]
      .sort((a, b) =>
        compareSeniority(
          index.get('Policy', a.namespace, a.name)?.identity ?? a,
          index.get('Policy', b.namespace, b.name)?.identity ?? b,
        ),
      )
      .map((p, i) => [p.id, i]),
  );
  for (const host of hosts) {
    for (const entry of host.routes) {
      const ranked = rank(entry, relevant, seniority);
      if (ranked.length === 0) continue;
      const edge = compileEdge(ranked);
      if (Object.keys(edge).length > 0) entry.edge = edge;
    }
  }
}

/** The Policies covering `entry`, most specific (then most senior) first. */
function rank(entry: RouteEntryIR, policies: PolicyIR[], seniority: Map<string, number>): PolicyIR[] {
  const ranked: Array<{ policy: PolicyIR; level: number; seniority: number }> = [];
  for (const policy of policies) {
    const levels = policy.targets.map((t) => specificity(t, entry)).filter((l) => l !== undefined);
    if (levels.length === 0) continue;
    ranked.push({ policy, level: Math.min(...levels), seniority: seniority.get(policy.id) ?? 0 });
  }
  return ranked.sort((a, b) => a.level - b.level || a.seniority - b.seniority).map((r) => r.policy);
}

function compileEdge(policies: PolicyIR[]): EdgePolicyIR {
  const out: EdgePolicyIR = {};
  const cors = policies.find((p) => p.spec.cors);
  if (cors?.spec.cors) {
    const spec = cors.spec.cors;
    out.cors = {
      from: cors.id,
      allowOrigins: spec.allowOrigins ?? [],
      allowMethods: (spec.allowMethods ?? ['GET', 'HEAD', 'POST']).map((m) => m.toUpperCase()),
      allowHeaders: (spec.allowHeaders ?? []).map((h) => h.toLowerCase()),
      exposeHeaders: (spec.exposeHeaders ?? []).map((h) => h.toLowerCase()),
      maxAgeSeconds: spec.maxAge,
      allowCredentials: spec.allowCredentials,
    };
  }
  const filter = policies.find((p) => p.spec.ipFilter);
  if (filter?.spec.ipFilter) {
    const { allow, deny } = filter.spec.ipFilter;
    out.ipFilter = { from: filter.id, ...(allow ? { allow } : {}), ...(deny ? { deny } : {}) };
  }
  const limited = policies.find((p) => p.spec.limits);
  if (limited?.spec.limits) out.limits = { from: limited.id, ...limited.spec.limits };
  const compressed = policies.find((p) => p.spec.compression);
  if (compressed?.spec.compression) {
    const { algorithms, minBytes, contentTypes } = compressed.spec.compression;
    out.compression = {
      from: compressed.id,
      algorithms,
      minBytes,
      ...(contentTypes ? { contentTypes: contentTypes.map((t) => t.toLowerCase()) } : {}),
    };
  }
  const cached = policies.find((p) => p.spec.cache);
  if (cached?.spec.cache) {
    const { ttl, maxEntryBytes, perConsumer } = cached.spec.cache;
    const ttlMs = durationToMs(ttl);
    if (ttlMs !== undefined && ttlMs > 0) out.cache = { from: cached.id, ttlMs, maxEntryBytes, perConsumer };
  }
  return out;
}
