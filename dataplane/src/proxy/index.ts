export * from './exchange.ts';
export * from './forward.ts';
export * from './handler.ts';
export * from './headers.ts';
export * from './rewrite.ts';
export * from './route-plan.ts';
