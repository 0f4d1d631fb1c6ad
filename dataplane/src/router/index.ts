// The slicing helpers buildRouter's callers drive it with.
export { runInSlices, runToEnd } from '@tollgate/snapshot';
export type { MatchInput } from './conditions.ts';
export { normalizeHost } from './host.ts';
export { type MatchTrace, pathSegments } from './path-index.ts';
export * from './router.ts';
