// Helpers of the chart checks, usable by other end-to-end tests (a cluster, the chart's RBAC, a
// ServiceAccount's kubeconfig).
export * from './cluster.ts';
export * from './exec.ts';
export * from './helm.ts';
export * from './json-schemas.ts';
export * from './rbac.ts';
export * from './scenarios.ts';
export * from './sync-crds.ts';
export * from './third-party-crds.ts';
export * from './tools.ts';
