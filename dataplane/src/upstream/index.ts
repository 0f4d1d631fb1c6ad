export * from './balancer.ts';
export * from './pools.ts';
export * from './upstream-set.ts';
