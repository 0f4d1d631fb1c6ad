export * from './config-client.ts';
