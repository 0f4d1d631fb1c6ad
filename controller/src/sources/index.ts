export * from './file-source.ts';
export * from './kubernetes/index.ts';
export * from './source.ts';
