export * from './file-source.ts';
export * from './source.ts';
