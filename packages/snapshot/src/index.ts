export * from './ir.ts';
export * from './version.ts';
