export * from './access-log.ts';
export * from './ai-metrics.ts';
export * from './metrics.ts';
export * from './tracing.ts';
