// Age ordering shared by duplicate resolution, conflicts and precedence: older first, objects
// without a creationTimestamp last (the file source never sets one), then namespace/name.

/** RFC 3339 timestamp → ms since the epoch; undefined when absent or unreadable. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Older first; unknown ages after every known one. */
export function compareAge(a: number | undefined, b: number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return a - b;
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Aged {
  namespace: string;
  name: string;
  createdMs?: number;
}

/** The Gateway API tie-break between objects: the oldest wins, then namespace/name alphabetically. */
export function compareSeniority(a: Aged, b: Aged): number {
  return (
    compareAge(a.createdMs, b.createdMs) ||
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.name, b.name)
  );
}
