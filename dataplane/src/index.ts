export * from './dataplane.ts';
export * from './errors.ts';
export { Generation } from './generation.ts';
export type { DataplaneMetrics } from './observability/index.ts';
export * from './router/index.ts';
