export * from './access-log.ts';
export * from './ai-metrics.ts';
export * from './genai-content.ts';
export * from './metrics.ts';
export * from './request-observer.ts';
export * from './tracing.ts';
export * from './usage.ts';
