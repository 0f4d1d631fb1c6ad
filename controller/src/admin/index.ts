export * from './admin-server.ts';
export * from './status-table.ts';
