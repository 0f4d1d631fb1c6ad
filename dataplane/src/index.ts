export * from './dataplane.ts';
export * from './errors.ts';
export { Generation } from './generation.ts';
export * from './router/index.ts';
