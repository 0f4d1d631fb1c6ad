export * from './access-log.ts';
export * from './metrics.ts';
