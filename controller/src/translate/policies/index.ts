export { CONTROLLER_NAME, compilePolicies, type PolicyIR, type PolicyTargetIR } from './attachment.ts';
export { attachEdgePolicies } from './edge.ts';
export { attachEffectivePolicies } from './effective.ts';
export { attachClusterResilience } from './resilience.ts';
