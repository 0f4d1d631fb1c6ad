// Places Route entries on their hosts, settles conflicts and orders everything for the data plane.
//
// Two Routes conflict where they have an identical match (path, method, headers, query
// parameters, model) on the same hostname: the older Route keeps it (creationTimestamp, then
// namespace/name), the other loses that entry. Identical matches inside one Route are not a
// conflict: rule order decides, as in Gateway API.
import type { RouteEntryIR, VirtualHostIR } from '@tollgate/snapshot';
import { canonicalJson } from '@tollgate/snapshot';
import { compareSeniority } from './order.ts';
import { compareEntries, compareHostnames, type PlacedEntry } from './precedence.ts';
import { listSome } from './report.ts';
import type { RouteDraft } from './routes.ts';

export function assembleVirtualHosts(drafts: readonly RouteDraft[]): VirtualHostIR[] {
  const claimedBy = new Map<string, RouteDraft>();
  const byHost = new Map<string, PlacedEntry[]>();
  const seniorFirst = [...drafts].sort((a, b) => compareSeniority(a.identity, b.identity));
  for (const draft of seniorFirst) {
    const kept: Array<{ host: string; entry: RouteEntryIR }> = [];
    const lost: string[] = [];
    const winners = new Set<string>();
    for (const host of draft.hostnames) {
      for (const entry of draft.entries) {
        const key = `${host} ${canonicalJson(entry.match)}`;
        const owner = claimedBy.get(key);
        if (owner && owner !== draft) {
          lost.push(`${host === '*' ? 'any host' : host}: ${describeMatch(entry)}`);
          winners.add(`${owner.identity.namespace}/${owner.identity.name}`);
          continue;
        }
        claimedBy.set(key, draft);
        kept.push({ host, entry });
      }
    }
    const against = `${winners.size > 1 ? 'Routes' : 'Route'} ${[...winners].sort().join(', ')}`;
    if (kept.length === 0 && lost.length > 0) {
      draft.report.reject(
        'Conflicted',
        `Every match conflicts with an older ${against} on the same hostname: ${listSome(lost)}; change the hostnames or matches, or delete one of the Routes`,
      );
      continue;
    }
    if (lost.length > 0) {
      const count = lost.length === 1 ? '1 match conflicts' : `${lost.length} matches conflict`;
      draft.report.note(
        'Accepted',
        `${count} with an older ${against} on the same hostname and ${lost.length === 1 ? 'is' : 'are'} not served: ${listSome(lost)}`,
      );
    }
    for (const { host, entry } of kept) {
      const placed = { entry, createdMs: draft.identity.createdMs };
      const list = byHost.get(host);
      if (list) list.push(placed);
      else byHost.set(host, [placed]);
    }
  }
  return [...byHost.keys()].sort(compareHostnames).map((hostname) => ({
    hostname,
    routes: byHost
      .get(hostname)!
      .sort(compareEntries)
      .map((placed) => placed.entry),
  }));
}

/** "PathPrefix /orders GET header x-env=canary", for conflict messages. */
function describeMatch(entry: RouteEntryIR): string {
  const { path, method, headers, queryParams, model } = entry.match;
  const parts = [`${path.type} ${path.value}`];
  if (method) parts.push(method);
  for (const h of headers) parts.push(`header ${h.name}${h.type === 'Exact' ? '=' : '~'}${h.value}`);
  for (const q of queryParams) parts.push(`query ${q.name}${q.type === 'Exact' ? '=' : '~'}${q.value}`);
  if (model) parts.push(`model ${model.value}`);
  return parts.join(' ');
}
