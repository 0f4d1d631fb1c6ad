export type { MatchInput } from './conditions.ts';
export { normalizeHost } from './host.ts';
export { type MatchTrace, pathSegments } from './path-index.ts';
export * from './router.ts';
export { runInSlices, runToEnd, SliceClock } from './slices.ts';
