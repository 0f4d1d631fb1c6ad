export * from './load.ts';
export * from './provider-limits.ts';
export * from './strategies.ts';
