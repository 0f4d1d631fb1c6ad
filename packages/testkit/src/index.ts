export * from './kube-cluster.ts';
export * from './mock-providers/index.ts';
export * from './ports.ts';
export * from './process.ts';
export * from './redis.ts';
export * from './upstream.ts';
export * from './wait.ts';
