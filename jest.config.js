// One jest run covers every workspace package. Sources are TypeScript run as native ESM;
// @swc/jest strips types (the same erasable-only subset Node 24 runs directly).
/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
    module: { type: 'es6' },
  },
];

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  testMatch: ['<rootDir>/{packages/*,controller,dataplane,e2e}/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30_000,
  // Integration suites start real processes; two workers fit this project's 2-core machines.
  maxWorkers: process.env.JEST_MAX_WORKERS ?? 2,
};
