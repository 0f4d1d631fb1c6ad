export * from './ai-provider.ts';
export * from './common.ts';
export * from './consumer.ts';
export * from './core.ts';
export * from './objects.ts';
export * from './policy.ts';
export * from './route.ts';
export * from './validate.ts';
