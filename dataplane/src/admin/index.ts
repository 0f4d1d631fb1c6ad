export * from './admin-server.ts';
export * from './config-dump.ts';
