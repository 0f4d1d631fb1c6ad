export * from './standalone-stack.ts';
