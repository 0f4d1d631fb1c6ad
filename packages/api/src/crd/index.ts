export * from './definitions.ts';
export * from './generate.ts';
export * from './structural.ts';
