export { CONTROLLER_NAME, compilePolicies, type PolicyIR, type PolicyTargetIR } from './attachment.ts';
export { attachEffectivePolicies } from './effective.ts';
