export * from './snapshot-server.ts';
