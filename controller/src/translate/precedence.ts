// Gateway API precedence, flattened into sort orders the data plane can walk first-match-wins.
import type { RouteEntryIR, RouteMatchIR } from '@tollgate/snapshot';
import { compareAge, compareStrings } from './order.ts';

const PATH_RANK: Record<RouteMatchIR['path']['type'], number> = {
  Exact: 0,
  RegularExpression: 1,
  PathPrefix: 2,
};
const MODEL_RANK = { Exact: 0, Glob: 1, none: 2 } as const;

/** An entry with what ordering needs to know about the Route it came from. */
export interface PlacedEntry {
  entry: RouteEntryIR;
  createdMs: number | undefined;
}

/**
 * Exact path, then RegularExpression (longer pattern first), then PathPrefix (longer first);
 * ties by method present, more header matches, more query matches, a model match (Exact before
 * Glob), the older Route (creationTimestamp; none ⇒ last), namespace, name, rule order, match order.
 */
export function compareEntries(a: PlacedEntry, b: PlacedEntry): number {
  const x = a.entry;
  const y = b.entry;
  return (
    PATH_RANK[x.match.path.type] - PATH_RANK[y.match.path.type] ||
    y.match.path.value.length - x.match.path.value.length ||
    Number(y.match.method !== undefined) - Number(x.match.method !== undefined) ||
    y.match.headers.length - x.match.headers.length ||
    y.match.queryParams.length - x.match.queryParams.length ||
    MODEL_RANK[x.match.model?.type ?? 'none'] - MODEL_RANK[y.match.model?.type ?? 'none'] ||
    compareAge(a.createdMs, b.createdMs) ||
    compareStrings(x.route.namespace, y.route.namespace) ||
    compareStrings(x.route.name, y.route.name) ||
    x.route.rule - y.route.rule ||
    matchIndex(x) - matchIndex(y)
  );
}

const matchIndex = (entry: RouteEntryIR): number => Number(entry.id.slice(entry.id.lastIndexOf('/') + 1));

/** Exact hostnames (alphabetical), then wildcards (longer first, then alphabetical), then "*". */
export function compareHostnames(a: string, b: string): number {
  const tier = (host: string) => (host === '*' ? 2 : host.startsWith('*.') ? 1 : 0);
  return tier(a) - tier(b) || (tier(a) === 1 ? b.length - a.length : 0) || compareStrings(a, b);
}
