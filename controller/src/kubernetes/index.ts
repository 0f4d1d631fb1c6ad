export * from './client.ts';
export * from './events.ts';
export * from './leader-duties.ts';
export * from './leader-election.ts';
export * from './replica-report.ts';
export * from './status-merge.ts';
export * from './status-writer.ts';
